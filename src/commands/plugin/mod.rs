//! gangway as the AWS CLI's `session-manager-plugin`: when the program is invoked under
//! that name (a symlink or a copy; `gangway install-plugin` makes the link), `main` hands
//! the whole command line here instead of to clap. [`contract`] reads what the CLI passes,
//! `session` runs it with gangway's machinery, `install` creates the link.

pub mod contract;
#[cfg(test)]
mod contract_tests;
mod install;
mod session;

use std::ffi::OsString;
use std::process::ExitCode;

pub use install::{is_plugin_name, run as install};

use super::exit;
use contract::{INSTALLED_MESSAGE, PluginCall, parse, unknown_operation_message};

/// The program name the AWS CLI runs (sessionmanager.py).
pub const PLUGIN_NAME: &str = "session-manager-plugin";

/// Entry point when invoked as `session-manager-plugin`; `args` is the whole argv.
pub fn run(args: Vec<OsString>) -> ExitCode {
    match parse(&args, |name| std::env::var(name).ok()) {
        Ok(PluginCall::Installed) => {
            print!("{INSTALLED_MESSAGE}");
            ExitCode::from(exit::OK)
        }
        // Above 1.2.497.0, so the CLI hands the response over in the environment, not on
        // the command line where `ps` shows it.
        Ok(PluginCall::Version) => {
            println!("{}", contract::PLUGIN_VERSION);
            ExitCode::from(exit::OK)
        }
        Ok(PluginCall::Unknown(first)) => {
            print!(
                "{}",
                unknown_operation_message(&crate::text::escape_for_terminal(&first))
            );
            ExitCode::from(exit::USAGE)
        }
        Ok(PluginCall::Start(start)) => session::run(*start),
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(exit::USAGE)
        }
    }
}
