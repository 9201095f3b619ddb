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

/// Libraries whose most verbose levels print what they carry: the SDK's response bodies and
/// deserialized outputs (StartSession's TokenValue and StreamUrl), tungstenite's frames (the
/// OpenDataChannel token, every byte of the shell), SigV4's canonical requests, hyper's and
/// rustls's wire traces. Their
/// `debug` and `info` lines hold no secrets, so they are capped at `debug` whatever
/// `GANGWAY_LOG` asks for (issue 17, F8). gangway's own code logs no secret at any level.
/// A directive's target matches every target that starts with it: `aws` covers aws-config,
/// aws-sigv4 (whose trace prints canonical requests, session-token header included) and every
/// aws-sdk-* and aws-smithy-* crate; `hyper` covers hyper-util.
const SECRET_BEARING_TARGETS: &[&str] = &[
    "aws",
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "h2",
    "rustls",
    "tokio_rustls",
];

/// `GANGWAY_LOG` (an `EnvFilter` directive, `info` by default) with the libraries above
/// capped at `debug`. Directives for a target override the global level, so `trace` still
/// traces gangway and leaves the libraries at `debug`; a later directive for the same target
/// replaces an earlier one, so `GANGWAY_LOG=tungstenite=trace` is capped too.
pub fn filter_from_env() -> EnvFilter {
    let mut filter =
        EnvFilter::try_from_env("GANGWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    for target in SECRET_BEARING_TARGETS {
        if let Ok(directive) = format!("{target}=debug").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Starts file logging for `program` (e.g. `connect`, `tui`). Verbosity comes from
/// `GANGWAY_LOG` (an `EnvFilter` directive), `info` by default. Returns the log file path.
pub fn init_file_logging(program: &str) -> std::io::Result<(PathBuf, WorkerGuard)> {
    let dir = log_dir();
    std::fs::create_dir_all(&dir)?;
    let file_name = format!("{program}.log");
    let appender = tracing_appender::rolling::never(&dir, &file_name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = filter_from_env();
    // A second initialisation (tests, or the TUI starting a shell) keeps the first one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok((dir.join(file_name), guard))
}

/// Logging to stderr, for the emulator, whose stdout/stderr are its console.
/// Colour only when stderr is a terminal: a pipe or a log file gets plain text.
pub fn init_stderr_logging() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter_from_env())
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
