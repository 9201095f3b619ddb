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

/// How a command that runs sessions runs: its logs go to its own file (the terminal and
/// stdout belong to the session), then [`command_runtime`], then the settings `load` reads
/// from the config file, then `work` to its end, and `finish` turns what it gave into the
/// exit status while the log file is still open. Once `work` is over nothing may keep the
/// process alive: stdin's reader thread may be blocked in read(2), so the runtime's
/// leftovers get 100 ms.
pub(crate) fn run_session<S, T>(
    name: &str,
    load: impl FnOnce() -> Result<S, std::process::ExitCode>,
    work: impl AsyncFnOnce(S) -> T,
    finish: impl FnOnce(T) -> std::process::ExitCode,
) -> std::process::ExitCode {
    let _log_guard = crate::logging::init_file_logging(name).ok();
    let runtime = match command_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let settings = match load() {
        Ok(settings) => settings,
        Err(status) => return status,
    };
    let result = runtime.block_on(work(settings));
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    finish(result)
}

/// A command that failed: the error in its log and on stderr, and its exit status.
pub(crate) fn failed(
    command: &str,
    error: &impl std::fmt::Display,
    status: u8,
) -> std::process::ExitCode {
    tracing::warn!(%error, "{command} failed");
    eprintln!("gangway: {error}");
    std::process::ExitCode::from(status)
}
