//! `gangway connect` and `gangway list`.

pub mod list;

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

/// Entry point of `gangway list`: the fleet as a table or JSON.
pub fn run_list(aws: &AwsArgs, args: ListArgs) -> ExitCode {
    ExitCode::from(list::run(aws, &args))
}
