//! `gangway forward` and `ssh-proxy` when something is wrong: each is one line on stderr
//! with its own exit status, and a remote port nothing listens on refuses that connection
//! cleanly while the tunnel stays up.

use std::process::Stdio;

use gangway::commands::exit;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::cli::aws_env;
use crate::support::emulator::{GANGWAY, spawn};
use crate::support::forward::{
    EchoServer, Forward, INSTANCE, fleet_file, fleet_file_with_agent, ping,
};

/// `gangway ARGS` as the admin; its status and stderr.
async fn run(endpoint: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::time::timeout(
        PATIENCE,
        Command::new(GANGWAY)
            .args(args)
            .envs(aws_env(endpoint, ADMIN))
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("gangway hung")
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_port_in_use_is_refused_with_its_holder() {
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(5432, echo.addr)], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let pair = format!("{port}:5432");
    let (status, stderr) = run(&emulator.endpoint, &["forward", INSTANCE, &pair]).await;
    assert_eq!(status, Some(i32::from(exit::LOCAL_PORT_IN_USE)), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("local port {port} is in use")),
        "{stderr}"
    );
    // This test process holds it, and Linux says so.
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_target_is_one_line_and_a_usage_status() {
    let emulator = spawn(&["--instances", "2"]);
    let (status, stderr) = run(&emulator.endpoint, &["forward", "no-such-host", "80"]).await;
    assert_eq!(status, Some(i32::from(exit::USAGE)), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (status, stderr) = run(&emulator.endpoint, &["ssh-proxy", "no-such-host"]).await;
    assert_eq!(status, Some(i32::from(exit::USAGE)), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_port_pair_is_a_usage_error() {
    let emulator = spawn(&["--instances", "1"]);
    for pair in ["http", "80:0", "70000", "1:2:3"] {
        let (status, stderr) = run(&emulator.endpoint, &["forward", "x", pair]).await;
        assert_eq!(status, Some(2), "{pair}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_remote_port_refuses_that_connection_and_the_tunnel_stays_up() {
    let echo = EchoServer::start().await;
    // 5432 is the echo server; 5433 leads to a port where nothing listens.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let fleet = fleet_file(&[(5432, echo.addr), (5433, closed_port)], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5433", "5432"]);
    let refused_local = forward.listening().await;
    let good_local = forward.listening().await;
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(refused_local).await.unwrap();
        let mut buffer = [0u8; 16];
        // The local client sees the connection end, with nothing in it.
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("the refused connection was not closed");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        forward.until("remote_refused").await;
    }
    // Both listeners still work.
    ping(good_local).await;
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_the_instance_cannot_resolve_refuses_its_connections_and_the_tunnel_stays_up() {
    let echo = EchoServer::start().await;
    // The fleet's network knows db.internal only; nowhere.internal resolves to nothing, so
    // the agent's dial fails ("missing address") and it refuses that stream.
    let fleet = fleet_file(&[(5432, echo.addr)], &[("db.internal:6543", echo.addr)]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let mut forward = Forward::spawn(
        &emulator.endpoint,
        INSTANCE,
        &["0:6543", "--host", "nowhere.internal"],
    );
    let local = forward.listening().await;
    let mut stream = tokio::net::TcpStream::connect(local).await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .expect("the refused connection was not closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let (refused, _) = forward.until("remote_refused").await;
    assert_eq!(refused["remote"], "nowhere.internal:6543", "{refused}");
    // The session is still there: the next connection is refused the same way, not failed.
    let mut again = tokio::net::TcpStream::connect(local).await.unwrap();
    let read = tokio::time::timeout(PATIENCE, again.read(&mut buffer))
        .await
        .expect("the second refused connection was not closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    forward.until("remote_refused").await;
    for event in forward.drain() {
        assert_ne!(event["event"], "ended", "{event}");
    }
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_json_a_refused_connection_names_the_host_on_stderr() {
    let fleet = fleet_file(&[], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let mut child = Command::new(GANGWAY)
        .args(["forward", INSTANCE, "0:6543", "--host", "nowhere.internal"])
        .envs(aws_env(&emulator.endpoint, ADMIN))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(PATIENCE, stdout.next_line())
        .await
        .expect("no Forwarding line")
        .unwrap()
        .unwrap();
    let port = first
        .strip_prefix("Forwarding 127.0.0.1:")
        .and_then(|rest| rest.split_once(' '))
        .map(|(port, _)| port.to_owned())
        .expect(&first);
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let mut buffer = [0u8; 16];
    let _ = tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await;
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(PATIENCE, stderr.next_line())
        .await
        .expect("nothing on stderr")
        .unwrap()
        .unwrap();
    assert!(
        line.contains("could not connect to nowhere.internal:6543")
            && line.contains("cannot resolve")
            && line.contains("the tunnel stays up"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_too_old_for_the_document_is_refused_before_any_session() {
    let echo = EchoServer::start().await;
    // 3.0.196.0 runs port sessions (basic mode) but predates the remote-host support
    // (3.1.1188.0): it would ignore the host and connect to the instance's own port.
    let fleet = fleet_file_with_agent(
        &[(6543, echo.addr)],
        &[("db.internal:6543", echo.addr)],
        Some("3.0.196.0"),
    );
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let (status, stderr) = run(
        &emulator.endpoint,
        &["forward", INSTANCE, "6543", "--host", "db.internal"],
    )
    .await;
    assert_eq!(
        status,
        Some(i32::from(exit::TARGET_UNAVAILABLE)),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "SSM agent 3.0.196.0 is too old for AWS-StartPortForwardingSessionToRemoteHost"
        ) && stderr.contains("3.1.1188.0"),
        "{stderr}"
    );
    // The instance's own port still forwards with that agent.
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["6543"]);
    let local = forward.listening().await;
    ping(local).await;
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");

    // An agent from before the port plugin (2.3.672.0) gets neither a tunnel nor SSH.
    let fleet = fleet_file_with_agent(&[(6543, echo.addr)], &[], Some("2.3.612.0"));
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    for args in [
        &["forward", INSTANCE, "6543"][..],
        &["ssh-proxy", INSTANCE][..],
    ] {
        let (status, stderr) = run(&emulator.endpoint, args).await;
        assert_eq!(
            status,
            Some(i32::from(exit::TARGET_UNAVAILABLE)),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("2.3.612.0 is too old") && stderr.contains("2.3.672.0"),
            "{stderr}"
        );
    }
    // No session was started for any of the refusals.
    let ssm = crate::support::aws_clients::ssm_at(&emulator.endpoint, ADMIN);
    for state in [
        aws_sdk_ssm::types::SessionState::Active,
        aws_sdk_ssm::types::SessionState::History,
    ] {
        let sessions = ssm.describe_sessions().state(state).send().await.unwrap();
        assert!(sessions.sessions().is_empty(), "{sessions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_the_user_may_not_start_is_access_denied_in_one_line() {
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(5432, echo.addr)], &[]);
    // erin may read and start shells (the default document), not port sessions.
    let mut text = std::fs::read_to_string(&fleet).unwrap();
    text.push_str(
        r#"
[[users]]
name = "erin"
access_key_id = "AKIAERIN"
policies = ['''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["ec2:Describe*", "ssm:Describe*", "ssm:GetConnectionStatus", "ssm:ListTagsForResource"], "Resource": "*"},
  {"Effect": "Allow", "Action": "ssm:StartSession",
   "Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell"]}
]}
''']
"#,
    );
    std::fs::write(&fleet, text).unwrap();
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    for args in [
        &["forward", INSTANCE, "5432"][..],
        &["ssh-proxy", INSTANCE][..],
    ] {
        let out = tokio::time::timeout(
            PATIENCE,
            Command::new(GANGWAY)
                .args(args)
                .envs(aws_env(&emulator.endpoint, "AKIAERIN"))
                .stdin(Stdio::null())
                .output(),
        )
        .await
        .expect("gangway hung")
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(i32::from(exit::ACCESS_DENIED)),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("AWS-Start"),
            "the document is not named: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_on_the_instance_is_refused_with_the_reason() {
    let emulator = spawn(&["--instances", "1"]);
    let (status, stderr) = run(
        &emulator.endpoint,
        &["forward", "x", "8080:/var/run/docker.sock"],
    )
    .await;
    assert_eq!(status, Some(i32::from(exit::USAGE)), "{stderr}");
    assert!(
        stderr.contains("cannot forward to a unix socket on the instance")
            && stderr.contains("AWS-StartPortForwardingSessionToSocket"),
        "{stderr}"
    );
}

/// In basic mode the agent dials the destination as the session starts and fails the
/// session when it cannot (§6.3), so a refused port ends every new session at once: the
/// tunnel waits longer before each new one (1 s, 2 s, 4 s… then gives up) instead of
/// starting sessions in a tight loop, and the other listeners stay up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_basic_mode_a_refused_remote_port_backs_off_and_the_other_listeners_stay_up() {
    let echo = EchoServer::start().await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let fleet = fleet_file_with_agent(
        &[(5432, echo.addr), (5433, closed_port)],
        &[],
        Some("3.0.196.0"),
    );
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5433", "5432"]);
    let _refused_local = forward.listening().await;
    let good_local = forward.listening().await;
    let started = std::time::Instant::now();
    let mut ended = Vec::new();
    while ended.len() < 3 {
        let (event, _) = forward.until("ended").await;
        assert_eq!(event["listener"], 0, "{event}");
        assert!(
            event["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("connection refused")),
            "{event}"
        );
        assert_eq!(event["reopening"], true, "{event}");
        ended.push(event);
    }
    // Three sessions ended: the second waited 1 s, the third 2 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "sessions were reopened without waiting: {:?}",
        started.elapsed()
    );
    ping(good_local).await;
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}
