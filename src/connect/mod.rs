//! `gangway connect` and `gangway list`.

use std::process::ExitCode;

use crate::cli::{AwsArgs, ListArgs};

pub mod error;
pub mod exit;
pub mod outcome;
mod pump;
mod run;
pub mod shell;
mod stdin;
pub mod terminal;

pub use error::ConnectError;
pub use outcome::{ShellEnd, ShellOutcome};
pub use run::run_connect;

/// Entry point of `gangway list` (built in issue 5).
pub fn run_list(_aws: &AwsArgs, _args: ListArgs) -> ExitCode {
    eprintln!("gangway list: not built yet (issue 5)");
    ExitCode::from(2)
}
