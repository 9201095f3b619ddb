//! Hardening of the emulator against what an unauthenticated or hostile client sends
//! (issue 17, F1-F4, F10 and the fleet, process and shutdown findings): loopback only, bounded in count and time.
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use crate::support::PATIENCE;
use crate::support::agent_client::{config, dial, instance_in, start_session};
use crate::support::aws_clients::{ADMIN, DEV, error_code, ssm, ssm_at};
use crate::support::emulator::{gangway, start};
use crate::support::frames::input;
use crate::support::hostile::{
    AUTHORIZATION, after_first_message, form_post_head, masked_text_frame, megabyte_of_filters,
    open_data_channel, raw_exchange, raw_upgrade,
};

/// F1: a 1 MiB DescribeInstances body of filters (tens of thousands of `Filter.N` pairs)
/// once took seconds of CPU per request; it now gets EC2's own FilterLimitExceeded.
#[tokio::test]
async fn a_megabyte_of_filters_gets_filter_limit_exceeded() {
    let emulator = start(config(50)).await;
    let (body, pairs) = megabyte_of_filters();
    assert!(pairs * 2 >= 25_000, "{pairs} filters");
    assert!(body.len() <= 1 << 20);
    let head = form_post_head(emulator.local_addr, body.len(), true);
    let answer = raw_exchange(emulator.local_addr, &head, body.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(
        answer.contains("<Code>FilterLimitExceeded</Code>"),
        "{}",
        &answer[..answer.len().min(600)]
    );
}

/// F2: a body that stops half-way is answered (408) and its connection closed once the body
/// deadline passes, instead of being held open for as long as the client likes.
#[tokio::test]
async fn bodies_that_stall_are_cut_off_at_the_body_deadline() {
    let mut config = config(5);
    config.body_deadline = Duration::from_millis(300);
    let emulator = start(config).await;
    let head = form_post_head(emulator.local_addr, 1000, false);
    // Twenty at once, each sending 10 of its 1,000 bytes and then nothing.
    let stalled = (0..20).map(|_| raw_exchange(emulator.local_addr, &head, b"Action=Des"));
    for answer in futures_util::future::join_all(stalled).await {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
}

/// F2: a declared body over the limit is refused from its Content-Length alone.
#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    let emulator = start(config(5)).await;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: {AUTHORIZATION}\r\n\
         Content-Length: 104857600\r\n\r\n",
        emulator.local_addr
    );
    let answer = raw_exchange(emulator.local_addr, &head, b"Action=").await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// F4: a first message over a few KiB is refused even when it carries a valid token; the
/// same token in a normal-sized frame opens the session.
#[tokio::test]
async fn an_oversized_first_message_is_refused_even_with_a_valid_token() {
    let emulator = start(config(5)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;

    let mut stream = raw_upgrade(&started.stream_url).await.unwrap();
    let big = open_data_channel(&started.token, 64 << 10);
    // The server may refuse from the header alone and close while this is still being sent.
    let _ = stream.write_all(&masked_text_frame(&big)).await;
    assert_eq!(after_first_message(stream).await, Some(false));

    let mut stream = raw_upgrade(&started.stream_url).await.unwrap();
    let small = open_data_channel(&started.token, 36);
    stream.write_all(&masked_text_frame(&small)).await.unwrap();
    assert_eq!(after_first_message(stream).await, Some(true));
}

/// F4: sockets that have not passed the token check are capped; a slot comes back when one
/// of them goes away.
#[tokio::test]
async fn unauthenticated_sockets_are_capped() {
    let mut config = config(5);
    config.max_unauthenticated_sockets = 2;
    let emulator = start(config).await;
    let url = format!(
        "ws://{}/v1/data-channel/nobody-0123456789abcdef0?role=publish_subscribe",
        emulator.local_addr
    );
    let first = raw_upgrade(&url).await.unwrap();
    let _second = raw_upgrade(&url).await.unwrap();
    let refused = raw_upgrade(&url).await.unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match raw_upgrade(&url).await {
            Ok(_third) => break,
            Err(head) if head.starts_with("HTTP/1.1 503") => {
                assert!(tokio::time::Instant::now() < deadline, "no slot came back");
                tokio::task::yield_now().await;
            }
            Err(other) => panic!("{other}"),
        }
    }
}

/// Every log line of this test binary, at trace level, for the emulator and the websocket
/// library (the SDK's own client-side traces are F8's business).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "gangway=trace,tungstenite=trace,tokio_tungstenite=trace",
            ))
            .with_writer(move || Sink(Arc::clone(&sink)))
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

