//! What a new user sees when starting gangway the wrong way (issue 16, bug 10).
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::emulator::GANGWAY;

fn isolated(command: &mut Command) -> &mut Command {
    let home = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-startup-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    command
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

#[tokio::test]
async fn the_ui_without_a_terminal_says_what_to_use_instead() {
    for args in [&["demo"][..], &[]] {
        let run = isolated(Command::new(GANGWAY).args(args))
            .stdin(Stdio::null())
            .output();
        let out = tokio::time::timeout(PATIENCE, run).await.unwrap().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("needs a terminal"), "{args:?}: {stderr}");
        assert!(stderr.contains("gangway connect"), "{args:?}: {stderr}");
        assert!(!stderr.contains("os error"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn emulator_logs_to_a_pipe_carry_no_colour_codes() {
    let mut child = isolated(Command::new(GANGWAY).args(["emulator", "--listen", "127.0.0.1:0"]))
        .env("GANGWAY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // The first log line is the "serving … instances" one, written once the port is bound.
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("no log line")
        .unwrap()
        .expect("emulator exited");
    assert!(line.contains("INFO"), "{line}");
    assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
}
