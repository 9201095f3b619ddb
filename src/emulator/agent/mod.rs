//! The Session Manager agent of the emulator (issue 4): the websocket behind a StreamUrl,
//! playing the ssmmessages service and the SSM agent together, with a real shell on a PTY per
//! session. See `docs/emulator.md` and protocol.md §1.4, §4–§7, §10.
//!
//! - `upgrade.rs`: `GET /v1/data-channel/{sid}`, the OpenDataChannel token check.
//! - `directory.rs`: which sessions have a running task (sockets of a resume go there).
//! - `task.rs` + `steps.rs`: the per-session task around a `proto::Session` in the agent role;
//!   `task.rs` declares all of its state, `timers.rs` its deadlines.
//! - `session_thread.rs`: each session's tasks run on a thread and runtime of their own.
//! - `link.rs`: one attached websocket with its writer task.
//! - `process.rs`, `reaper.rs`, `utf8_chunks.rs`: the shell or command, and its cleanup;
//!   `pacer.rs` times the agent's 1 ms pause between reads.
//! - `port/`: the port plugin of Port sessions (basic and multiplexed, §6.3).
//! - `echo_hops.rs`: the load test's per-hop timing of an echo (off unless asked for).
//! - `documents.rs`, `words.rs`, `ending.rs`: what a document runs (and how a command line
//!   splits into words), why a session ended.

pub mod directory;
pub mod documents;
pub mod echo_hops;
pub mod ending;
mod kms;
pub mod link;
pub mod open_channel;
pub mod own_host_name;
mod pacer;
pub mod port;
pub mod process;
pub mod reaper;
mod session_thread;
mod setup;
mod steps;
mod task;
mod timers;
mod upgrade;
pub mod utf8_chunks;
mod watchdog;
mod words;

use std::path::PathBuf;

pub use directory::AgentDirectory;
pub use kms::KMS_CUSTOMER_MESSAGE;
pub use steps::AGENT_VERSION;
pub use upgrade::{
    DEFAULT_MAX_UNAUTHENTICATED, FIRST_MESSAGE_LIMIT, OPEN_FRAME_TIMEOUT, handle_upgrade,
};

/// Default time a session waits for a client to resume after its websocket dropped.
pub const DEFAULT_DETACHED_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Where the per-instance home directories live: in the emulator process's run directory
/// (`run_dir`), removed on a clean stop and swept after a crash.
pub fn homes_root() -> PathBuf {
    crate::emulator::run_dir::path().join("home")
}

/// The host name a session shows (prompt, HOSTNAME): the instance's Name tag when it is a
/// plain host name, else the instance id. Tag text comes from users and may hold escape
/// sequences, which must never reach a prompt.
pub fn host_name(name_tag: Option<&str>, instance_id: &str) -> String {
    name_tag
        .filter(|name| !name.is_empty() && name.len() <= 63)
        .filter(|name| {
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        })
        .map_or_else(|| file_name_safe(instance_id), str::to_string)
}

/// A string safe as one path component.
pub fn file_name_safe(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "_".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod process_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_never_carry_escapes() {
        assert_eq!(host_name(Some("web-1"), "i-1"), "web-1");
        assert_eq!(host_name(Some("evil\u{1b}[2J"), "i-0abc"), "i-0abc");
        assert_eq!(host_name(None, "../../etc"), "______etc");
        assert_eq!(file_name_safe(""), "_");
    }
}
