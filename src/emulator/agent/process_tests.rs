#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::process::{AgentPace, LaunchSpec, Output, Process, Program, Separators};
use super::reaper::process_exists;

fn spec(program: Program) -> LaunchSpec {
    let home = std::env::temp_dir().join(format!("gangway-process-test-{}", std::process::id()));
    LaunchSpec {
        program,
        home,
        host_name: "web-1".into(),
        pace: AgentPace::Agent,
        hops: None,
    }
}

/// Reads stdout until `needle` shows up (or panics after a generous limit).
async fn read_until(process: &mut Process, needle: &str) -> String {
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(output) = process.next_output().await {
            if let Output::Stdout(bytes) = output {
                seen.push_str(&String::from_utf8_lossy(&bytes));
                if seen.contains(needle) {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "never saw {needle:?} in {seen:?}");
    seen
}

#[tokio::test]
async fn pty_shell_runs_commands_resizes_and_shows_the_instance() {
    let mut shell = Process::spawn(&spec(Program::Shell {
        path: "/bin/sh".into(),
    }))
    .unwrap();
    read_until(&mut shell, "web-1").await;
    shell.resize(33, 111);
    shell.write_input(b"echo \"h=$HOSTNAME t=$TERM\"; stty size\r".to_vec());
    read_until(&mut shell, "33 111").await;
    shell.write_input(b"exit 7\r".to_vec());
    assert_eq!(shell.wait_exit().await, Some(7));
}

#[tokio::test]
async fn ctrl_c_byte_interrupts_a_sleep_on_the_pty() {
    let mut shell = Process::spawn(&spec(Program::Shell {
        path: "/bin/sh".into(),
    }))
    .unwrap();
    read_until(&mut shell, "$ ").await;
    shell.write_input(b"sleep 1000\r".to_vec());
    // The line discipline echoes the line before the shell has even read it, so the echo
    // says nothing about `sleep`: a 0x03 that came before `sleep` was the terminal's
    // foreground job went to the shell (and flushed the unread line) instead.
    read_until(&mut shell, "sleep 1000\r\n").await;
    let shell_pid = shell.pid();
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while !sleep_in_foreground(shell_pid) {
        assert!(
            std::time::Instant::now() < give_up,
            "`sleep` never became the foreground job of the shell's terminal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shell.write_input(vec![0x03]);
    read_until(&mut shell, "$ ").await;
    // 130 = 128 + SIGINT: the line discipline turned the byte into a signal.
    shell.write_input(b"echo after-$?\r".to_vec());
    read_until(&mut shell, "after-130").await;
}

/// Whether a process named `sleep` (so past its exec, with the default SIGINT action) runs
/// in the terminal session led by `session` as the terminal's foreground process group:
/// where a 0x03 typed on the PTY sends its SIGINT. Fields of /proc/PID/stat after the
/// command name: state, ppid, pgrp, session, tty_nr, tpgid (proc(5)).
fn sleep_in_foreground(session: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            return false;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let number = |at: usize| fields.get(at).and_then(|f| f.parse::<i64>().ok());
        &stat[open + 1..close] == "sleep"
            && number(3) == Some(i64::from(session))
            && number(2).is_some()
            && number(2) == number(5)
    })
}

#[tokio::test]
async fn killing_reaps_the_shell_and_its_background_jobs() {
    let mut shell = Process::spawn(&spec(Program::Shell {
        path: "/bin/sh".into(),
    }))
    .unwrap();
    read_until(&mut shell, "$ ").await;
    shell.write_input(b"sleep 1000 & echo bg=$! $((6*7))\r".to_vec());
    let seen = read_until(&mut shell, " 42\r\n").await;
    let background: u32 = seen
        .rsplit("bg=")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no background pid in {seen:?}"));
    let shell_pid = shell.pid();
    drop(shell);
    for _ in 0..200 {
        if !process_exists(shell_pid) && !process_exists(background) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("shell {shell_pid} or background {background} still exists");
}

fn sh_c(script: &str, separators: Option<Separators>) -> Program {
    let argv = ["sh", "-c", script].map(str::to_string).to_vec();
    Program::Exec { argv, separators }
}

async fn collect(child: &mut Process) -> (Vec<u8>, Vec<u8>) {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(output) = child.next_output().await {
        match output {
            Output::Stdout(bytes) => stdout.extend(bytes),
            Output::Stderr(bytes) => stderr.extend(bytes),
            Output::Flag(flag) => panic!("a process sent {flag:?}"),
        }
    }
    (stdout, stderr)
}

#[tokio::test]
async fn separate_streams_keep_stderr_apart_with_prefixes_and_report_exit_code() {
    let separators = Separators {
        stdout_prefix: "O:".into(),
        stderr_prefix: String::new(),
    };
    let script = "echo out; echo err >&2; exit 3";
    let mut child = Process::spawn(&spec(sh_c(script, Some(separators)))).unwrap();
    let (stdout, stderr) = collect(&mut child).await;
    assert_eq!(stdout, b"O:out\n");
    assert_eq!(stderr, b"err\n");
    assert_eq!(child.wait_exit().await, Some(3));
}

#[tokio::test]
async fn merged_output_comes_only_after_the_exit() {
    let script = "echo out; echo err >&2; sleep 0.3; echo late; exit 3";
    let mut child = Process::spawn(&spec(sh_c(script, None))).unwrap();
    let started = std::time::Instant::now();
    let first = child.next_output().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "output before exit"
    );
    let Output::Stdout(mut stdout) = first else {
        panic!("stderr in merged mode");
    };
    let (rest, stderr) = collect(&mut child).await;
    stdout.extend(rest);
    assert_eq!(stdout, b"out\nerr\nlate\n");
    assert!(stderr.is_empty());
    assert_eq!(child.wait_exit().await, Some(3));
}
