//! The emulator's Session Manager agent (issue 4), driven by a client built only from
//! `gangway::proto` and tokio-tungstenite, against an in-process emulator on 127.0.0.1:0.
//! StartSession/ResumeSession/TerminateSession go through the real aws-sdk-ssm client.

use std::time::Duration;

use gangway::emulator::sessions::SessionStatus;

use crate::support::agent_client::{
    Client, config, dial, instance_in, open_command, start_session,
};
use crate::support::aws_clients::{ADMIN, DEV, ssm};
use crate::support::emulator::{gangway, start};
use crate::support::{PATIENCE, eventually, unix_ms};

/// Whether a process with exactly this command line (arguments joined by spaces) runs.
fn running(command_line: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .any(|raw| {
            let args: Vec<&[u8]> = raw.split(|&b| b == 0).filter(|a| !a.is_empty()).collect();
            args.join(&b' ') == command_line.as_bytes()
        })
}

#[tokio::test]
async fn shell_runs_echo_resizes_takes_ctrl_c_and_exits_with_channel_closed() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let session_id = started.session_id.clone();
    let mut client = Client::open(dev, started).await;

    // No handshake for a shell: the prompt (showing the instance) is the first output.
    let host = target.name().unwrap().to_string();
    client.until_stdout_contains(&format!("@{host}$ ")).await;

    client.send(b"echo hello-$((6*7))\r");
    client.until_stdout_contains("hello-42").await;

    client.resize(40, 120);
    client.send(b"stty size\r");
    client.until_stdout_contains("40 120").await;

    // The emulator's shells are processes on this machine: wait until the sleep runs, so the
    // ^C interrupts it rather than the shell still reading the line. Its argument is unique, so
    // no other test (or run) has a process with that command line.
    let nap = format!("sleep 4000.{}{}", std::process::id(), unix_ms() % 1000);
    client.send(format!("{nap}\r").as_bytes());
    client.pump_until(PATIENCE, |_| running(&nap)).await;
    client.send(&[0x03]);
    client.send(b"echo rc=$?\r");
    // 130 = 128 + SIGINT: the byte reached the PTY and its line discipline made it a signal.
    client.until_stdout_contains("rc=130").await;
    eventually(PATIENCE, "the interrupted sleep to end", || !running(&nap)).await;

    client.send(b"exit\r");
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(output, "", "a normal exit closes with an empty Output");

    let state = emulator.state();
    eventually(PATIENCE, "the session to reach History", || {
        state.sessions.history().iter().any(|r| r.id == session_id)
    })
    .await;
    let record = state.sessions.get(&session_id).unwrap();
    assert_eq!(record.status, SessionStatus::Terminated);
    assert!(record.ended_at.is_some());
    assert_eq!(record.owner, "dev");
    assert!(record.end_reason.unwrap().contains("exited with code 0"));
}

fn with_timers(idle: Option<u64>, max: Option<u64>) -> gangway::emulator::EmulatorConfig {
    let mut config = config(6);
    config.idle_timeout = idle.map(Duration::from_secs);
    config.max_duration = max.map(Duration::from_secs);
    config
}

async fn open_shell(emulator: &gangway::emulator::RunningEmulator, key: &str) -> (Client, String) {
    let target = instance_in(emulator, "dev");
    let ssm = ssm(emulator, key);
    let started = start_session(&ssm, &target.id, None, None).await;
    let session_id = started.session_id.clone();
    let mut client = Client::open(ssm, started).await;
    client.until_stdout_contains("$ ").await;
    (client, session_id)
}

async fn history_reason(emulator: &gangway::emulator::RunningEmulator, session_id: &str) -> String {
    let state = emulator.state();
    eventually(PATIENCE, "the session to reach History", || {
        state.sessions.history().iter().any(|r| r.id == session_id)
    })
    .await;
    state.sessions.get(session_id).unwrap().end_reason.unwrap()
}

