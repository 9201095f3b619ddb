use std::process::ExitCode;

use clap::Parser;
use gangway::cli::{Cli, Invocation};
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
    match invocation {
        Invocation::Ui { aws, ui } => commands::ui::run(&aws, &ui),
        Invocation::Demo(args) => commands::demo::run(args),
        Invocation::Emulator(args) => commands::emulator::run(args),
        Invocation::Connect(args) => commands::connect::run(args),
        Invocation::List(args) => commands::list::run(&args),
        Invocation::Exec(args) => commands::exec::run(args),
        Invocation::Cp(args) => commands::cp::run(args),
        Invocation::Setup(args) => commands::setup::run(&args),
        Invocation::Audit(args) => commands::audit::run(&args),
        Invocation::Forward(args) => commands::forward::run(args),
        Invocation::SshProxy(args) => commands::ssh_proxy::run(args),
        Invocation::InstallPlugin(args) => commands::plugin::install(&args),
        Invocation::Run(args) => commands::run::run(*args),
        Invocation::Policy(args) => commands::policy::run(&args),
        Invocation::Alerts(args) => commands::alerts::run(&args),
        Invocation::Replay(args) => commands::replay::run(&args),
    }
}