/// F4: at trace level nothing the emulator or its websocket library logs holds the first
/// message or the token in it (once tungstenite traced the whole frame, in hex and as text).
#[tokio::test]
async fn no_log_line_at_trace_holds_the_first_message() {
    let logs = captured_logs();
    let emulator = start(config(5)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let mut stream = raw_upgrade(&started.stream_url).await.unwrap();
    stream
        .write_all(&masked_text_frame(&open_data_channel(&started.token, 36)))
        .await
        .unwrap();
    assert_eq!(after_first_message(stream).await, Some(true));
    tracing::trace!(target: "gangway", "marker: the capture works");
    let _ = std::io::stderr().flush();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("marker: the capture works"));
    assert!(
        text.contains("data channel opened"),
        "the emulator's lines are captured"
    );
    assert!(!text.contains(&started.token), "the token is in a log line");
    assert!(
        !text.contains(&hex::encode(&started.token)),
        "the token is in a log line (hex)"
    );
    assert!(
        !text.contains("ClientVersion"),
        "the first message is in a log line"
    );
}

/// Reads the agent's messages until the ack for `sequence` has come `times` times, and
/// returns every acknowledged input sequence number on the way (its output is not acked: it
/// is resent, which does not matter here). `None` if the socket ended first.
async fn acks_until(
    socket: &mut crate::support::agent_client::Socket,
    sequence: i64,
    times: usize,
) -> Option<Vec<i64>> {
    let mut acked = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while acked.iter().filter(|&&s| s == sequence).count() < times {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the agent answers in time");
        let bytes = match message {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
            Some(Ok(_)) => continue,
        };
        let frame = gangway::proto::Frame::decode(&bytes).unwrap();
        if frame.message_type == gangway::proto::MessageType::Acknowledge {
            let ack = gangway::proto::Acknowledge::from_json(&frame.payload).unwrap();
            if ack.acknowledged_message_type == "input_stream_data" {
                acked.push(ack.acknowledged_message_sequence_number);
            }
        }
    }
    Some(acked)
}

