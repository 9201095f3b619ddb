//! The interactive terminal UI.

use std::process::ExitCode;

use crate::cli::{Cli, DemoArgs};

/// Entry point of `gangway` with no subcommand (built in issue 6).
pub fn run_cli(_cli: &Cli) -> ExitCode {
    eprintln!("gangway: the terminal UI is not built yet (issue 6)");
    ExitCode::from(2)
}

/// Entry point of `gangway demo` (built in issue 6).
pub fn run_demo(_cli: &Cli, _args: DemoArgs) -> ExitCode {
    eprintln!("gangway demo: arrives with the emulator and the UI (issues 3-6)");
    ExitCode::SUCCESS
}
