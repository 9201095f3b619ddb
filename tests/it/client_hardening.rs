//! `gangway connect` on every way out (issue 17, the client's findings; issue 16, bug 2):
//! memory bounded while stdout is not read (F5), every signal that ends or stops it handled
//! (F7), a closed output pipe, a websocket that never opens (F10), and the screen modes a
//! remote full-screen program left on.

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ssm::types::SessionState;
use gangway::commands::exit;
use nix::sys::signal::{Signal, kill};
use nix::sys::termios::LocalFlags;
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::aws_clients::{
    ADMIN, only_active_session, sessions_in, ssm_at, until_terminated,
};
use crate::support::cli::{aws_env, exited, online_instance, pid_of, send_signal, spawn_piped};
use crate::support::emulator::{GANGWAY, spawn};
use crate::support::pty::{PtyConnect, modes};

/// Far below the emulator's detached grace (60 s): only a TerminateSession ends a session
/// this soon.
const ENDED_WITHIN: Duration = Duration::from_secs(20);

const SUM_COMMAND: &[u8] = b"echo marker-$((40+2))\r";
const SUM_OUTPUT: &str = "marker-42";

/// Resident memory of `pid` in KiB: (VmRSS, VmHWM), or None once it has exited.
fn resident_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

const UNREAD_BYTES: usize = 256 << 20;
/// Where gangway's resident memory must stay while 256 MiB wait behind an unread stdout.
/// It buffered all of it before (issue 17, F5: 1.17 GB for 1 GiB); now it holds at most its
/// backlog (4 MiB), the agent's send window (4096 frames) and one write batch.
const PEAK_RSS_BOUND_KIB: u64 = 96 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_stdout_holds_the_agent_back_instead_of_buffering() {
    // Benchmark pace: the agent sends as fast as gangway takes, the worst case for memory.
    let emulator = spawn(&["--instances", "3", "--agent-pace", "off"]);
    let instance = online_instance(&emulator.endpoint).await;
    let command = format!("command=stty raw -echo; printf READY; head -c {UNREAD_BYTES} /dev/zero");
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .args(["connect", instance["id"].as_str().unwrap()])
            .args([
                "--document",
                "AWS-StartInteractiveCommand",
                "--parameter",
                &command,
            ])
            .envs(aws_env(&emulator.endpoint, ADMIN)),
    );
    let pid = child.id().unwrap();
    // Held open and silent: an EOT from a closed stdin would be echoed before `stty`.
    let _stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();

    // 20 s with stdout unread, sampled every 200 ms (a bounded window, not a wait).
    let mut peak_kib = 0;
    for _ in 0..100 {
        let (rss, hwm) = resident_kib(pid).expect("gangway exited while its stdout was unread");
        peak_kib = peak_kib.max(rss).max(hwm);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let paused_peak_kib = peak_kib;

    let sampler = tokio::spawn(async move {
        let mut peak_kib = 0;
        while let Some((rss, hwm)) = resident_kib(pid) {
            peak_kib = peak_kib.max(rss).max(hwm);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peak_kib
    });
    let mut out = Vec::with_capacity(UNREAD_BYTES + 16);
    tokio::time::timeout(PATIENCE * 5, stdout.read_to_end(&mut out))
        .await
        .expect("output never ended")
        .unwrap();
    let (status, stderr) = exited(&mut child, PATIENCE, "gangway did not exit").await;
    let peak_kib = peak_kib.max(sampler.await.unwrap());
    eprintln!(
        "unread stdout: peak VmRSS/VmHWM {peak_kib} KiB ({paused_peak_kib} KiB while paused), \
         bound {PEAK_RSS_BOUND_KIB} KiB"
    );
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    let body = out.strip_prefix(b"READY").expect("READY first");
    assert_eq!(body.len(), UNREAD_BYTES, "stderr: {stderr}");
    assert!(body.iter().all(|b| *b == 0), "not the zeros sent");
    assert!(
        peak_kib < PEAK_RSS_BOUND_KIB,
        "gangway held {peak_kib} KiB resident ({paused_peak_kib} KiB while stdout was unread)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigquit_restore_the_terminal_and_end_the_session() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    for (signal, status) in [(Signal::SIGINT, 130), (Signal::SIGQUIT, 131)] {
        let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
        let before = session.termios();
        session.write(SUM_COMMAND).await;
        session.expect(SUM_OUTPUT).await;
        let session_id = only_active_session(&ssm).await;
        send_signal(&session.child, signal);
        assert_eq!(session.finish().await, status, "{}", session.text());
        assert_eq!(
            modes(&session.termios()),
            modes(&before),
            "{signal} left raw mode on"
        );
        until_terminated(&ssm, ENDED_WITHIN, &session_id).await;
    }
}

/// The state letter of `pid` in /proc/PID/stat ('T' when stopped).
fn process_state(pid: Pid) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name is in parentheses and may hold spaces: the state follows the last ')'.
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.trim_start().chars().next().unwrap()
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigtstp_restores_the_terminal_and_fg_enters_raw_mode_again() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
    let before = session.termios();
    session.write(SUM_COMMAND).await;
    session.expect(SUM_OUTPUT).await;
    let raw = modes(&session.termios());
    assert_ne!(raw, modes(&before), "not in raw mode to begin with");
    let pid = pid_of(&session.child);

    kill(pid, Signal::SIGTSTP).unwrap();
    until("gangway to stop", || process_state(pid) == 'T').await;
    assert_eq!(
        modes(&session.termios()),
        modes(&before),
        "stopped with the terminal left raw"
    );

    // What a shell's `fg` does to the terminal: its own (cooked) modes, then SIGCONT.
    nix::sys::termios::tcsetattr(&session.pts, nix::sys::termios::SetArg::TCSANOW, &before)
        .unwrap();
    kill(pid, Signal::SIGCONT).unwrap();
    until("raw mode after SIGCONT", || {
        !session
            .termios()
            .local_flags
            .intersects(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG)
    })
    .await;
    assert_eq!(modes(&session.termios()), raw);

    // Raw again: Ctrl-C is a byte for the remote shell, and nothing is echoed locally.
    let at = session.output.len();
    session
        .write(b"echo start-$((1+1)); sleep 600; echo slept-$((1+1))\r")
        .await;
    let at = session.expect_from(at, "start-2").await;
    session.write(b"\x03").await;
    session.write(b"echo again-$((2+3))\r").await;
    session.expect_from(at, "again-5").await;
    assert!(!session.text().contains("slept-2"));
    session.write(b"exit\r").await;
    assert_eq!(session.finish().await, 0, "{}", session.text());
    assert_eq!(modes(&session.termios()), modes(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_output_pipe_exits_141_and_ends_the_session() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .args(["connect", instance["id"].as_str().unwrap()])
            .args([
                "--document",
                "AWS-StartInteractiveCommand",
                "--parameter",
                "command=yes",
            ])
            .envs(aws_env(&emulator.endpoint, ADMIN)),
    );
    let _stdin = child.stdin.take().unwrap();
    // `| head -c 10`: ten bytes, then the reader is gone.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    tokio::time::timeout(PATIENCE, stdout.read_exact(&mut first))
        .await
        .expect("no output")
        .unwrap();
    let session_id = only_active_session(&ssm).await;
    drop(stdout);
    let (status, stderr) = exited(
        &mut child,
        PATIENCE,
        "gangway kept running with its output closed",
    )
    .await;
    assert_eq!(
        status.code(),
        Some(i32::from(exit::BROKEN_PIPE)),
        "stderr: {stderr}"
    );
    until_terminated(&ssm, ENDED_WITHIN, &session_id).await;
}

/// A TCP forwarder to `upstream` that answers every data-channel websocket upgrade 503:
/// the API works, the StreamUrl it hands out (this forwarder's address, the one the client
/// used) cannot be opened.
async fn refusing_websockets(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut first = vec![0u8; 64 * 1024];
                let Ok(n) = client.read(&mut first).await else {
                    return;
                };
                if first[..n].starts_with(b"GET /v1/data-channel/") {
                    let _ = client
                        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                if server.write_all(&first[..n]).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_websocket_never_opens_is_terminated() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let upstream = emulator.endpoint.trim_start_matches("http://").to_owned();
    let endpoint = refusing_websockets(upstream).await;
    let out = tokio::time::timeout(
        PATIENCE,
        Command::new(GANGWAY)
            .args(["connect", instance["id"].as_str().unwrap()])
            .envs(aws_env(&endpoint, ADMIN))
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("connect hung")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit::COULD_NOT_START)),
        "{stderr}"
    );
    // Nothing left Connecting: the one session gangway started is Terminated, at once.
    let active = sessions_in(&ssm, SessionState::Active).await;
    assert!(active.is_empty(), "left behind: {active:?}");
    let history = sessions_in(&ssm, SessionState::History).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].1, "Terminated", "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_from_outside_leaves_no_screen_modes_on() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let (rows, cols) = (24, 80);
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], rows, cols).await;
    // What vi does on start: the alternate screen, mouse reporting, keypad and cursor keys
    // in application mode, bracketed paste, the cursor hidden.
    session
        .write(b"printf '\\033[?1049h\\033[?1000h\\033[?1006h\\033[?2004h\\033[?1h\\033=\\033[?25l'; echo full-$((6*7))\r")
        .await;
    session.expect("full-42").await;
    let session_id = only_active_session(&ssm).await;
    ssm.terminate_session()
        .session_id(&session_id)
        .send()
        .await
        .unwrap();
    let status = session.finish().await;
    assert_eq!(status, i32::from(exit::TERMINATED), "{}", session.text());

    let nonzero = |n| std::num::NonZeroU16::new(n).unwrap();
    let mut screen = vt100::Parser::new(nonzero(rows), nonzero(cols), 0);
    screen.process(&session.output);
    let screen = screen.screen();
    assert!(!screen.alternate_screen(), "still on the alternate screen");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse reporting still on"
    );
    assert!(!screen.bracketed_paste(), "bracketed paste still on");
    assert!(
        !screen.application_cursor(),
        "cursor keys still in application mode"
    );
    assert!(
        !screen.application_keypad(),
        "keypad still in application mode"
    );
    assert!(!screen.hide_cursor(), "cursor still hidden");
    // The last line is on the normal screen, where the user reads it.
    assert!(
        screen
            .contents()
            .contains(&format!("Session {session_id} ended")),
        "{}",
        screen.contents()
    );
}
