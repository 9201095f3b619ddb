//! KMS-encrypted sessions end to end (issue 11 item 1, protocol.md §4.6): an account whose
//! Session Manager preferences name a KMS key, served by the emulator's KMS and its agent,
//! which encrypts exactly as the real agent does. `gangway connect` runs as a real process
//! (a pty, or pipes); the corrupted-ciphertext case uses a client built from `gangway::proto`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gangway::commands::exit;
use gangway::proto::{CounterNonces, Event, Frame, PayloadType, SeededIds, Session, SessionConfig};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;

use crate::support::PATIENCE;
use crate::support::aws_clients::{DEV, client_at, ssm_at};
use crate::support::cli::{aws_env, pipe_round_trip, spawn_piped};
use crate::support::emulator::{GANGWAY, SpawnedEmulator, spawn_fleet, start_fleet};
use crate::support::pty::PtyConnect;

const INSTANCE: &str = "i-0123456789abcdef0";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
/// On the key: admin and dev. Not on it: this engineer, who may otherwise reach the instance.
const OUTSIDER: &str = "AKIAGANGWAYOUTSIDER";
const KMS_NOTICE: &str = "This session is encrypted using AWS KMS.";

/// A fleet whose preferences encrypt sessions with `preferences_key`; the account has one key,
/// `alias/sessions`, which admin and dev may use.
fn fleet_toml(preferences_key: &str) -> String {
    format!(
        r#"
[preferences]
kms_key_id = "{preferences_key}"

[[kms_keys]]
id = "{KEY_ID}"
alias = "alias/sessions"
users = ["admin", "dev"]

[[users]]
name = "outsider"
access_key_id = "{OUTSIDER}"
role = "engineer"

[[instances]]
id = "{INSTANCE}"
name = "vault-1"
tags = {{ Env = "dev" }}
"#
    )
}

fn kms_emulator(preferences_key: &str) -> SpawnedEmulator {
    kms_emulator_with(preferences_key, &[])
}

/// `gangway emulator --fleet FILE ARGS…` with the KMS fleet.
fn kms_emulator_with(preferences_key: &str, args: &[&str]) -> SpawnedEmulator {
    spawn_fleet(&fleet_toml(preferences_key), args)
}

