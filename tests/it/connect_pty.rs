//! `gangway connect` in a real pseudo-terminal against a spawned `gangway emulator`:
//! by id, by Name, by tag; commands and their output; resize; Ctrl-C; exit status; the
//! idle timeout's channel_closed reason; terminal modes restored on every exit.

use crate::support::aws_clients::ADMIN;
use crate::support::cli::online_instance;
use crate::support::emulator::{spawn, spawn_fleet};
use crate::support::pty::{PtyConnect, modes};

/// A unique marker computed remotely, so the typed command's echo never matches it.
const SUM_COMMAND: &[u8] = b"echo marker-$((40+2))\r";
const SUM_OUTPUT: &str = "marker-42";

async fn exit_cleanly(session: &mut PtyConnect, before: &nix::sys::termios::Termios) {
    session.write(b"exit\r").await;
    let status = session.finish().await;
    assert_eq!(status, 0, "output: {}", session.text());
    assert!(session.text().contains("Exiting session with sessionId:"));
    // The AWS CLI's first line names the session (issue 16), the same id as the last one.
    let text = session.text();
    let id_after = |marker: &str| {
        text.split(marker)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|id| id.trim_end_matches('.').to_owned())
    };
    let started = id_after("Starting session with SessionId: ");
    assert!(started.is_some(), "{text}");
    assert_eq!(
        started,
        id_after("Exiting session with sessionId: "),
        "{text}"
    );
    assert_eq!(
        modes(&session.termios()),
        modes(before),
        "terminal modes not restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_by_id_name_and_tag() {
    let emulator = spawn(&["--instances", "6"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap().to_owned();
    let name = instance["name"].as_str().unwrap().to_owned();
    let name_tag = format!("tag:Name={name}");
    for target in [id.as_str(), name.as_str(), name_tag.as_str()] {
        let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[target], 24, 80).await;
        let before = session.termios();
        session.write(SUM_COMMAND).await;
        session.expect(SUM_OUTPUT).await;
        exit_cleanly(&mut session, &before).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_reaches_the_remote_pty() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 40, 120).await;
    let before = session.termios();
    // The first input after open is the real size (§6.1), not 80x24.
    session.write(b"echo size-$(stty size | tr ' ' x)\r").await;
    session.expect("size-40x120").await;
    session.pty.resize(pty_process::Size::new(33, 101)).unwrap();
    // SIGWINCH → Size message → the remote pty; poll until it shows (no timing assumption).
    let mut seen = false;
    for _ in 0..50 {
        session.write(b"echo size-$(stty size | tr ' ' x)\r").await;
        let at = session.expect("size-").await;
        let after = session.expect_from(at, "\n").await;
        let line = String::from_utf8_lossy(&session.output[at..after]).to_string();
        if line.starts_with("33x101") {
            seen = true;
            break;
        }
    }
    assert!(seen, "resize never arrived: {}", session.text());
    exit_cleanly(&mut session, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_interrupts_a_remote_sleep() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
    let before = session.termios();
    session
        .write(b"echo start-$((1+1)); sleep 600; echo slept-$((1+1))\r")
        .await;
    session.expect("start-2").await;
    // Raw mode: 0x03 goes to the remote pty as a byte, where it becomes SIGINT.
    session.write(b"\x03").await;
    session.write(b"echo after-$((2+3))\r").await;
    session.expect("after-5").await;
    assert!(!session.text().contains("slept-2"));
    exit_cleanly(&mut session, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_prints_the_reason_and_restores_the_terminal() {
    let emulator = spawn(&["--instances", "3", "--idle-timeout", "2"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
    let before = session.termios();
    session.write(SUM_COMMAND).await;
    session.expect(SUM_OUTPUT).await;
    let status = session.finish().await;
    assert_eq!(
        status,
        i32::from(gangway::commands::exit::TERMINATED),
        "{}",
        session.text()
    );
    assert!(
        session.text().contains("idle"),
        "no reason shown: {}",
        session.text()
    );
    assert_eq!(
        modes(&session.termios()),
        modes(&before),
        "terminal modes not restored"
    );
}

/// A fleet with one instance and a session document that sets separateOutputStream: on AWS
/// (and in the emulator) only such a NonInteractiveCommands document returns the remote exit
/// status (protocol.md §6.2.1, quirk 27).
const EXEC_FLEET: &str = r#"
[[instances]]
id = "i-0e0e0e0e0e0e0e0e1"
name = "exec-1"

[[documents]]
name = "gangway-exec"
sessionType = "NonInteractiveCommands"
[documents.parameters.command]
type = "String"
[documents.properties.linux]
commands = "{{ command }}"
separateOutputStream = true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_exit_code_is_returned() {
    let emulator = spawn_fleet(EXEC_FLEET, &[]);
    // No shell runs the command: the agent splits it and execs the words (§6.2.1).
    let args = [
        "i-0e0e0e0e0e0e0e0e1",
        "--document",
        "gangway-exec",
        "--parameter",
        "command=sh -c 'echo non-interactive; exit 3'",
    ];
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &args, 24, 80).await;
    let before = session.termios();
    session.expect("non-interactive").await;
    let status = session.finish().await;
    assert_eq!(status, 3, "{}", session.text());
    assert_eq!(modes(&session.termios()), modes(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_restore_the_terminal() {
    use nix::sys::signal::Signal;

    use crate::support::cli::send_signal;

    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    for (signal, status) in [(Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
        let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
        let before = session.termios();
        session.write(SUM_COMMAND).await;
        session.expect(SUM_OUTPUT).await;
        send_signal(&session.child, signal);
        assert_eq!(session.finish().await, status, "{}", session.text());
        assert_eq!(
            modes(&session.termios()),
            modes(&before),
            "{signal} left raw mode on"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_ends_with_its_status_and_restores_the_terminal() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
    let before = session.termios();
    session.write(SUM_COMMAND).await;
    session.expect(SUM_OUTPUT).await;
    // The whole service goes away: every ResumeSession attempt fails.
    drop(emulator);
    let status = session.finish().await;
    assert_eq!(
        status,
        i32::from(gangway::commands::exit::CONNECTION_LOST),
        "{}",
        session.text()
    );
    assert!(session.text().contains("lost"), "{}", session.text());
    // Resuming took more than a moment, so the user was told why the screen froze.
    assert!(
        session
            .text()
            .contains("[gangway: connection lost; resuming the session"),
        "{}",
        session.text()
    );
    assert_eq!(modes(&session.termios()), modes(&before));
}
