use std::process::ExitCode;

use clap::Parser;
use gangway::cli::{Cli, Command};
use gangway::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.clone() {
        None => commands::ui::run(&cli),
        Some(Command::Demo(args)) => commands::demo::run(&cli, args),
        Some(Command::Emulator(args)) => commands::emulator::run(args),
        Some(Command::Connect(args)) => commands::connect::run(&cli.aws, args),
        Some(Command::List(args)) => commands::list::run(&cli.aws, &args),
    }
}
