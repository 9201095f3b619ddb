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
use crate::support::forward::{EchoServer, Forward, INSTANCE, fleet_file, ping};

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
