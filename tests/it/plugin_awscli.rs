//! gangway as `session-manager-plugin`, driven by the real AWS CLI: `aws ssm start-session`
//! against the emulator, with PATH leading to a `session-manager-plugin` symlink to gangway.
//! The CLI asks `--version`, hands the StartSession response over in
//! AWS_SSM_START_SESSION_RESPONSE and runs the plugin with its six arguments; gangway runs a
//! shell in a real pty, a port session to an echo server behind the instance, and SSH on
//! stdin/stdout.

use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::awscli::{aws_cli, aws_env_with_plugin};
use crate::support::cli::{exited, pipe_payload, spawn_piped};
use crate::support::emulator::spawn;
use crate::support::forward::{
    EchoServer, INSTANCE, echo_round_trip, fleet_file, fleet_file_with_agent,
};
use crate::support::pty::PtyConnect;

/// `aws --endpoint-url EP --region us-east-1 ssm start-session --target INSTANCE ARGS…`.
fn start_session_args<'a>(endpoint: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--endpoint-url",
        endpoint,
        "--region",
        "us-east-1",
        "ssm",
        "start-session",
        "--target",
        INSTANCE,
    ];
    args.extend_from_slice(more);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_runs_a_shell_through_gangway_in_a_pty() {
    let aws = aws_cli();
    let fleet = fleet_file(&[], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let env = aws_env_with_plugin(&emulator.endpoint, ADMIN);
    let args = start_session_args(&emulator.endpoint, &[]);
    let mut session = PtyConnect::spawn_program(&aws, &args, &env, 24, 80);
    session.expect("Starting session with SessionId: ").await;
    // Typed at once: the session holds input until the shell is there. The sum appears
    // only as the shell's output, never as the echo of what was typed.
    session.write(b"echo hi $((40 + 2)); exit\r").await;
    session.expect("hi 42").await;
    session.expect("Exiting session with sessionId: ").await;
    let status = session.finish().await;
    assert_eq!(status, 0, "{}", session.text());
    // gangway's --version satisfies the CLI's recommended minimum: no upgrade nag.
    assert!(!session.text().contains("outdated"), "{}", session.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_shell_with_a_profile_resumes_across_websocket_cuts() {
    let aws = aws_cli();
    let fleet = fleet_file(&[], &[]);
    let emulator = spawn(&[
        "--fleet",
        fleet.to_str().unwrap(),
        "--faults",
        "cut-every=1s,seed=3",
    ]);
    // Credentials only in the profile the CLI is given: the plugin's ResumeSession calls
    // work only if it uses that profile as the CLI passed it.
    let credentials = crate::support::cli::temp_home().join("credentials");
    std::fs::write(
        &credentials,
        format!("[dev]\naws_access_key_id = {ADMIN}\naws_secret_access_key = gangway\n"),
    )
    .unwrap();
    let mut env = aws_env_with_plugin(&emulator.endpoint, ADMIN);
    env.retain(|(name, _)| {
        !matches!(
            name.as_str(),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SHARED_CREDENTIALS_FILE"
        )
    });
    env.push((
        "AWS_SHARED_CREDENTIALS_FILE".into(),
        credentials.display().to_string(),
    ));
    let mut args = vec!["--profile", "dev"];
    args.extend(start_session_args(&emulator.endpoint, &[]));
    let mut session = PtyConnect::spawn_program(&aws, &args, &env, 24, 80);
    session.expect("Starting session with SessionId: ").await;
    // Output that spans several cuts: each line comes after the one before it.
    session
        .write(b"for i in 1 2 3 4; do sleep 1; echo tick-$((i * 10)); done\r")
        .await;
    for tick in ["tick-10", "tick-20", "tick-30", "tick-40"] {
        session.expect(tick).await;
    }
    session.write(b"exit\r").await;
    session.expect("Exiting session with sessionId: ").await;
    let status = session.finish().await;
    assert_eq!(status, 0, "{}", session.text());
}

/// `aws ssm start-session --document-name AWS-StartPortForwardingSession` as a child in its
/// own process group (a Ctrl-C reaches the CLI and the plugin as in a terminal), its stdout
/// lines and its stderr read as they come.
struct PortSession {
    child: tokio::process::Child,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    stderr: tokio::sync::watch::Receiver<String>,
    local: std::net::SocketAddr,
}

impl PortSession {
    /// AWS-StartPortForwardingSession to `remote_port`, on a free local port.
    async fn start(aws: &std::path::Path, endpoint: &str, remote_port: u16) -> Self {
        let parameters =
            format!(r#"{{"portNumber": ["{remote_port}"], "localPortNumber": ["0"]}}"#);
        Self::start_document(aws, endpoint, "AWS-StartPortForwardingSession", &parameters).await
    }

    async fn start_document(
        aws: &std::path::Path,
        endpoint: &str,
        document: &str,
        parameters: &str,
    ) -> Self {
        let args = start_session_args(
            endpoint,
            &["--document-name", document, "--parameters", parameters],
        );
        let mut child = Command::new(aws)
            .args(&args)
            .env_clear()
            .envs(aws_env_with_plugin(endpoint, ADMIN))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (stderr_tx, stderr) = tokio::sync::watch::channel(String::new());
        let mut stderr_lines = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr_lines.next_line().await {
                stderr_tx.send_modify(|text| {
                    text.push_str(&line);
                    text.push('\n');
                });
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let port: u16 = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = stdout.next_line().await.unwrap() {
                seen.push(line.clone());
                if let Some(rest) = line.strip_prefix("Port ") {
                    let (port, session) = rest.split_once(" opened for sessionId ").unwrap();
                    assert!(session.ends_with('.'), "{line}");
                    return port.parse().unwrap();
                }
            }
            panic!("the CLI ended before the port line; stdout {seen:?}");
        })
        .await
        .expect("no port line from the plugin");
        assert_ne!(port, 0);
        let waiting = stdout.next_line().await.unwrap();
        assert_eq!(waiting.as_deref(), Some("Waiting for connections..."));
        Self {
            child,
            stdout,
            stderr,
            local: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// Waits until stderr holds `needle`.
    async fn stderr_until(&mut self, needle: &str) {
        let found = tokio::time::timeout(PATIENCE, self.stderr.wait_for(|t| t.contains(needle)))
            .await
            .is_ok_and(|seen| seen.is_ok());
        let text = self.stderr.borrow().clone();
        assert!(found, "no {needle:?} on stderr: {text}");
    }

    /// Ctrl-C to the group; the rest of stdout, stderr, and the CLI's exit status.
    async fn interrupt(mut self) -> (String, String, Option<i32>) {
        let group = nix::unistd::Pid::from_raw(-(self.child.id().unwrap() as i32));
        nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGINT).unwrap();
        let mut rest = String::new();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the CLI did not end after Ctrl-C")
            .unwrap();
        let stderr = self.stderr.borrow().clone();
        (rest, stderr, status.code())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_forwards_a_port_through_gangway() {
    let aws = aws_cli();
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(8080, echo.addr)], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let session = PortSession::start(&aws, &emulator.endpoint, 8080).await;
    echo_round_trip(session.local, 256 << 10, 3).await;
    echo_round_trip(session.local, 4096, 9).await;
    // Ctrl-C: the plugin ends the session and exits 0, and so does the CLI.
    let (rest, stderr, status) = session.interrupt().await;
    assert!(
        rest.contains("Connection accepted for session"),
        "{rest}{stderr}"
    );
    assert!(
        rest.contains("Terminate signal received, exiting."),
        "{rest}"
    );
    assert!(rest.contains("Exiting session with sessionId"), "{rest}");
    assert_eq!(status, Some(0), "{rest}{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_port_session_resumes_after_cuts_and_comes_back_after_the_service_ends_it() {
    let aws = aws_cli();
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(8080, echo.addr)], &[]);
    // Websocket cuts every 2 s (ResumeSession through the endpoint the CLI passed), and an
    // idle timeout that ends the session on the service side (a new StartSession with the
    // CLI's parameters).
    let emulator = spawn(&[
        "--fleet",
        fleet.to_str().unwrap(),
        "--faults",
        "cut-every=2s,seed=5",
        "--idle-timeout",
        "3",
    ]);
    let mut session = PortSession::start(&aws, &emulator.endpoint, 8080).await;
    let round_trips: Vec<_> = (0..2u8)
        .map(|seed| tokio::spawn(echo_round_trip(session.local, 1 << 20, seed)))
        .collect();
    for round_trip in round_trips {
        round_trip.await.unwrap();
    }
    session.stderr_until("connection resumed").await;
    session.stderr_until("tunnel re-established").await;
    echo_round_trip(session.local, 64 << 10, 11).await;
    let (rest, stderr, status) = session.interrupt().await;
    assert_eq!(status, Some(0), "{rest}{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_reaches_a_remote_host_and_an_old_agent_in_basic_mode() {
    let aws = aws_cli();
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[], &[("db.internal:5432", echo.addr)]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap(), "--agent-pace", "off"]);
    let parameters =
        r#"{"host": ["db.internal"], "portNumber": ["5432"], "localPortNumber": ["0"]}"#;
    let session = PortSession::start_document(
        &aws,
        &emulator.endpoint,
        "AWS-StartPortForwardingSessionToRemoteHost",
        parameters,
    )
    .await;
    echo_round_trip(session.local, 256 << 10, 1).await;
    let (rest, stderr, status) = session.interrupt().await;
    assert_eq!(status, Some(0), "{rest}{stderr}");

    // 3.0.196.0 has no mux (§6.4): the emulator's agent runs basic mode, so bytes flow only
    // if the plugin chose basic too; one connection after another. The instance's own port:
    // that agent predates remote hosts (3.1.1188.0) and would ignore a host.
    let fleet = fleet_file_with_agent(&[(5432, echo.addr)], &[], Some("3.0.196.0"));
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap(), "--agent-pace", "off"]);
    let parameters = r#"{"portNumber": ["5432"], "localPortNumber": ["0"]}"#;
    let session = PortSession::start_document(
        &aws,
        &emulator.endpoint,
        "AWS-StartPortForwardingSession",
        parameters,
    )
    .await;
    echo_round_trip(session.local, 256 << 10, 1).await;
    echo_round_trip(session.local, 64 << 10, 2).await;
    let (rest, stderr, status) = session.interrupt().await;
    assert_eq!(status, Some(0), "{rest}{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_gets_a_clear_refusal_for_a_local_unix_socket() {
    let aws = aws_cli();
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(8080, echo.addr)], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let socket = crate::support::cli::temp_home().join("db.sock");
    let parameters = format!(
        r#"{{"portNumber": ["8080"], "localUnixSocket": ["{}"]}}"#,
        socket.display()
    );
    let args = start_session_args(
        &emulator.endpoint,
        &[
            "--document-name",
            "AWS-StartPortForwardingSessionToSocket",
            "--parameters",
            &parameters,
        ],
    );
    let run = Command::new(&aws)
        .args(&args)
        .env_clear()
        .envs(aws_env_with_plugin(&emulator.endpoint, ADMIN))
        .stdin(Stdio::null())
        .output();
    let out = tokio::time::timeout(PATIENCE, run).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot listen on a local unix socket"),
        "{stderr}"
    );
    // The CLI reports a plugin that did not exit 0 with 255.
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(!socket.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_carries_ssh_through_gangway_both_ways() {
    let aws = aws_cli();
    // "sshd" is an echo server on the instance's port 2222.
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(2222, echo.addr)], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let args = start_session_args(
        &emulator.endpoint,
        &[
            "--document-name",
            "AWS-StartSSHSession",
            "--parameters",
            "portNumber=2222",
        ],
    );
    let mut child = spawn_piped(
        Command::new(&aws)
            .args(&args)
            .env_clear()
            .envs(aws_env_with_plugin(&emulator.endpoint, ADMIN)),
    );
    // Every byte value, and the ones a terminal path would rewrite (LF, CR LF, EOT, ^C).
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend_from_slice(b"\n\r\n\x04\x03\x1c\n");
    data.extend(pipe_payload(1 << 20));
    let expected = Sha256::digest(&data);
    let size = data.len();
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        stdin.write_all(&data).await.unwrap();
        stdin
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut back = vec![0u8; size];
    tokio::time::timeout(PATIENCE * 2, stdout.read_exact(&mut back))
        .await
        .expect("the echo did not come back")
        .unwrap();
    assert_eq!(Sha256::digest(&back), expected, "the SSH stream differs");
    // The SSH client is done: stdin ends, the plugin exits 0, and so does the CLI.
    drop(writer.await.unwrap());
    let (status, stderr) = exited(
        &mut child,
        PATIENCE,
        "the CLI did not end after stdin ended",
    )
    .await;
    let mut after = Vec::new();
    let _ = stdout.read_to_end(&mut after).await;
    assert!(after.is_empty(), "nothing but the stream on stdout");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
