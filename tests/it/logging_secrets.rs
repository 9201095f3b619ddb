//! No log level carries a secret (issue 17, F8): with `GANGWAY_LOG=trace` on both the
//! emulator and `gangway connect`, neither log holds a session token (the emulator's are 64
//! hex digits), the stream URL, or the bytes the shell printed.
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::cli::{aws_env, online_instance, temp_home};
use crate::support::emulator::GANGWAY;

/// Printed by the remote shell only, so it can reach a log only through a frame trace.
const MARKER: &str = "shell-output-7f3a91";

fn secrets_in(log: &str) -> Vec<String> {
    let mut found = Vec::new();
    if log.contains("data-channel/") {
        found.push("the stream URL".to_owned());
    }
    if log.contains(MARKER) {
        found.push("shell output".to_owned());
    }
    // A token: a run of exactly 64 hex digits.
    let mut run = 0;
    for ch in log.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_hexdigit() {
            run += 1;
        } else {
            if run == 64 {
                found.push("a session token".to_owned());
            }
            run = 0;
        }
    }
    found
}

#[test]
fn the_checker_finds_each_kind_of_secret() {
    let token = "ab".repeat(32);
    assert_eq!(
        secrets_in(&format!("TokenValue: \"{token}\"")),
        ["a session token"]
    );
    assert_eq!(
        secrets_in("wss://x/v1/data-channel/dev-1"),
        ["the stream URL"]
    );
    assert_eq!(secrets_in(&format!("Binary({MARKER})")), ["shell output"]);
    assert!(secrets_in(&format!("sha256 {}", "ab".repeat(33))).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_hold_no_token_url_or_shell_bytes() {
    let emulator_log = temp_home().join("emulator.log");
    let mut emulator = Command::new(GANGWAY)
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .env("GANGWAY_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&emulator_log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(emulator.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("emulator printed nothing")
        .unwrap()
        .expect("emulator exited");
    let endpoint = first.strip_prefix("endpoint=").unwrap().to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let instance = online_instance(&endpoint).await;
    let env = aws_env(&endpoint, ADMIN);
    let state_dir = env
        .iter()
        .find(|(k, _)| k == "XDG_STATE_HOME")
        .map(|(_, v)| v.clone())
        .unwrap();
    // The marker is assembled by the shell, so the typed command does not contain it.
    let command = format!("command=printf '%s-%s' {} {}", &MARKER[..12], &MARKER[13..]);
    let connect = Command::new(GANGWAY)
        .args(["connect", instance["id"].as_str().unwrap()])
        .args([
            "--document",
            "AWS-StartInteractiveCommand",
            "--parameter",
            &command,
        ])
        .envs(env)
        .env("GANGWAY_LOG", "trace")
        .stdin(Stdio::null())
        .output();
    let out = tokio::time::timeout(PATIENCE, connect)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(MARKER), "the session ran: {stdout:?}");

    let client_log =
        std::fs::read_to_string(std::path::Path::new(&state_dir).join("gangway/connect.log"))
            .unwrap();
    assert!(
        client_log.contains("TRACE") || client_log.contains("DEBUG"),
        "verbose logging was on"
    );
    assert_eq!(secrets_in(&client_log), Vec::<String>::new(), "connect.log");

    emulator.start_kill().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), emulator.wait()).await;
    let server_log = std::fs::read_to_string(&emulator_log).unwrap();
    assert!(
        server_log.contains("DEBUG") || server_log.contains("TRACE"),
        "verbose logging was on"
    );
    assert_eq!(
        secrets_in(&server_log),
        Vec::<String>::new(),
        "emulator log"
    );
}

/// gangway as `session-manager-plugin` under the real AWS CLI, with trace logging: its log
/// holds no token (which it got through the environment), no stream URL, no shell bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_trace_log_holds_no_token_url_or_shell_bytes() {
    let aws = crate::support::awscli::aws_cli();
    let emulator = crate::support::emulator::spawn(&[]);
    let instance = online_instance(&emulator.endpoint).await;
    let env = crate::support::awscli::aws_env_with_plugin(&emulator.endpoint, ADMIN);
    let state_dir = env
        .iter()
        .find(|(k, _)| k == "XDG_STATE_HOME")
        .map(|(_, v)| v.clone())
        .unwrap();
    let parameters = format!(
        r#"{{"command": ["printf '%s-%s' {} {}"]}}"#,
        &MARKER[..12],
        &MARKER[13..]
    );
    let run = Command::new(aws)
        .args([
            "--endpoint-url",
            &emulator.endpoint,
            "--region",
            "us-east-1",
        ])
        .args(["ssm", "start-session", "--target"])
        .arg(instance["id"].as_str().unwrap())
        .args(["--document-name", "AWS-StartInteractiveCommand"])
        .args(["--parameters", &parameters])
        .env_clear()
        .envs(env)
        .env("GANGWAY_LOG", "trace")
        .stdin(Stdio::null())
        .output();
    let out = tokio::time::timeout(PATIENCE, run).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(MARKER), "the session ran: {stdout:?}");
    assert!(out.status.success(), "{out:?}");
    let log = std::fs::read_to_string(
        std::path::Path::new(&state_dir).join("gangway/session-manager-plugin.log"),
    )
    .unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "verbose logging was on"
    );
    assert_eq!(secrets_in(&log), Vec::<String>::new(), "plugin log");
}
