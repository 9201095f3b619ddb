//! One file per subcommand: each takes its parsed arguments from `cli`, wires the layers
//! below together, prints what the user reads and returns the exit status (`exit`). Nothing
//! below this folder knows about the command line or exit statuses.

pub mod alerts;
pub mod audit;
pub mod connect;
pub mod cp;
pub mod demo;
pub mod emulator;
pub mod exec;
pub mod exit;
pub mod forward;
pub mod list;
pub mod plugin;
pub mod policy;
pub mod replay;
pub mod run;
pub mod settings;
pub mod setup;
pub mod ssh_proxy;
pub mod ui;

/// The runtime of a command that runs one session or a few calls: two workers are plenty,
/// and the machines gangway runs on are laptops. An error has been printed already.
pub(crate) fn command_runtime() -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("gangway: cannot start the async runtime: {error}");
            std::process::ExitCode::from(exit::OTHER)
        })
}
