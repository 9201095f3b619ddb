//! `tracing` to a file under the user's state directory, never to the terminal: the
//! terminal belongs to the UI or to the remote shell, and a stray log line would corrupt
//! either. The returned guard must live for the whole run so buffered lines are flushed.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where gangway keeps its logs: `$XDG_STATE_HOME/gangway` (or the platform's equivalent).
pub fn log_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("gangway")
}

/// Starts file logging for `program` (e.g. `connect`, `tui`). Verbosity comes from
/// `GANGWAY_LOG` (an `EnvFilter` directive), `info` by default. Returns the log file path.
pub fn init_file_logging(program: &str) -> std::io::Result<(PathBuf, WorkerGuard)> {
    let dir = log_dir();
    std::fs::create_dir_all(&dir)?;
    let file_name = format!("{program}.log");
    let appender = tracing_appender::rolling::never(&dir, &file_name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("GANGWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second initialisation (tests, or the TUI starting a shell) keeps the first one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok((dir.join(file_name), guard))
}

/// Logging to stderr, for the emulator, whose stdout/stderr are its console.
pub fn init_stderr_logging() {
    let filter = EnvFilter::try_from_env("GANGWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
