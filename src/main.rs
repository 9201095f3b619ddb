use std::process::ExitCode;

use clap::Parser;
use gangway::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.clone() {
        None => gangway::tui::run_cli(&cli),
        Some(Command::Demo(args)) => gangway::tui::run_demo(&cli, args),
        Some(Command::Emulator(args)) => gangway::emulator::run_cli(args),
        Some(Command::Connect(args)) => gangway::connect::run_connect(&cli.aws, args),
        Some(Command::List(args)) => gangway::connect::run_list(&cli.aws, args),
    }
}
