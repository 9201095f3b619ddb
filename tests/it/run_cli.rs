//! `gangway run`, `run list` and `run show` as a user runs them: the binary against a spawned
//! `gangway emulator --instances 12` (Env=dev: host-00001, -00004, -00007 running, host-00010
//! stopped with its agent offline).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::PATIENCE;
use crate::support::aws_clients::{ADMIN, DEV};
use crate::support::cli::{aws_env, temp_home};
use crate::support::cut_proxy::CutProxy;
use crate::support::emulator::{GANGWAY, SpawnedEmulator, spawn};
use crate::support::pty::PtyConnect;

fn emulator() -> SpawnedEmulator {
    spawn(&["--instances", "12"])
}

/// `gangway ARGS` as `access_key`, stdin given (or empty), nothing inherited but PATH.
fn gangway_as(emulator: &SpawnedEmulator, access_key: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(GANGWAY)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(aws_env(&emulator.endpoint, access_key))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn gangway(emulator: &SpawnedEmulator, args: &[&str]) -> Output {
    gangway_as(emulator, ADMIN, args, b"")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn status(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_tag_selected_run_saves_one_file_set_per_instance_and_names_the_stopped_one() {
    let emulator = emulator();
    let dir: PathBuf = temp_home().join("results");
    let out = gangway(
        &emulator,
        &[
            "run",
            "--tag",
            "Env=dev",
            "-c",
            "echo \"hi from $HOSTNAME\"",
            "-c",
            "echo err >&2",
            "--yes",
            "--save",
            dir.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    // One instance could not run it: not everything succeeded.
    assert_eq!(status(&out), 15, "stderr: {stderr}");
    assert!(stderr.contains("on 3 instance(s)"), "{stderr}");
    assert!(stderr.contains("1 instance(s) cannot run it"), "{stderr}");
    assert!(
        stderr.contains("host-00010 (i-000e0000000000009): The instance is stopped."),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    for (id, name) in [
        ("i-000e0000000000000", "host-00001"),
        ("i-000e0000000000003", "host-00004"),
        ("i-000e0000000000006", "host-00007"),
    ] {
        assert!(
            stdout.contains(&format!(
                "── {name} ({id}) Success, exit 0\nhi from {name}\n"
            )),
            "{stdout}"
        );
        let saved = |ext: &str| std::fs::read_to_string(dir.join(format!("{id}.{ext}"))).unwrap();
        assert_eq!(saved("stdout"), format!("hi from {name}\n"));
        assert_eq!(saved("stderr"), "err\n");
        let status: serde_json::Value = serde_json::from_str(&saved("status")).unwrap();
        assert_eq!(status["status"], "Success");
        assert_eq!(status["response_code"], 0);
        assert_eq!(status["name"], name);
    }
    let skipped: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("i-000e0000000000009.status")).unwrap(),
    )
    .unwrap();
    assert_eq!(skipped["status"], "NotRun");
    assert!(skipped["reason"].as_str().unwrap().contains("stopped"));
}

#[test]
fn a_run_where_all_succeed_exits_zero_with_one_json_line_per_change() {
    let emulator = emulator();
    let out = gangway_as(
        &emulator,
        ADMIN,
        &[
            "run",
            "host-00001",
            "host-00004",
            "--yes",
            "--output",
            "json",
            "--comment",
            "from stdin",
            "--max-concurrency",
            "1",
            "--max-errors",
            "1",
            "--timeout",
            "60",
        ],
        b"uname -n\necho second line\n",
    );
    assert_eq!(status(&out), 0, "stderr: {}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["event"], "sent");
    let id = lines[0]["command_id"].as_str().unwrap().to_owned();
    let done: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "status" && l["status"] == "Success")
        .collect();
    assert_eq!(done.len(), 2, "{lines:?}");
    for line in &done {
        let name = line["name"].as_str().unwrap();
        assert_eq!(line["stdout"], format!("{name}\nsecond line\n"));
        assert_eq!(line["stdout_truncated"], false);
    }
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "done");
    assert_eq!(last["exit_status"], 0);

    // The history: the list names it with its comment, show gives each instance.
    let listed = gangway(&emulator, &["run", "list", "--output", "json"]);
    assert_eq!(status(&listed), 0);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows[0]["command_id"], id.as_str());
    assert_eq!(rows[0]["comment"], "from stdin");
    assert_eq!(rows[0]["status"], "Success");
    assert_eq!(rows[0]["max_concurrency"], "1");
    assert_eq!(rows[0]["max_errors"], "1");
    let shown = gangway(&emulator, &["run", "show", &id]);
    assert_eq!(status(&shown), 0, "{}", text(&shown.stderr));
    let table = text(&shown.stdout);
    assert!(table.contains("Success 2"), "{table}");
    assert!(table.contains("host-00004\nsecond line"), "{table}");
    let one = gangway(
        &emulator,
        &[
            "run",
            "show",
            &id,
            "--instance",
            "i-000e0000000000000",
            "--output",
            "json",
        ],
    );
    let body: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(
        body["invocations"][0]["stdout"],
        "host-00001\nsecond line\n"
    );
    let table_list = gangway(&emulator, &["run", "list"]);
    assert!(text(&table_list.stdout).contains(&id));
}

#[test]
fn failures_exit_non_zero_and_cut_output_says_where_the_whole_is() {
    let emulator = emulator();
    let out = gangway(
        &emulator,
        &[
            "run",
            "host-00001",
            "-c",
            "head -c 30000 /dev/zero | tr '\\0' x",
            "-c",
            "exit 4",
            "--output-s3",
            "s3://audit-results/security/check_result",
            "--yes",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(status(&out), 15, "{stderr}");
    assert!(text(&out.stdout).contains("Failed, exit 4"));
    assert!(
        stderr.contains("AWS returned only the first 24,000 characters of stdout; the whole is at https://s3.us-east-1.amazonaws.com/audit-results/security/check_result/"),
        "{stderr}"
    );
    // The emulator wrote the whole of it in AWS's key layout under its run directory.
    let id = stderr
        .split("command ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let whole = std::env::temp_dir()
        .join(format!("gangway-emulator-{}", emulator.pid()))
        .join("s3/audit-results/security/check_result")
        .join(&id)
        .join("i-000e0000000000000/awsrunShellScript/0.awsrunShellScript/stdout");
    assert_eq!(
        std::fs::read(&whole).unwrap().len(),
        30_000,
        "{}",
        whole.display()
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_sends_nothing() {
    let emulator = emulator();
    let bad_file = temp_home().join("bad.sh");
    std::fs::write(&bad_file, b"echo ok\n\xff\n").unwrap();
    let cases: [(&[&str], i32, &str); 7] = [
        (&["run", "-c", "true", "--yes"], 2, "no targets"),
        (
            &["run", "--tag", "Env=nope", "-c", "true", "--yes"],
            2,
            "no instance matches Env=nope",
        ),
        (
            &[
                "run",
                "--tag",
                "Env=dev",
                "--script",
                "/nonexistent/check.sh",
                "--yes",
            ],
            2,
            "cannot read the script file /nonexistent/check.sh",
        ),
        (
            &[
                "run",
                "--tag",
                "Env=dev",
                "--script",
                bad_file.to_str().unwrap(),
                "--yes",
            ],
            2,
            "is not UTF-8 text",
        ),
        (
            &[
                "run",
                "--tag",
                "Env=dev",
                "-c",
                "true",
                "--output-s3",
                "audit/x",
                "--yes",
            ],
            2,
            "is not an s3://BUCKET/PREFIX URL",
        ),
        (
            &["run", "--tag", "Env=dev", "-c", "true"],
            2,
            "without --yes",
        ),
        (
            &[
                "run",
                "--tag",
                "Env=dev",
                "-c",
                "true",
                "--document",
                "No-Such-Doc",
                "--yes",
            ],
            6,
            "Document with name No-Such-Doc does not exist",
        ),
    ];
    for (args, expected, message) in cases {
        let out = gangway(&emulator, args);
        let stderr = text(&out.stderr);
        assert_eq!(status(&out), expected, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let listed = gangway(&emulator, &["run", "list", "--output", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    let readonly = gangway(
        &emulator,
        &["run", "--readonly", "host-00001", "-c", "true", "--yes"],
    );
    assert_eq!(status(&readonly), 2);
}

#[test]
fn a_user_outside_the_scope_is_told_which_instance_was_refused() {
    let emulator = emulator();
    // host-00003 is Env=prod; the dev user's scope is Env=dev.
    let out = gangway_as(
        &emulator,
        DEV,
        &["run", "host-00001", "host-00003", "-c", "true", "--yes"],
        b"",
    );
    let stderr = text(&out.stderr);
    assert_eq!(status(&out), 5, "{stderr}");
    assert!(stderr.contains("i-000e0000000000002"), "{stderr}");
    assert!(stderr.contains("access denied"), "{stderr}");
}

/// `gangway run host-00001` of a 4-second script through `proxy`, JSON on stdout: the child,
/// its stderr as it grows, and its stdout lines.
fn run_through(
    proxy: &CutProxy,
) -> (
    std::process::Child,
    Arc<Mutex<String>>,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = Command::new(GANGWAY)
        .args(["run", "host-00001", "-c", "sleep 4", "-c", "echo survived"])
        .args(["--yes", "--output", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(aws_env(&proxy.endpoint, ADMIN))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let collected = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            collected
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let sent = seen.recv_timeout(PATIENCE).unwrap();
    assert!(sent.contains("\"event\":\"sent\""), "{sent}");
    (child, stderr, seen)
}

/// Waits until gangway's stderr holds `needle`.
fn until_said(stderr: &Mutex<String>, needle: &str) {
    let give_up = Instant::now() + PATIENCE;
    while !stderr.lock().unwrap().contains(needle) {
        assert!(
            Instant::now() < give_up,
            "{needle:?} not said: {}",
            stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The run ended 0 and its instance's last line says the script's end.
fn ended_well(
    mut child: std::process::Child,
    stderr: &Mutex<String>,
    seen: &std::sync::mpsc::Receiver<String>,
) -> String {
    let status = child.wait().unwrap();
    let said = stderr.lock().unwrap().clone();
    assert_eq!(status.code(), Some(0), "{said}");
    let rest: Vec<String> = seen.iter().collect();
    let done = rest
        .iter()
        .find(|l| l.contains("\"status\":\"Success\""))
        .unwrap_or_else(|| panic!("{rest:?}"));
    assert!(done.contains("survived"), "{done}");
    said
}

fn proxied() -> (SpawnedEmulator, CutProxy) {
    let emulator = emulator();
    let target: std::net::SocketAddr = emulator
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = CutProxy::start(target);
    (emulator, proxy)
}

#[test]
fn a_network_drop_while_following_is_waited_out_and_said() {
    let (_emulator, proxy) = proxied();
    let (child, stderr, seen) = run_through(&proxy);
    // The network goes; gangway says it is retrying; the network comes back.
    proxy.cut();
    until_said(&stderr, "retrying in");
    proxy.restore();
    let said = ended_well(child, &stderr, &seen);
    assert!(said.contains("cannot reach AWS"), "{said}");
}

#[test]
fn throttling_is_retried_with_backoff_and_said() {
    let (_emulator, proxy) = proxied();
    let (child, stderr, seen) = run_through(&proxy);
    proxy.throttle();
    until_said(&stderr, "AWS is throttling requests");
    until_said(&stderr, "retrying in");
    proxy.stop_throttling();
    ended_well(child, &stderr, &seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_it_asks_first_shows_the_table_and_ctrl_c_can_cancel_on_aws() {
    let emulator = emulator();
    let mut pty = PtyConnect::spawn_command(
        &emulator.endpoint,
        ADMIN,
        "run",
        &["host-00001", "host-00004", "-c", "sleep 300"],
        &[],
        (30, 120),
    );
    pty.expect("Run it on these 2 instance(s)? [y/N]").await;
    pty.write(b"y\r").await;
    pty.expect("InProgress 2").await;
    // Ctrl-C on the terminal: SIGINT to gangway, which asks what to do.
    pty.write(b"\x03").await;
    pty.expect("cancel the command on AWS (c)").await;
    pty.write(b"c\r").await;
    let status = pty.finish().await;
    let text = pty.text();
    assert_eq!(status, 15, "{text}");
    assert!(text.contains("cancelling the command on AWS"), "{text}");
    assert!(text.contains("Cancelled 2"), "{text}");
}