#[tokio::test]
async fn wrong_or_superseded_token_is_refused_before_any_shell_starts() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;

    let mut refused = dial(&started.stream_url, "not-the-token").await;
    let answer = tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut refused))
        .await
        .expect("the emulator answers a bad token");
    assert!(
        matches!(
            answer,
            None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))
        ),
        "a bad token must close the socket, got {answer:?}"
    );
    let state = emulator.state();
    assert_eq!(
        state.agents.running(),
        0,
        "no agent task for a refused socket"
    );
    assert_eq!(
        state.sessions.get(&started.session_id).unwrap().status,
        SessionStatus::Connecting
    );

    // The right token works, and after ResumeSession the old token no longer does.
    let old_token = started.token.clone();
    let stream_url = started.stream_url.clone();
    let mut client = Client::open(dev, started).await;
    client.until_stdout_contains("$ ").await;
    client.cut();
    client.send(b"echo resumed-$((40+2))\r");
    client.until_stdout_contains("resumed-42").await;
    assert_eq!(client.resumes, 1);
    let mut stale = dial(&stream_url, &old_token).await;
    let answer = tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut stale))
        .await
        .expect("the emulator answers a stale token");
    assert!(!matches!(
        answer,
        Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(_)))
    ));
    client.send(b"echo still-$((40+3))\r");
    client.until_stdout_contains("still-43").await;
}

#[tokio::test]
async fn idle_timeout_ends_the_session_with_its_reason() {
    let emulator = start(with_timers(Some(2), None)).await;
    let (mut client, session_id) = open_shell(&emulator, DEV).await;
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(
        output,
        "Session terminated: idle for 2 seconds (idle session timeout)."
    );
    assert_eq!(history_reason(&emulator, &session_id).await, output);
}

#[tokio::test]
async fn max_duration_ends_a_busy_session_with_its_reason() {
    let emulator = start(with_timers(Some(600), Some(3))).await;
    let (mut client, session_id) = open_shell(&emulator, DEV).await;
    // Output keeps the session from being idle; the maximum duration still applies.
    client.send(b"while true; do echo tick; sleep 0.2; done\r");
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(
        output,
        "Session terminated: reached the maximum session duration of 3 seconds."
    );
    assert_eq!(history_reason(&emulator, &session_id).await, output);
    let record = emulator.state().sessions.get(&session_id).unwrap();
    assert_eq!(record.status, SessionStatus::Terminated);
}

fn with_second_engineer() -> gangway::emulator::EmulatorConfig {
    use gangway::emulator::fleet::{Role, User};
    let mut config = config(6);
    config.fleet.users.push(User {
        scope: [("Env".to_string(), "dev".to_string())].into(),
        ..User::new("ops", "AKIAGANGWAYOPS", Role::Engineer)
    });
    config
}

#[tokio::test]
async fn terminate_session_by_owner_and_admin_works_and_by_another_engineer_is_denied() {
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    let emulator = start(with_second_engineer()).await;
    let (mut mine, my_id) = open_shell(&emulator, DEV).await;

    let ops = ssm(&emulator, "AKIAGANGWAYOPS");
    let denied = ops.terminate_session().session_id(&my_id).send().await;
    let err = denied.expect_err("another engineer may not end dev's session");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    mine.send(b"echo alive-$((1+1))\r");
    mine.until_stdout_contains("alive-2").await;

    mine.ssm
        .terminate_session()
        .session_id(&my_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        mine.until_closed(PATIENCE).await,
        "Session terminated by dev."
    );
    assert_eq!(
        history_reason(&emulator, &my_id).await,
        "Session terminated by dev."
    );

    let (mut other, other_id) = open_shell(&emulator, DEV).await;
    let admin = ssm(&emulator, ADMIN);
    admin
        .terminate_session()
        .session_id(&other_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.until_closed(PATIENCE).await,
        "Session terminated by admin."
    );
    let record = emulator.state().sessions.get(&other_id).unwrap();
    assert_eq!(record.status, SessionStatus::Terminated);
}

#[tokio::test]
async fn non_interactive_command_handshakes_and_merges_output_without_exit_code() {
    let emulator = start(config(6)).await;
    // AWS's document sets no separateOutputStream: one merged stream, no exit code (§6.2.1);
    // no shell either, so the script brings its own.
    let command = "sh -c 'echo out; echo err >&2; exit 3'";
    let mut client = open_command(&emulator, "AWS-StartNonInteractiveCommand", command).await;
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(output, "");
    assert_eq!(client.stdout, b"out\nerr\n");
    assert!(client.stderr.is_empty());
    assert_eq!(client.exit_code, None);
}