/// F3: input sent far ahead of the expected sequence number, never filling the gap, is held
/// (and acked) up to the reorder buffer's byte bound only; a frame beyond the span any
/// honest client can send is not acked; a message bigger than a frame can be fails the
/// socket instead of being read and held.
#[tokio::test]
async fn far_ahead_input_is_bounded_by_bytes_and_span() {
    let emulator = start(config(5)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let mut socket = dial(&started.stream_url, &started.token).await;

    let chunk = vec![b'x'; 32 << 10];
    for seq in 1..=300 {
        socket
            .send(Message::Binary(input(seq, &chunk).into()))
            .await
            .unwrap();
    }
    socket
        .send(Message::Binary(input(1_000_000, b"far").into()))
        .await
        .unwrap();
    // Held already: acked again, which marks the end of what the agent read before it.
    socket
        .send(Message::Binary(input(1, &chunk).into()))
        .await
        .unwrap();
    let acked = acks_until(&mut socket, 1, 2)
        .await
        .expect("the socket stays");
    let held = gangway::proto::DEFAULT_INCOMING_CAPACITY_BYTES / chunk.len();
    let mut expected: Vec<i64> = (1..=held as i64).collect();
    expected.push(1);
    assert_eq!(acked, expected, "acked {} of 300", acked.len() - 1);

    let huge = input(301, &vec![b'y'; 1 << 20]);
    let _ = socket.send(Message::Binary(huge.into())).await;
    let _ = socket.send(Message::Binary(input(1, &chunk).into())).await;
    assert_eq!(
        acks_until(&mut socket, 1, 1).await,
        None,
        "a 1 MiB message is read and the socket goes on"
    );
}

/// F10: a session nobody opens ends by itself (Failed, in History) once the connect timeout
/// passes, and its token opens nothing afterwards; one user holds at most the configured
/// number of sessions that have not ended, and an ended one gives its slot back.
#[tokio::test]
async fn sessions_never_connected_time_out_and_one_user_holds_a_bounded_number() {
    let mut config = config(5);
    config.connect_timeout = Duration::from_millis(500);
    config.max_sessions_per_owner = 2;
    let emulator = start(config).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let never = start_session(&dev, &target.id, None, None).await;
    let second = start_session(&dev, &target.id, None, None).await;
    let refused = dev.start_session().target(&target.id).send().await;
    assert_eq!(error_code(refused), "ServiceQuotaExceededException");
    // Another user is not affected.
    let admin = ssm(&emulator, ADMIN);
    admin
        .start_session()
        .target(&target.id)
        .send()
        .await
        .unwrap();

    // Both of dev's sessions time out (on a loaded machine the second may lag the first).
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let ended = loop {
        let history = dev
            .describe_sessions()
            .state(aws_sdk_ssm::types::SessionState::History)
            .send()
            .await
            .unwrap();
        let find = |id: &str| {
            history
                .sessions()
                .iter()
                .find(|s| s.session_id() == Some(id))
                .cloned()
        };
        if let (Some(ended), Some(_)) = (find(&never.session_id), find(&second.session_id)) {
            break ended;
        }
        assert!(tokio::time::Instant::now() < deadline, "never timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        ended.status(),
        Some(&aws_sdk_ssm::types::SessionStatus::Failed)
    );
    let mut stream = raw_upgrade(&never.stream_url).await.unwrap();
    stream
        .write_all(&masked_text_frame(&open_data_channel(&never.token, 36)))
        .await
        .unwrap();
    assert_eq!(after_first_message(stream).await, Some(false));
    // Both of dev's sessions have timed out: two new ones fit the cap again.
    start_session(&dev, &target.id, None, None).await;
    start_session(&dev, &target.id, None, None).await;
}

/// `gangway emulator` started with `env`: its endpoint and the child (killed on drop).
struct EmulatorProcess {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl EmulatorProcess {
    /// Sends SIGTERM and waits (with a deadline) for the exit status.
    async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no exit after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn spawn_emulator_with(args: &[&str], env: &[(&str, &str)]) -> EmulatorProcess {
    let mut child = gangway()
        .arg("emulator")
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut process = EmulatorProcess {
        child,
        endpoint: String::new(),
    };
    process.endpoint = crate::support::line_after(stdout, "endpoint=", "gangway emulator");
    process
}

/// The first connectable `Env=dev` instance of `Fleet::generated(count)`.
fn generated_dev_instance(count: usize) -> String {
    gangway::emulator::Fleet::generated(count)
        .instances
        .into_iter()
        .find(|i| i.is_connectable() && i.tags.get("Env").map(String::as_str) == Some("dev"))
        .unwrap()
        .id
}

/// Runs `command` in a new shell session on `endpoint` and returns what follows `ANSWER=` on
/// its output line (the command prints it as `ANS""WER=`, so the echoed input never matches).
async fn shell_answer(endpoint: &str, instance: &str, command: &str) -> String {
    let dev = ssm_at(endpoint, DEV);
    let started = start_session(&dev, instance, None, None).await;
    let mut client = crate::support::agent_client::Client::open(dev, started).await;
    answer_in(&mut client, command).await
}

async fn answer_in(client: &mut crate::support::agent_client::Client, command: &str) -> String {
    client.send(format!("{command}\n").as_bytes());
    client
        .pump_until(PATIENCE, |c| {
            let text = c.stdout_text();
            text.split("ANSWER=")
                .nth(1)
                .is_some_and(|rest| rest.contains('\n'))
        })
        .await;
    let text = client.stdout_text();
    let rest = text.split("ANSWER=").nth(1).unwrap();
    rest[..rest.find(['\r', '\n']).unwrap()].to_owned()
}

/// The emulator's start-up environment (an AWS secret, say) is in no process a session
/// shell can read: not its parent's (the emulator's) `/proc/$PPID/environ`, nor any other
/// under `/proc`. The parent's file is readable, as the `PATH=` count shows.
#[tokio::test]
async fn a_session_cannot_read_the_emulator_s_environment() {
    let marker = format!("gangway-env-marker-{}", std::process::id());
    let emulator = spawn_emulator_with(
        &["--instances", "5"],
        &[
            ("AWS_SECRET_ACCESS_KEY", marker.as_str()),
            ("GANGWAY_TEST_MARKER", marker.as_str()),
        ],
    );
    let (head, tail) = marker.split_at(10);
    let command = format!(
        "a=$(tr '\\0' '\\n' < /proc/$PPID/environ | grep -c '^PATH='); \
         b=$(for f in /proc/[0-9]*/environ; do cat \"$f\" 2>/dev/null; echo; done | tr '\\0' '\\n' | grep -c '{head}''{tail}'); \
         echo \"ANS\"\"WER=$a,$b\""
    );
    let answer = shell_answer(&emulator.endpoint, &generated_dev_instance(5), &command).await;
    assert_eq!(
        answer, "1,0",
        "parent's PATH lines, then marker lines anywhere"
    );
}

/// F6 and the run directories: SIGTERM ends an attached session with channel_closed (the
/// client does not try to resume), the emulator exits 0, its run directory is gone, and the
/// directory a killed emulator left behind was swept at start.
#[tokio::test]
async fn sigterm_closes_sessions_and_removes_the_run_directory() {
    let temp = std::env::temp_dir().join(format!("gangway-sigterm-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    // Above the kernel's pid_max (2^22): the emulator that made it cannot be running.
    let stale = temp.join("gangway-emulator-4194305");
    std::fs::create_dir_all(stale.join("home")).unwrap();
    let mut emulator =
        spawn_emulator_with(&["--instances", "5"], &[("TMPDIR", temp.to_str().unwrap())]);
    let run_dir = temp.join(format!("gangway-emulator-{}", emulator.child.id()));

    let dev = ssm_at(&emulator.endpoint, DEV);
    let started = start_session(&dev, &generated_dev_instance(5), None, None).await;
    let mut client = crate::support::agent_client::Client::open(dev, started).await;
    client.auto_resume = false;
    client.send(b"echo st''arted > here\n");
    client.until_stdout_contains("$ ").await;
    crate::support::eventually(PATIENCE, "the session's home", || {
        std::fs::read_dir(run_dir.join("home")).is_ok_and(|mut homes| homes.next().is_some())
    })
    .await;

    let status = emulator.terminate().await;
    let output = client.until_closed(PATIENCE).await;
    assert!(output.contains("emulator shutdown"), "{output:?}");
    assert!(status.success(), "{status:?}");
    assert!(!run_dir.exists(), "the run directory is left behind");
    assert!(!stale.exists(), "the stale run directory was not swept");
    std::fs::remove_dir_all(&temp).unwrap();
}

/// True while `pid` exists and is not a zombie (killed, waiting for whoever reaps it).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .next();
        state != Some("Z")
    })
}

/// A background job started in a session (in the shell's process group or in a job group
/// of its own) is killed when the emulator is, by `kill -9`: nothing of a session outlives it.
#[tokio::test]
async fn background_jobs_die_with_a_killed_emulator() {
    let mut emulator = spawn_emulator_with(&["--instances", "5"], &[]);
    let dev = ssm_at(&emulator.endpoint, DEV);
    let started = start_session(&dev, &generated_dev_instance(5), None, None).await;
    let mut client = crate::support::agent_client::Client::open(dev, started).await;
    client.auto_resume = false;
    let answer = answer_in(
        &mut client,
        "sleep 1000 & a=$!; set -m; sleep 1001 & echo \"ANS\"\"WER=$a $!\"",
    )
    .await;
    let jobs: Vec<u32> = answer.split(' ').map(|pid| pid.parse().unwrap()).collect();
    assert_eq!(jobs.len(), 2, "{answer}");
    assert!(jobs.iter().all(|&pid| is_running(pid)), "{answer}");

    emulator.child.kill().unwrap();
    emulator.child.wait().unwrap();
    crate::support::eventually(PATIENCE, "the background jobs to be killed", || {
        jobs.iter().all(|&pid| !is_running(pid))
    })
    .await;
}
