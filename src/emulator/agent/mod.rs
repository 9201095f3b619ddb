//! The Session Manager agent of the emulator (issue 4): the websocket behind a StreamUrl,
//! playing the ssmmessages service and the SSM agent together, with a real shell on a PTY per
//! session. See `docs/emulator.md` and protocol.md §1.4, §4–§7, §10.

pub mod documents;
pub mod link;
pub mod open_channel;
pub mod process;
pub mod reaper;
pub mod utf8_chunks;

#[cfg(test)]
#[path = "process_tests.rs"]
mod process_tests;
