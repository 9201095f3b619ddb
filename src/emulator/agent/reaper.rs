//! Killing everything a session started, so no shell or PTY outlives its session (issue 4).
//!
//! A PTY shell is a session leader (pty-process calls `setsid`), and bash with job control puts
//! each job in its own process group, so killing one group is not enough: we kill every
//! process whose session id or process group id is the child's pid. A piped command is put in
//! its own process group, which the same rule covers. The child itself is reaped by the task
//! that waits on it (see `process.rs`).

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// Sends SIGKILL to the child and every process in its session or process group.
pub fn kill_process_tree(leader_pid: u32) {
    let Ok(leader) = i32::try_from(leader_pid) else {
        return;
    };
    for pid in processes_led_by(leader) {
        // Ignore errors: the process may already be gone.
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = killpg(Pid::from_raw(leader), Signal::SIGKILL);
    let _ = kill(Pid::from_raw(leader), Signal::SIGKILL);
}

/// Sends `signal` to the child's process group (used for 0x03/0x1c in non-PTY commands,
/// protocol.md §6.2.1).
pub fn signal_group(leader_pid: u32, signal: Signal) {
    if let Ok(leader) = i32::try_from(leader_pid) {
        let _ = killpg(Pid::from_raw(leader), signal);
    }
}

/// Pids (other than `leader` itself) whose session or process group is `leader`, read from
/// /proc. Empty where /proc does not exist; the killpg fallback still applies there.
fn processes_led_by(leader: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != leader)
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| group_and_session(&stat))
                .is_some_and(|(group, session)| group == leader || session == leader)
        })
        .collect()
}

/// `(pgrp, session)` from a /proc/PID/stat line. The command name is in parentheses and may
/// itself contain spaces or parentheses, so fields are counted after the last `)`.
fn group_and_session(stat: &str) -> Option<(i32, i32)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let _state = fields.next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some((group, session))
}

/// True while a process with this pid exists (a zombie counts: it has not been reaped).
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_group_and_session_past_odd_command_names() {
        let stat = "4242 (sh (x) y) S 1 4240 4239 34816 4242 4194560 ...";
        assert_eq!(group_and_session(stat), Some((4240, 4239)));
        assert_eq!(group_and_session("garbage"), None);
    }
}
