//! The emulator's agent runs processes and ends sessions as the real agent does (issue 11,
//! protocol.md §0 items 9–13): shells never send an exit code, NonInteractiveCommands execs
//! its split command and sends stderr apart plus an exit code only with separateOutputStream,
//! and shell-type sessions ack and ignore the TerminateSession flag; and shell output goes
//! through the agent's UTF-8 scan, which is not binary-safe (protocol.md §5.3).

use std::time::{Duration, Instant};

use gangway::emulator::EmulatorConfig;
use gangway::emulator::fleet::Fleet;
use gangway::proto::PayloadFlag;

use crate::support::PATIENCE;
use crate::support::agent_client::*;
use crate::support::aws_clients::{DEV, ssm};
use crate::support::emulator::start;

/// A custom session document as a test (or `gangway setup`) would create it.
const EXEC_DOCUMENT: &str = r#"
[[documents]]
name = "gangway-exec"
sessionType = "NonInteractiveCommands"
[documents.parameters.command]
type = "String"
[documents.properties.linux]
commands = "{{ command }}"
runAsElevated = false
separateOutputStream = true
"#;

fn config_with_exec_document() -> EmulatorConfig {
    let mut fleet = Fleet::generated(6);
    let custom = Fleet::from_toml(EXEC_DOCUMENT, "inline").unwrap();
    fleet.documents.extend(
        custom
            .documents
            .into_iter()
            .filter(|document| document.name == "gangway-exec"),
    );
    EmulatorConfig::new(fleet)
}

#[tokio::test]
async fn a_shell_never_sends_an_exit_code() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let mut client = Client::open(dev, started).await;
    client.send(b"echo ready-$((6*7))\r");
    client.until_stdout_contains("ready-42").await;
    client.send(b"exit 3\r");
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(
        client.exit_code, None,
        "a shell's status is never read (§6.1)"
    );
}

#[tokio::test]
async fn aws_non_interactive_command_merges_output_after_exit_without_exit_code() {
    let emulator = start(config(6)).await;
    // No shell on the agent: the line is split (google/shlex) and exec'd, so the script
    // needs its own `sh -c`.
    let command = "sh -c 'echo out; echo err >&2; sleep 1; exit 3'";
    let opened = Instant::now();
    let mut client = open_command(&emulator, "AWS-StartNonInteractiveCommand", command).await;
    client.pump_until(PATIENCE, |c| !c.stdout.is_empty()).await;
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "output arrived while the command still ran ({:?})",
        opened.elapsed()
    );
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(
        client.stdout, b"out\nerr\n",
        "stdout and stderr share one file"
    );
    assert!(
        client.stderr.is_empty(),
        "no PT 11 without separateOutputStream"
    );
    assert_eq!(
        client.exit_code, None,
        "no PT 12 without separateOutputStream"
    );
}

#[tokio::test]
async fn non_interactive_command_has_no_shell() {
    let emulator = start(config(6)).await;
    // `;` and `$X` are plain words to echo once there is no shell.
    let mut client =
        open_command(&emulator, "AWS-StartNonInteractiveCommand", "echo a; $HOME").await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.stdout_text(), "a; $HOME\n");
}

#[tokio::test]
async fn a_separate_output_stream_document_sends_stderr_and_the_exit_code() {
    let emulator = start(config_with_exec_document()).await;
    let command = "sh -c 'echo out; echo err >&2; exit 3'";
    let mut client = open_command(&emulator, "gangway-exec", command).await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.stdout, b"out\n");
    assert_eq!(client.stderr, b"err\n");
    assert_eq!(client.exit_code, Some(3));
}

#[tokio::test]
async fn ctrl_c_kills_a_separate_output_stream_command_with_exit_code_minus_one() {
    let emulator = start(config_with_exec_document()).await;
    let command = "sh -c 'echo started; exec sleep 1000'";
    let mut client = open_command(&emulator, "gangway-exec", command).await;
    client.until_stdout_contains("started").await;
    client.send(&[0x03]);
    assert_eq!(client.until_closed(PATIENCE).await, "");
    // Go's ExitCode() of a process killed by a signal (§6.2.1).
    assert_eq!(client.exit_code, Some(-1));
}

#[tokio::test]
async fn a_shell_acks_and_ignores_the_terminate_session_flag() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let mut client = Client::open(dev, started).await;
    client.send(b"echo before-$((2*3))\r");
    client.until_stdout_contains("before-6").await;
    client
        .session
        .send_flag(Instant::now(), PayloadFlag::TerminateSession)
        .unwrap();
    // Acked (nothing left to resend) and the session carries on.
    client
        .pump_until(PATIENCE, |c| c.session.unacked_count() == 0)
        .await;
    client.send(b"echo after-$((3*4))\r");
    client.until_stdout_contains("after-12").await;
    assert!(client.closed.is_none());
}

#[tokio::test]
async fn aws_non_interactive_command_takes_separate_output_stream_as_a_parameter() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let response = dev
        .start_session()
        .target(&target.id)
        .document_name("AWS-StartNonInteractiveCommand")
        .parameters(
            "command",
            vec!["sh -c 'echo out; echo err >&2; exit 4'".into()],
        )
        .parameters("separateOutputStream", vec!["true".into()])
        .send()
        .await
        .unwrap();
    let started = StartedSession {
        session_id: response.session_id().unwrap().to_string(),
        token: response.token_value().unwrap().to_string(),
        stream_url: response.stream_url().unwrap().to_string(),
    };
    let mut client = Client::open(dev, started).await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.stdout, b"out\n");
    assert_eq!(client.stderr, b"err\n");
    assert_eq!(client.exit_code, Some(4));
}

/// The real agent scans a shell's output as UTF-8 before sending it (agent:
/// agent/session/shell/shell.go, func processStdoutData): an undecodable byte passes
/// unchanged, but a valid U+FFFD (EF BF BD) is taken for one and only its first byte is sent.
#[tokio::test]
async fn shell_output_goes_through_the_agent_s_utf8_scan() {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let mut client = Client::open(dev, started).await;
    // Typed as ASCII escapes (the echo of the line holds no such bytes); printf writes them.
    client.send(b"printf 'A\\377B|\\357\\277\\275|END-%d\\n' 7\r");
    client.until_stdout_contains("END-7").await;
    let output = &client.stdout;
    let has = |needle: &[u8]| output.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"A\xFFB|\xEF|END-7"), "{output:?}");
    assert!(!has(b"\xEF\xBF\xBD"), "{output:?}");
}

/// What the scan holds back at the end of the output (a RuneError within the last 3 bytes
/// of a read, waiting for more) is never sent: the command's last byte, 0xFF, is lost.
#[tokio::test]
async fn an_undecodable_last_byte_of_command_output_is_lost_as_on_the_agent() {
    let emulator = start(config(6)).await;
    let mut client = open_command(
        &emulator,
        "AWS-StartNonInteractiveCommand",
        "printf 'done\\377'",
    )
    .await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.stdout, b"done");
}
