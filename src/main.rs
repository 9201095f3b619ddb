use std::process::ExitCode;

use clap::Parser;
use gangway::cli::{Cli, Command, Invocation};
use gangway::commands;

fn main() -> ExitCode {
    // Invoked as `session-manager-plugin`, gangway takes the AWS CLI's contract, not clap's.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .first()
        .is_some_and(|argv0| commands::plugin::is_plugin_name(argv0))
    {
        return commands::plugin::run(args);
    }
    let invocation = match Cli::parse().resolve() {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("gangway: {message}");
            return ExitCode::from(commands::exit::USAGE);
        }
    };
    let command = match invocation {
        Invocation::Ui { aws, ui } => return commands::ui::run(&aws, &ui),
        Invocation::Command(command) => command,
    };
    match command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Emulator(args) => commands::emulator::run(args),
        Command::Connect(args) => commands::connect::run(args),
        Command::List(args) => commands::list::run(&args),
        Command::Exec(args) => commands::exec::run(args),
        Command::Cp(args) => commands::cp::run(args),
        Command::Setup(args) => commands::setup::run(&args),
        Command::Audit(args) => commands::audit::run(&args),
        Command::Forward(args) => commands::forward::run(args),
        Command::SshProxy(args) => commands::ssh_proxy::run(args),
        Command::InstallPlugin(args) => commands::plugin::install(&args),
        Command::Run(args) => commands::run::run(*args),
        Command::Policy(args) => commands::policy::run(&args),
        Command::Alerts(args) => commands::alerts::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
    }
}
