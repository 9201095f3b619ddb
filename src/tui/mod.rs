//! The interactive terminal UI (issue 6), in the Elm architecture (style.md §3): `model` is
//! plain data, `update` is pure and returns `effect`s, `views` draw the model, and the
//! runtime owns the terminal and runs effects on tokio tasks that answer with `msg`s.

pub mod effect;
#[doc(hidden)]
pub mod fixtures;
pub mod fleet;
pub mod keymap;
pub mod model;
pub mod msg;
pub mod text;
pub mod update;
pub mod views;

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
