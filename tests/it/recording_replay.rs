//! `gangway replay` of hand-made recordings in a real pseudo-terminal: seeking forward skips a
//! long wait, `q` quits before the end, and the terminal is given back either way; an
//! unreadable recording is a clear error.

use std::time::Duration;

use gangway::local::asciicast::{self, EventKind, Header};

use crate::support::aws_clients::ADMIN;
use crate::support::cli::TestHome;
use crate::support::emulator::gangway;
use crate::support::pty::{PtyConnect, modes};
use crate::support::unreachable_endpoint;

/// A recording of `frames` (seconds, output) in `home`'s recordings directory.
fn write_recording(home: &TestHome, frames: &[(u64, &str)]) -> std::path::PathBuf {
    let header = Header {
        version: 2,
        width: 80,
        height: 24,
        timestamp: Some(1_800_000_000),
        duration: None,
        title: None,
        env: Default::default(),
        gangway: None,
    };
    let mut text = asciicast::encode_header(&header);
    for (at, data) in frames {
        text.push_str(&asciicast::encode_event(
            Duration::from_secs(*at),
            &EventKind::Output,
            data,
        ));
    }
    std::fs::create_dir_all(home.recordings()).unwrap();
    let path = home
        .recordings()
        .join("20270115T080000Z-dev-0123456789abcdef0.cast");
    std::fs::write(&path, text).unwrap();
    path
}

fn replay(home: &TestHome, what: &str) -> PtyConnect {
    PtyConnect::spawn_command(
        &unreachable_endpoint(),
        ADMIN,
        "replay",
        &[what],
        &home.env(),
        (24, 80),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_forward_skips_the_wait() {
    let home = TestHome::new();
    // Ten minutes between the two frames: only seeking reaches the second within PATIENCE.
    let path = write_recording(&home, &[(0, "first-frame\r\n"), (600, "last-frame\r\n")]);
    // A fresh pseudo-terminal's modes: reading the player's own pty would race its raw mode.
    let (_fresh, fresh_pts) = pty_process::open().unwrap();
    let before = nix::sys::termios::tcgetattr(&fresh_pts).unwrap();
    let mut player = replay(&home, path.to_str().unwrap());
    player.expect("first-frame").await;
    // Each → moves 5 s; the player is at the end after 120 of them.
    for _ in 0..125 {
        player.write(b"\x1b[C").await;
    }
    player.expect("last-frame").await;
    assert_eq!(player.finish().await, 0, "{}", player.text());
    assert_eq!(modes(&player.termios()), modes(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_quits_before_the_end_and_restores_the_terminal() {
    let home = TestHome::new();
    // The recording turns on the alternate screen and mouse reporting: both go at the end.
    write_recording(
        &home,
        &[
            (0, "\u{1b}[?1049h\u{1b}[?1000hinside\r\n"),
            (600, "never-shown"),
        ],
    );
    let mut player = replay(&home, "dev-0123456789abcdef0");
    let before = player.termios();
    let at = player.expect("inside").await;
    player.write(b"q").await;
    assert_eq!(player.finish().await, 0, "{}", player.text());
    let after = String::from_utf8_lossy(&player.output[at..]).into_owned();
    assert!(!after.contains("never-shown"));
    assert!(
        after.contains("\u{1b}[?1049l"),
        "left the alternate screen: {after:?}"
    );
    assert!(
        after.contains("\u{1b}[?1000l"),
        "mouse reporting off: {after:?}"
    );
    assert_eq!(modes(&player.termios()), modes(&before));
}

#[test]
fn a_bad_recording_or_an_unknown_session_is_a_clear_error() {
    let home = TestHome::new();
    std::fs::create_dir_all(home.recordings()).unwrap();
    let bad = home.recordings().join("20270115T080000Z-dev-bad.cast");
    std::fs::write(
        &bad,
        "{\"version\": 2, \"width\": 80, \"height\": 24}\n[1, \"o\"]\n[2, \"o\", \"x\"]\n",
    )
    .unwrap();
    let out = gangway()
        .args(["replay", bad.to_str().unwrap()])
        .envs(home.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");

    let out = gangway()
        .args(["replay", "dev-fffffffffffffffff"])
        .envs(home.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no recording of session dev-fffffffffffffffff"),
        "{out:?}"
    );

    // Into a pipe, a replay is the output at once.
    write_recording(&home, &[(0, "a-"), (600, "b")]);
    let out = gangway()
        .args(["replay", "dev-0123456789abcdef0"])
        .envs(home.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"a-b");
}
