//! `gangway audit` as a user runs it: the binary against a spawned emulator, after sessions
//! were opened and terminated through the real SSM SDK; the emulator's CloudTrail is what it
//! reads.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::support::PATIENCE;
use crate::support::aws_clients::{ADMIN, DEV, ssm_at};
use crate::support::cli::{aws_env, fleet};
use crate::support::emulator::{GANGWAY, spawn};

fn audit(endpoint: &str, key: &str, args: &[&str]) -> std::process::Output {
    Command::new(GANGWAY)
        .arg("audit")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(aws_env(endpoint, key))
        .output()
        .unwrap()
}

/// The id of the online instance named `name` in the spawned demo fleet.
async fn instance_named(endpoint: &str, name: &str) -> String {
    fleet(endpoint)
        .await
        .into_iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["id"].as_str().map(str::to_owned))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_shows_who_opened_and_ended_which_session_when() {
    let emulator = spawn(&[]);
    let worker = instance_named(&emulator.endpoint, "worker-1").await;
    let dev = ssm_at(&emulator.endpoint, DEV);
    let before = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let started = dev
        .start_session()
        .target(&worker)
        .reason("hotfix \u{1b}[31mred")
        .send()
        .await
        .unwrap();
    let session_id = started.session_id().unwrap().to_owned();
    dev.terminate_session()
        .session_id(&session_id)
        .send()
        .await
        .unwrap();

    let out = audit(&emulator.endpoint, ADMIN, &["--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let (terminate, start) = (&rows[0], &rows[1]);
    assert_eq!(terminate["event"], "terminate");
    assert_eq!(start["event"], "start");
    for row in &rows {
        assert_eq!(row["user"], "dev");
        assert_eq!(
            row["target"],
            worker.as_str(),
            "resume/terminate joined to the start"
        );
        assert_eq!(row["name"], "worker-1", "joined with the fleet's Name tags");
        assert_eq!(row["session_id"], session_id.as_str());
        assert_eq!(row["source_ip"], "127.0.0.1");
        let at = time::OffsetDateTime::parse(
            row["time"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(
            at >= before && at <= time::OffsetDateTime::now_utc(),
            "{at}"
        );
    }
    assert_eq!(
        start["reason"], "hotfix \u{1b}[31mred",
        "JSON keeps the value"
    );
    let raw = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!raw.contains('\u{1b}'), "escaped in the JSON text: {raw}");

    let out = audit(&emulator.endpoint, ADMIN, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("TIME"), "{table}");
    assert!(!table.contains('\u{1b}'), "{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[1].contains("terminate") && lines[2].contains("start"),
        "{table}"
    );
    for line in &lines[1..] {
        assert!(line.contains("dev") && line.contains(&worker) && line.contains("worker-1"));
    }

    // Filters: another user, another target, a time before everything.
    let out = audit(
        &emulator.endpoint,
        ADMIN,
        &["--output", "json", "--user", "admin"],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    let out = audit(
        &emulator.endpoint,
        ADMIN,
        &["--output", "json", "--target", "worker-1"],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    let out = audit(&emulator.endpoint, ADMIN, &["--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_a_session_opened_after_it_started() {
    let emulator = spawn(&[]);
    let worker = instance_named(&emulator.endpoint, "worker-1").await;
    let mut child = Command::new(GANGWAY)
        .args(["audit", "--follow"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(aws_env(&emulator.endpoint, ADMIN))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // The header says the first lookup is done: what comes next is new.
    let header = received.recv_timeout(PATIENCE).unwrap();
    assert!(header.starts_with("TIME"), "{header}");

    let session_id = ssm_at(&emulator.endpoint, DEV)
        .start_session()
        .target(&worker)
        .send()
        .await
        .unwrap()
        .session_id()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + PATIENCE;
    let line = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = received
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line with {session_id} within {PATIENCE:?}"));
        if line.contains(&session_id) {
            break line;
        }
    };
    assert!(
        line.contains("start") && line.contains("dev") && line.contains(&worker),
        "{line}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