/// `gangway connect ARGS` with pipes; returns (status, stdout, stderr).
async fn connect_piped(
    endpoint: &str,
    access_key: &str,
    args: &[&str],
    stdin: &[u8],
) -> (Option<i32>, Vec<u8>, String) {
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .arg("connect")
            .args(args)
            .envs(aws_env(endpoint, access_key)),
    );
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("gangway connect hung")
        .unwrap();
    (
        out.status.code(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_in_a_kms_account_opens_encrypted_in_a_terminal() {
    let emulator = kms_emulator("alias/sessions");
    let mut connect = PtyConnect::spawn(&emulator.endpoint, DEV, &["vault-1"], 24, 80).await;
    let after_notice = connect.expect(KMS_NOTICE).await;
    connect.expect_from(after_notice, "@vault-1$ ").await;
    connect.write(b"echo kms-$((6*7))\r").await;
    connect.expect("kms-42").await;
    connect.write(b"exit\r").await;
    assert_eq!(connect.finish().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_command_in_a_kms_account_runs_encrypted() {
    let emulator = kms_emulator("alias/sessions");
    let (status, stdout, stderr) = connect_piped(
        &emulator.endpoint,
        DEV,
        &[
            INSTANCE,
            "--document",
            "AWS-StartInteractiveCommand",
            "--parameter",
            "command=echo inter-$((2+3))",
        ],
        b"",
    )
    .await;
    let stdout = String::from_utf8_lossy(&stdout);
    assert_eq!(status, Some(0), "stdout: {stdout} stderr: {stderr}");
    assert!(stdout.contains("inter-5"), "stdout: {stdout}");
    // The agent's notice goes to stderr, so scripts' stdout holds only the remote output.
    assert!(stderr.contains(KMS_NOTICE), "stderr: {stderr}");
    assert!(!stdout.contains(KMS_NOTICE));
}

const SIZE: usize = 32 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_mode_moves_32_mib_each_way_encrypted_and_byte_exact() {
    // Benchmark-only pace, as in connect_pipe: this checks byte-exactness of the encrypted
    // stream at volume; the real agent's pace (~1 MiB/s) would only add its sleeps.
    round_trip(&kms_emulator_with(
        "alias/sessions",
        &["--agent-pace", "off"],
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_pipe_mode_survives_drops_duplicates_reordering_and_cuts() {
    // The real pace and faults as they really happen (connect_pipe's spec): cuts lose what is
    // in flight, duplicates and reordering come right after a resume. A resent frame carries
    // the ciphertext it was first sent with.
    let faults = "drop=0.00005,dup=0.2,reorder=0.2,cut-every=3s,seed=5";
    round_trip(&kms_emulator_with("alias/sessions", &["--faults", faults])).await;
}

/// 32 MiB up through `head -c` in a raw pty and back down, SHA-256 compared, encrypted.
async fn round_trip(emulator: &SpawnedEmulator) {
    let stderr = pipe_round_trip(&emulator.endpoint, INSTANCE, SIZE).await;
    assert!(stderr.contains(KMS_NOTICE), "stderr: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_the_key_does_not_list_gets_one_line_and_access_denied() {
    let emulator = kms_emulator("alias/sessions");
    let (status, stdout, stderr) =
        connect_piped(&emulator.endpoint, OUTSIDER, &[INSTANCE], b"echo never\n").await;
    assert_eq!(
        status,
        Some(i32::from(exit::ACCESS_DENIED)),
        "stderr: {stderr}"
    );
    assert!(
        stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&stdout)
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    for needle in ["alias/sessions", "kms:GenerateDataKey", "user/outsider"] {
        assert!(lines[0].contains(needle), "{needle} missing: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_does_not_exist_gives_a_clear_error_and_not_found() {
    let emulator = kms_emulator("alias/retired");
    let (status, stdout, stderr) =
        connect_piped(&emulator.endpoint, DEV, &[INSTANCE], b"echo never\n").await;
    assert_eq!(status, Some(i32::from(exit::NOT_FOUND)), "stderr: {stderr}");
    assert!(stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(
        lines[0].contains("alias/retired") && lines[0].contains("does not exist"),
        "stderr: {stderr}"
    );
}

// ---- a client built from gangway::proto that corrupts its own ciphertext ----------------

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct ProtoClient {
    session: Session,
    socket: Socket,
    kms: aws_sdk_kms::Client,
    session_id: String,
    output: Vec<u8>,
    closed: Option<String>,
    opened: bool,
}

impl ProtoClient {
    async fn open(endpoint: &str) -> Self {
        let ssm = ssm_at(endpoint, DEV);
        let kms = client_at(endpoint, DEV);
        let started = ssm.start_session().target(INSTANCE).send().await.unwrap();
        let session_id = started.session_id().unwrap().to_string();
        let (mut socket, _) = tokio_tungstenite::connect_async(started.stream_url().unwrap())
            .await
            .unwrap();
        let open = serde_json::json!({
            "MessageSchemaVersion": "1.0",
            "RequestId": uuid::Uuid::new_v4().to_string(),
            "TokenValue": started.token_value().unwrap(),
            "ClientId": uuid::Uuid::new_v4().to_string(),
            "ClientVersion": "1.2.677.0",
        });
        socket
            .send(Message::Text(open.to_string().into()))
            .await
            .unwrap();
        let mut config = SessionConfig::client(session_id.clone());
        config.kms_encryption = true;
        let session = Session::new(config, Box::new(SeededIds::new(3)), Instant::now(), 0);
        Self {
            session,
            socket,
            kms,
            session_id,
            output: Vec::new(),
            closed: None,
            opened: false,
        }
    }

    /// Writes the session's frames, `edit` may change stream frames first.
    async fn flush(&mut self, edit: &mut dyn FnMut(&mut Frame)) {
        while let Some(bytes) = self.session.poll_transmit(Instant::now()) {
            let mut frame = Frame::decode(&bytes).unwrap();
            edit(&mut frame);
            self.socket
                .send(Message::Binary(frame.encode().into()))
                .await
                .unwrap();
        }
    }

    /// One round: write, then handle the next frame (or time out briefly); KMS calls inline.
    async fn turn(&mut self, edit: &mut dyn FnMut(&mut Frame)) {
        self.flush(edit).await;
        let next = tokio::time::timeout(Duration::from_millis(100), self.socket.next()).await;
        match next {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                self.session.handle_frame(Instant::now(), &bytes)
            }
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(Some(Err(_))) | Ok(None) => {
                self.closed.get_or_insert_with(|| "<socket closed>".into());
            }
        }
        self.session.handle_timeout(Instant::now());
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::KmsDataKeyRequested { key_id, .. } => {
                    let key = self
                        .kms
                        .generate_data_key()
                        .key_id(key_id)
                        .number_of_bytes(64)
                        .encryption_context("aws:ssm:SessionId", &self.session_id)
                        .encryption_context("aws:ssm:TargetId", INSTANCE)
                        .send()
                        .await
                        .unwrap();
                    self.session
                        .complete_kms(
                            Instant::now(),
                            key.ciphertext_blob().unwrap().as_ref(),
                            key.plaintext().unwrap().as_ref(),
                            Box::new(CounterNonces::new([11, 22, 33])),
                        )
                        .unwrap();
                }
                Event::Opened { .. } => self.opened = true,
                Event::Data { bytes, .. } => self.output.extend_from_slice(&bytes),
                Event::ChannelClosed(closed) => self.closed = Some(closed.output),
                _ => {}
            }
        }
    }

    async fn until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let give_up = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < give_up, "timed out waiting for {what}");
            self.turn(&mut |_| {}).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_ciphertext_ends_the_session_and_is_never_run() {
    let fleet = gangway::emulator::Fleet::from_toml(&fleet_toml("alias/sessions"), "test").unwrap();
    let emulator = start_fleet(fleet).await;
    let mut client = ProtoClient::open(&emulator.endpoint).await;
    client
        .until("the encrypted session to open", |c| {
            c.opened && String::from_utf8_lossy(&c.output).contains("$ ")
        })
        .await;
    assert!(client.session.is_encrypted());

    // An intact command runs: the keys agree.
    client
        .session
        .send_data(Instant::now(), b"echo ok-$((40+2))\r");
    client
        .until("the intact command's output", |c| {
            String::from_utf8_lossy(&c.output).contains("ok-42")
        })
        .await;

    // The same kind of command with one ciphertext byte flipped (digest recomputed, so
    // the frame itself is valid): the agent cannot decrypt it and ends the session.
    client
        .session
        .send_data(Instant::now(), b"echo marker-$((1+1))\r");
    let mut flip = |frame: &mut Frame| {
        if frame.payload_type == PayloadType::Output {
            let middle = frame.payload.len() / 2;
            frame.payload[middle] ^= 0x20;
        }
    };
    client.flush(&mut flip).await;
    let give_up = Instant::now() + PATIENCE;
    while client.closed.is_none() {
        assert!(Instant::now() < give_up, "the session did not end");
        // Its retransmissions stay corrupted too: it is the same frame.
        client.turn(&mut flip).await;
    }
    let reason = client.closed.clone().unwrap();
    assert!(reason.contains("decrypt"), "channel_closed: {reason}");
    assert!(
        !String::from_utf8_lossy(&client.output).contains("marker-2"),
        "the corrupted input ran: {}",
        String::from_utf8_lossy(&client.output)
    );
    let state = emulator.state();
    let give_up = Instant::now() + PATIENCE;
    loop {
        if let Some(record) = state.sessions.get(&client.session_id)
            && record.ended_at.is_some()
        {
            assert!(record.end_reason.unwrap().contains("decrypt"));
            break;
        }
        assert!(
            Instant::now() < give_up,
            "the session never reached History"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_challenge_answer_ends_the_session_with_a_reason() {
    let fleet = gangway::emulator::Fleet::from_toml(&fleet_toml("alias/sessions"), "test").unwrap();
    let emulator = start_fleet(fleet).await;
    let mut client = ProtoClient::open(&emulator.endpoint).await;
    // The EncChallengeResponse (PT 9) with one byte of its sealed challenge changed: the
    // agent does not ack it, and its 15 s challenge wait runs out (§4.6 step 7).
    let mut tamper = |frame: &mut Frame| {
        if frame.payload_type == PayloadType::EncChallengeResponse {
            let mut answer = gangway::proto::EncChallenge::from_json(&frame.payload).unwrap();
            let last = answer.challenge.len() - 1;
            answer.challenge[last] ^= 1;
            frame.payload = answer.to_json();
        }
    };
    let give_up = Instant::now() + PATIENCE;
    while client.closed.is_none() {
        assert!(Instant::now() < give_up, "the session did not end");
        client.turn(&mut tamper).await;
    }
    let reason = client.closed.clone().unwrap();
    assert!(
        reason.contains("encryption challenge"),
        "channel_closed: {reason}"
    );
    assert!(
        !client.opened,
        "the session opened without a verified challenge"
    );
    assert!(client.output.is_empty());
}
