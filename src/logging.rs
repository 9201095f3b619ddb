//! `tracing` to a file under the user's state directory, never to the terminal: the
//! terminal belongs to the UI or to the remote shell, and a stray log line would corrupt
//! either. The returned guard must live for the whole run so buffered lines are flushed.

use std::path::PathBuf;

use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where gangway keeps its logs: `$XDG_STATE_HOME/gangway` (or the platform's equivalent).
pub fn log_dir() -> PathBuf {
    crate::local::state_dir()
}

/// Libraries whose most verbose levels print what they carry: the SDK's response bodies and
/// deserialized outputs (StartSession's TokenValue and StreamUrl), tungstenite's frames (the
/// OpenDataChannel token, every byte of the shell), SigV4's canonical requests, hyper's and
/// rustls's wire traces. Their `debug` and `info` lines hold no secrets, so their `trace` is
/// dropped whatever `GANGWAY_LOG` asks for (issue 17, F8). gangway's own code logs no secret
/// at any level. A prefix matches every target that starts with it: `aws` covers aws-config,
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

/// Whether events from `target` may carry secrets at `trace`.
fn is_secret_bearing(target: &str) -> bool {
    SECRET_BEARING_TARGETS
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

/// `GANGWAY_LOG` (an `EnvFilter` directive, `info` by default), minus `trace` from the
/// libraries above: whatever it asks for (`trace`, `tungstenite=trace`), those libraries say
/// at most `debug`, and they say no more than it asks for (a filter added beside it, not
/// directives that would also raise them from `info` to `debug`).
pub fn filter_from_env<S>() -> impl tracing_subscriber::layer::Filter<S> {
    let requested =
        EnvFilter::try_from_env("GANGWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    without_secret_levels(requested)
}

fn without_secret_levels<S>(requested: EnvFilter) -> impl tracing_subscriber::layer::Filter<S> {
    // The hint says this filter never widens what `requested` allows. Without it the pair
    // has no level hint at all, `try_init` then lets the `log` crate pass every record up to
    // TRACE, and each of tungstenite's per-frame `log::trace!` records was turned into a
    // tracing event only to be filtered out: 5-8 % of the CPU of a transfer (perf, both the
    // client and the emulator, release).
    requested.and(
        filter_fn(|meta| *meta.level() != Level::TRACE || !is_secret_bearing(meta.target()))
            .with_max_level_hint(LevelFilter::TRACE),
    )
}

/// Starts file logging for `program` (e.g. `connect`, `tui`). Verbosity comes from
/// `GANGWAY_LOG` (an `EnvFilter` directive), `info` by default. Returns the log file path.
pub fn init_file_logging(program: &str) -> std::io::Result<(PathBuf, WorkerGuard)> {
    let dir = log_dir();
    std::fs::create_dir_all(&dir)?;
    let file_name = format!("{program}.log");
    let appender = tracing_appender::rolling::never(&dir, &file_name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter_from_env());
    // A second initialisation (tests, or the TUI starting a shell) keeps the first one.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok((dir.join(file_name), guard))
}

/// Logging to stderr, for the emulator, whose stdout/stderr are its console.
/// Colour only when stderr is a terminal: a pipe or a log file gets plain text.
pub fn init_stderr_logging() {
    use std::io::IsTerminal;
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(filter_from_env());
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;

    use tracing_subscriber::EnvFilter;

    use super::without_secret_levels;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The events one filter lets through, from the libraries and from gangway.
    fn logged(requested: &str) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(without_secret_levels(EnvFilter::new(requested)));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "tungstenite::protocol", "frame-with-token");
            tracing::debug!(target: "tungstenite::protocol", "lib-debug");
            tracing::debug!(target: "aws_smithy_runtime::client", "sdk-debug");
            tracing::info!(target: "aws_config", "sdk-info");
            tracing::trace!(target: "gangway::transport", "own-trace");
        });
        let bytes = captured.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn libraries_never_log_trace_and_are_not_raised_above_what_was_asked() {
        let info = logged("info");
        assert!(info.contains("sdk-info"), "{info}");
        assert!(!info.contains("sdk-debug"), "info stays info: {info}");
        assert!(
            !info.contains("lib-debug") && !info.contains("own-trace"),
            "{info}"
        );
        for asked in ["trace", "info,tungstenite=trace,aws=trace"] {
            let all = logged(asked);
            assert!(!all.contains("frame-with-token"), "{asked}: {all}");
        }
        let trace = logged("trace");
        assert!(
            trace.contains("lib-debug") && trace.contains("sdk-debug"),
            "{trace}"
        );
        assert!(
            trace.contains("own-trace"),
            "gangway's own trace stays: {trace}"
        );
    }

    /// The level hint is what lets `try_init` cap the `log` crate: without one, every
    /// `log::trace!` of a dependency is built and dispatched before being dropped.
    #[test]
    fn the_filter_keeps_the_level_hint_of_what_was_asked() {
        use tracing_subscriber::Registry;
        use tracing_subscriber::filter::LevelFilter;
        use tracing_subscriber::layer::Filter;
        for (asked, hint) in [
            ("warn", LevelFilter::WARN),
            ("info", LevelFilter::INFO),
            ("info,tungstenite=trace", LevelFilter::TRACE),
        ] {
            let filter = without_secret_levels(EnvFilter::new(asked));
            assert_eq!(
                Filter::<Registry>::max_level_hint(&filter),
                Some(hint),
                "{asked}"
            );
        }
    }
}
