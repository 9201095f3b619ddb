//! A Session Manager shell on a local terminal or on pipes: open the data channel
//! ([`open_channel`]), own the terminal in raw mode ([`terminal`]), pump bytes both ways with
//! resize and signals ([`pump`]), and say how it ended ([`ShellOutcome`]). Used by the UI
//! ([`run`]) and by the commands (`gangway connect`). Each session is recorded and its
//! activity kept on disk as it runs ([`SessionRecords`], `records`). Knows nothing of exit
//! statuses or command-line arguments.

mod embedded;
mod error;
mod interactive;
mod modes;
mod open;
mod outcome;
mod pump;
mod records;
mod stdin;
pub mod terminal;

pub use embedded::{PaneControl, PaneEvent, PaneIo, run_embedded};
pub use error::ShellError;
pub use interactive::{run, run_started};
pub use modes::ScreenModes;
pub use open::{Terminator, open_channel, open_channel_with, open_started, terminator_for};
#[cfg(test)]
pub(crate) use outcome::test_outcome;
pub use outcome::{ShellEnd, ShellOutcome};
pub use pump::PumpMode;
pub use records::SessionRecords;
pub use stdin::Platform;