#[tokio::test]
async fn interactive_command_runs_on_a_pty_without_handshake() {
    let emulator = start(config(6)).await;
    let mut client = open_command(
        &emulator,
        "AWS-StartInteractiveCommand",
        "printf 'tty:'; tty -s && echo yes",
    )
    .await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.stdout_text().trim_end(), "tty:yes");
}

#[tokio::test]
async fn a_session_has_the_instance_s_host_name_where_the_machine_allows_it() {
    let emulator = start(config(6)).await;
    let name = instance_in(&emulator, "dev").name().unwrap().to_owned();
    // Both kinds of process: on a pty, and on pipes.
    for document in [
        "AWS-StartInteractiveCommand",
        "AWS-StartNonInteractiveCommand",
    ] {
        let mut client = open_command(&emulator, document, "uname -n").await;
        client.until_closed(PATIENCE).await;
        let expected = if gangway::emulator::agent::own_host_name::supported() {
            name.clone()
        } else {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap()
                .trim()
                .to_owned()
        };
        assert_eq!(client.stdout_text().trim_end(), expected, "{document}");
    }
}

#[tokio::test]
async fn garbage_is_dropped_and_an_abandoned_session_leaves_no_process_behind() {
    use gangway::emulator::agent::reaper::process_exists;
    let mut config = config(6);
    config.detached_grace = Duration::from_secs(1);
    let emulator = start(config).await;
    let (mut client, session_id) = open_shell(&emulator, DEV).await;

    client.send(b"sleep 1000 & echo pids $$ $! $((6*7))\r");
    client.until_stdout_contains(" 42\r\n").await;
    let text = client.stdout_text();
    let line = text.rsplit("pids ").next().unwrap();
    let pids: Vec<u32> = line
        .split_whitespace()
        .take(2)
        .map(|pid| pid.parse().unwrap())
        .collect();
    assert!(pids.iter().all(|&pid| process_exists(pid)));

    // Frames that do not decode are dropped and counted; the session carries on.
    client.send_garbage(vec![0xde, 0xad, 0xbe, 0xef]).await;
    client.send_garbage(vec![0u8; 500]).await;
    client.send(b"echo survived-$((2*3))\r");
    client.until_stdout_contains("survived-6").await;

    // The client vanishes for good: after the grace period everything is killed and reaped.
    client.auto_resume = false;
    client.cut();
    let reason = history_reason(&emulator, &session_id).await;
    assert!(reason.contains("no client connected"), "{reason}");
    eventually(PATIENCE, "the shell and its job to be reaped", || {
        pids.iter().all(|&pid| !process_exists(pid))
    })
    .await;
    assert_eq!(emulator.state().agents.running(), 0);
}

#[tokio::test]
async fn output_messages_never_split_a_utf8_character() {
    let emulator = start(config(6)).await;
    // 3 000 three-byte characters: a 1024-byte cut would land inside one unless avoided.
    let mut client = open_command(
        &emulator,
        "AWS-StartInteractiveCommand",
        "stty raw -echo; printf '€%.0s' $(seq 1 3000)",
    )
    .await;
    let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
    let sink = std::sync::Arc::clone(&messages);
    client.sink = Some(Box::new(move |bytes| {
        sink.lock().unwrap().push(bytes.to_vec())
    }));
    assert_eq!(client.until_closed(PATIENCE).await, "");
    let messages = messages.lock().unwrap();
    let joined: Vec<u8> = messages.concat();
    let expected = "€".repeat(3000).into_bytes();
    assert!(
        joined == expected,
        "got {} bytes, expected {}",
        joined.len(),
        expected.len()
    );
    assert!(
        messages.len() >= 9,
        "expected many messages, got {}",
        messages.len()
    );
    for message in messages.iter() {
        assert!(message.len() <= 1024);
        assert!(
            std::str::from_utf8(message).is_ok(),
            "a message splits a character"
        );
    }
}

#[tokio::test]
async fn ctrl_c_reaches_a_non_interactive_command_as_sigint() {
    let emulator = start(config(6)).await;
    let mut client = open_command(
        &emulator,
        "AWS-StartNonInteractiveCommand",
        "sh -c 'touch started; exec sleep 1000'",
    )
    .await;
    // Merged output only arrives after the exit, so the start is seen in the home directory.
    let home = gangway::emulator::agent::homes_root();
    // The client must keep pumping: the handshake comes before the spawn.
    client
        .pump_until(PATIENCE, |_| {
            std::fs::read_dir(&home)
                .into_iter()
                .flatten()
                .flatten()
                .any(|dir| dir.path().join("started").exists())
        })
        .await;
    client.send(&[0x03]);
    // SIGINT ended it (else it would sleep on); AWS's document sends no exit code (§6.2.1).
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.exit_code, None);
}

