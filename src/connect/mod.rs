//! `gangway connect` and `gangway list`.

use std::process::ExitCode;

use crate::cli::{AwsArgs, ConnectArgs, ListArgs};

/// Entry point of `gangway connect` (built in issue 5).
pub fn run_connect(_aws: &AwsArgs, _args: ConnectArgs) -> ExitCode {
    eprintln!("gangway connect: not built yet (issue 5)");
    ExitCode::from(2)
}

/// Entry point of `gangway list` (built in issue 5).
pub fn run_list(_aws: &AwsArgs, _args: ListArgs) -> ExitCode {
    eprintln!("gangway list: not built yet (issue 5)");
    ExitCode::from(2)
}
