//! `gangway emulator` as a program: the endpoint line, the loopback rule, fleet files.

use std::path::PathBuf;

use gangway::emulator::Fleet;

use crate::support::aws_clients::{ADMIN, ssm_at};
use crate::support::emulator::{gangway, spawn, spawn_with_stderr};

fn example_fleet() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/fleet.toml")
}

#[tokio::test]
async fn the_first_stdout_line_is_a_working_endpoint() {
    let emulator = spawn(&["--instances", "25"]);
    let address = emulator.endpoint.strip_prefix("http://127.0.0.1:").unwrap();
    assert!(address.parse::<u16>().unwrap() > 0);
    let client = ssm_at(&emulator.endpoint, ADMIN);
    let output = client.describe_instance_information().send().await.unwrap();
    assert_eq!(output.instance_information_list().len(), 25);
}

#[test]
fn a_non_loopback_address_needs_allow_remote() {
    let output = gangway()
        .args(["emulator", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no endpoint line when refusing");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[test]
fn a_broken_fleet_file_is_rejected_with_line_and_field() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulator-cli-fleets");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.toml");
    std::fs::write(
        &path,
        "[[instances]]\nid = \"i-0123456789abcdef0\"\nname = \"web-1\"\nping_status = \"Onlien\"\n",
    )
    .unwrap();
    let output = gangway()
        .arg("emulator")
        .arg("--fleet")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(stderr.contains("`ping_status`"), "{stderr}");
    assert!(stderr.contains("broken.toml"), "{stderr}");
    let missing = gangway()
        .args(["emulator", "--fleet", "/nonexistent/fleet.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/fleet.toml"));
}

#[test]
fn the_example_fleet_file_loads_and_serves() {
    let fleet = Fleet::load(&example_fleet()).unwrap();
    assert!(fleet.instances.len() >= 4);
    assert!(fleet.users.iter().any(|u| u.name == "alice"));
    assert!(
        fleet.users.iter().any(|u| u.name == "admin"),
        "defaults are added"
    );
    assert_eq!(fleet.preferences.idle_session_timeout_minutes, 15);
    assert!(fleet.instances.iter().any(|i| i.shell == "bash"));
    let emulator = spawn(&["--fleet", example_fleet().to_str().unwrap()]);
    assert!(emulator.endpoint.starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn the_request_log_names_actions_and_users_but_never_secrets() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulator-cli-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join(format!("requests-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let emulator = spawn_with_stderr(&["--instances", "3"], log);
    let client = ssm_at(&emulator.endpoint, "AKIAGANGWAYDEV");
    let target = Fleet::generated(3).instances[0].id.clone();
    let started = client.start_session().target(&target).send().await.unwrap();
    let session_id = started.session_id().unwrap();
    let resumed = client
        .resume_session()
        .session_id(session_id)
        .send()
        .await
        .unwrap();
    client
        .terminate_session()
        .session_id(session_id)
        .send()
        .await
        .unwrap();
    drop(emulator);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("StartSession"), "{text}");
    assert!(text.contains("user=dev"), "{text}");
    assert!(
        text.contains(session_id),
        "session ids are fine to log: {text}"
    );
    for secret in [
        started.token_value().unwrap(),
        resumed.token_value().unwrap(),
    ] {
        assert!(!text.contains(secret), "a token reached the log");
    }
    assert!(
        !text.contains(started.stream_url().unwrap()),
        "a stream URL reached the log"
    );
    assert!(
        !text.contains("AKIAGANGWAYDEV"),
        "an access key reached the log"
    );
}