#[tokio::test]
async fn bash_runs_when_the_fleet_asks_for_it() {
    if !std::path::Path::new("/bin/bash").exists()
        && !std::path::Path::new("/usr/bin/bash").exists()
    {
        eprintln!("skipped: no bash on this machine");
        return;
    }
    let mut config = config(6);
    for instance in &mut config.fleet.instances {
        instance.shell = "bash".into();
    }
    let emulator = start(config).await;
    let (mut client, _) = open_shell(&emulator, DEV).await;
    client.send(b"echo \"shell=${BASH_VERSION:+bash}\"\r");
    client.until_stdout_contains("shell=bash").await;
}

#[tokio::test]
async fn a_client_that_stops_reading_does_not_slow_other_sessions() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    // This client opens a session that prints forever and then never reads its socket.
    let flood = start_session(
        &dev,
        &target.id,
        Some("AWS-StartInteractiveCommand"),
        Some("yes"),
    )
    .await;
    let _stuck = dial(&flood.stream_url, &flood.token).await;

    let (mut healthy, _) = open_shell(&emulator, DEV).await;
    for round in 0..20 {
        healthy.send(
            format!("echo round-{round}-$((round*0+{round}))\r")
                .replace("round*0+", "")
                .as_bytes(),
        );
        healthy
            .until_stdout_contains(&format!("round-{round}-{round}"))
            .await;
    }
}

#[tokio::test]
async fn emulator_shutdown_ends_sessions_and_reaps_their_shells() {
    use gangway::emulator::agent::reaper::process_exists;
    let emulator = start(config(6)).await;
    let (mut client, _) = open_shell(&emulator, DEV).await;
    client.send(b"echo pid $$ $((6*7))\r");
    client.until_stdout_contains(" 42\r\n").await;
    let text = client.stdout_text();
    let pid: u32 = text
        .rsplit("pid ")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(process_exists(pid));
    emulator.shutdown().await;
    eventually(PATIENCE, "the shell to be reaped after shutdown", || {
        !process_exists(pid)
    })
    .await;
}

#[tokio::test]
async fn a_plain_get_on_the_stream_url_is_not_a_websocket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emulator = start(config(3)).await;
    let mut tcp = tokio::net::TcpStream::connect(emulator.local_addr)
        .await
        .unwrap();
    tcp.write_all(b"GET /v1/data-channel/dev-0123456789abcdef0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("websocket"));
}

#[test]
fn a_bad_faults_spec_is_refused_with_a_clear_message() {
    let output = gangway()
        .args([
            "emulator",
            "--instances",
            "3",
            "--faults",
            "drop=0.1,lose=0.2",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid --faults") && stderr.contains("unknown fault `lose`"),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "no endpoint line for a refused start"
    );
}

/// The tail of a fast writer's output must arrive before channel_closed: when the command
/// exits with output still in the PTY, the agent reads the PTY to its end first (nothing
/// is lost). Several sessions at once, several rounds, so the exit often races the reader.
#[tokio::test]
async fn output_written_just_before_exit_all_arrives_before_channel_closed() {
    const SIZE: usize = 2_000_000;
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    for round in 0..3 {
        let mut clients = Vec::new();
        for _ in 0..4 {
            let dev = ssm(&emulator, DEV);
            let command = format!("stty raw -echo; printf READY; head -c {SIZE} /dev/zero");
            let started = start_session(
                &dev,
                &target.id,
                Some("AWS-StartInteractiveCommand"),
                Some(&command),
            )
            .await;
            clients.push(Client::open(dev, started).await);
        }
        let runs = clients.into_iter().map(|mut client| async move {
            let output = client.until_closed(PATIENCE).await;
            (output, client.stdout.len())
        });
        for (index, (output, received)) in futures_util::future::join_all(runs)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(output, "", "round {round} session {index}");
            assert_eq!(
                received,
                SIZE + "READY".len(),
                "round {round} session {index}: bytes before channel_closed"
            );
        }
    }
}
