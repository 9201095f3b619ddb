//! The local AWS emulator: EC2 and SSM APIs plus the Session Manager agent.

use std::process::ExitCode;

use crate::cli::EmulatorArgs;

/// Entry point of `gangway emulator` (built in issues 3 and 4).
pub fn run_cli(_args: EmulatorArgs) -> ExitCode {
    eprintln!("gangway emulator: not built yet (issue 3)");
    ExitCode::from(2)
}

pub mod agent;
pub mod faults;
