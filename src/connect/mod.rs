//! `gangway connect` and `gangway list`.

pub mod list;

use std::process::ExitCode;

use crate::cli::{AwsArgs, ConnectArgs, ListArgs};

/// Entry point of `gangway connect` (built in issue 5).
pub fn run_connect(_aws: &AwsArgs, _args: ConnectArgs) -> ExitCode {
    eprintln!("gangway connect: not built yet (issue 5)");
    ExitCode::from(2)
}

/// Entry point of `gangway list`: the fleet as a table or JSON.
pub fn run_list(aws: &AwsArgs, args: ListArgs) -> ExitCode {
    ExitCode::from(list::run(aws, &args))
}
