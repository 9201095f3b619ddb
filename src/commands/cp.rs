//! `gangway cp SOURCE DESTINATION`: one of the two is `TARGET:PATH` on an instance, the
//! other a local path. The copying itself is `crate::copy`; this file resolves the target,
//! refuses what cannot work, handles signals and says how it went.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connect::{ConnectError, check_reachable, find_target, target_clients};
use super::exit;
use crate::aws::AwsError;
use crate::cli::CpArgs;
use crate::copy::{self, CopyError, Progress, Remote, SessionFailure, Summary};
use crate::shell::Platform;
use crate::text::escape_for_terminal;

/// How long a signalled copy waits for its sessions to be terminated.
const TERMINATE_GRACE: Duration = Duration::from_secs(3);

/// One side of the copy, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Local(PathBuf),
    Remote { target: String, path: Vec<u8> },
}

impl Location {
    /// `TARGET:PATH` is remote when TARGET holds no `/` (so `./a:b` and `/x/a:b` are local),
    /// as in scp. A `tag:KEY=VALUE` target ends at the next `:` after its `=`. An empty path
    /// is the remote home directory.
    fn parse(argument: &str) -> Self {
        let search_from = match argument.strip_prefix("tag:") {
            Some(rest) => 4 + rest.find('=').unwrap_or(0),
            None => 0,
        };
        match argument[search_from..].find(':').map(|at| at + search_from) {
            Some(at) if at > 0 && !argument[..at].contains('/') => {
                let path = &argument[at + 1..];
                Self::Remote {
                    target: argument[..at].to_owned(),
                    path: if path.is_empty() {
                        b"."
                    } else {
                        path.as_bytes()
                    }
                    .to_vec(),
                }
            }
            _ => Self::Local(PathBuf::from(argument)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CpError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(
        "{0} runs Windows: gangway cp needs a POSIX shell and coreutils (sh, base64, sha256sum, dd, stat) on the instance, and the Windows agent runs PowerShell and rewrites line ends in what it is sent"
    )]
    Windows(String),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

impl From<AwsError> for CpError {
    fn from(error: AwsError) -> Self {
        Self::Connect(ConnectError::Aws(error))
    }
}

impl CpError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::Connect(error) => error.exit_status(),
            Self::Windows(_) => exit::TARGET_UNAVAILABLE,
            Self::Copy(error) => match error {
                CopyError::Session(SessionFailure::Start(error)) => exit::for_shell_error(error),
                CopyError::Session(SessionFailure::Ended(_)) => exit::CONNECTION_LOST,
                CopyError::Session(SessionFailure::Remote(_))
                | CopyError::RemoteMissing { .. }
                | CopyError::RemoteUnreadable { .. }
                | CopyError::RemoteIsDirectory { .. }
                | CopyError::RemoteNotAFile { .. }
                | CopyError::RemoteNotADirectory { .. }
                | CopyError::RemoteWrite { .. } => exit::COPY_REMOTE,
                CopyError::LocalRead { .. }
                | CopyError::LocalWrite { .. }
                | CopyError::LocalIsDirectory { .. } => exit::COPY_LOCAL,
                CopyError::Verify { .. } | CopyError::Changed { .. } => exit::COPY_VERIFY,
            },
        }
    }
}

/// Entry point of `gangway cp`.
pub fn run(args: CpArgs) -> ExitCode {
    let args = &args;
    super::run_session(
        "cp",
        || super::settings::scope(args.config.as_deref(), &args.aws.tags),
        async |scope| cp(args, &scope).await,
        |result| match result {
            Ok(Ended::Copied(summary, elapsed)) => {
                tracing::info!(?summary, ?elapsed, "copy finished");
                ExitCode::from(exit::OK)
            }
            Ok(Ended::Signal(number)) => {
                eprintln!(
                    "gangway: stopped by signal {number}; run the same command again to continue"
                );
                ExitCode::from(exit::SIGNAL_BASE.saturating_add(number))
            }
            Err(error) => super::failed("cp", &error, error.exit_status()),
        },
    )
}

enum Ended {
    Copied(Summary, Duration),
    Signal(u8),
}

async fn cp(args: &CpArgs, scope: &[(String, String)]) -> Result<Ended, CpError> {
    let (target, remote_path, local, upload) = match (
        Location::parse(&args.source),
        Location::parse(&args.destination),
    ) {
        (Location::Local(local), Location::Remote { target, path }) => (target, path, local, true),
        (Location::Remote { target, path }, Location::Local(local)) => (target, path, local, false),
        (Location::Local(_), Location::Local(_)) => {
            return Err(CpError::Usage(
                "neither side is on an instance: write one as TARGET:PATH (e.g. web-1:/tmp/)"
                    .into(),
            ));
        }
        (Location::Remote { .. }, Location::Remote { .. }) => {
            return Err(CpError::Usage(
                "both sides are on instances: gangway cp copies between this machine and one instance".into(),
            ));
        }
    };
    let clients = target_clients(&args.aws.options()).await?;
    let (client, instance) = find_target(&clients, &target, scope).await?;
    check_reachable(&instance)?;
    if Platform::from_listing(instance.platform.as_deref()) == Platform::Windows {
        return Err(CpError::Windows(instance.id.to_string()));
    }
    let remote = Remote::new(client, instance.id.to_string(), args.reason.clone());
    let progress = Arc::new(Progress::default());
    let bar = progress.spawn_bar(std::io::stderr().is_terminal());
    let started = Instant::now();
    let copy = async {
        if upload {
            copy::upload::upload(&remote, &local, &remote_path, args.recursive, &progress).await
        } else {
            let sessions = args
                .sessions
                .map_or(copy::download::DEFAULT_SESSIONS, usize::from);
            copy::download::download(
                &remote,
                &remote_path,
                &local,
                args.recursive,
                sessions,
                &progress,
            )
            .await
        }
    };
    let ended = tokio::select! {
        result = copy => result.map(|summary| Ended::Copied(summary, started.elapsed())),
        number = leaving() => Ok(Ended::Signal(number)),
    };
    progress.stop(bar).await;
    if matches!(ended, Ok(Ended::Signal(_))) {
        let _ = tokio::time::timeout(TERMINATE_GRACE, remote.terminate_all()).await;
    }
    if let Ok(Ended::Copied(summary, elapsed)) = &ended
        && std::io::stderr().is_terminal()
    {
        eprintln!(
            "{}",
            summary_line(summary, *elapsed, &instance.id.to_string())
        );
    }
    Ok(ended?)
}

/// The signals that stop a copy: SIGINT, SIGTERM, SIGHUP. Returns the number.
async fn leaving() -> u8 {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => 2,
        _ = term.recv() => 15,
        _ = hup.recv() => 1,
    }
}

fn summary_line(summary: &Summary, elapsed: Duration, target: &str) -> String {
    let mib = summary.bytes as f64 / (1024.0 * 1024.0);
    let fresh = summary.bytes.saturating_sub(summary.resumed_bytes) as f64 / (1024.0 * 1024.0);
    let mut line = format!(
        "{} file{}, {mib:.1} MiB, {target}, {:.1} s ({:.1} MiB/s), verified by SHA-256",
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        elapsed.as_secs_f64(),
        fresh / elapsed.as_secs_f64().max(0.001)
    );
    if summary.resumed_bytes > 0 {
        line.push_str(&format!(
            "; {:.1} MiB were already here from an earlier run",
            summary.resumed_bytes as f64 / (1024.0 * 1024.0)
        ));
    }
    if summary.skipped > 0 {
        line.push_str(&format!("; {} already in place", summary.skipped));
    }
    if summary.retried_ranges > 0 {
        line.push_str(&format!(
            "; {} ranges fetched again",
            summary.retried_ranges
        ));
    }
    escape_for_terminal(&line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(target: &str, path: &str) -> Location {
        Location::Remote {
            target: target.into(),
            path: path.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_side_is_remote_when_it_names_a_target_before_a_colon() {
        assert_eq!(Location::parse("web-1:/tmp/"), remote("web-1", "/tmp/"));
        assert_eq!(
            Location::parse("i-0123456789abcdef0:a:b"),
            remote("i-0123456789abcdef0", "a:b")
        );
        assert_eq!(Location::parse("web-1:"), remote("web-1", "."));
        assert_eq!(
            Location::parse("tag:Role=web:/var/log"),
            remote("tag:Role=web", "/var/log")
        );
        for local in ["./a:b", "/x/y:z", "plain", ":x", "dir/file"] {
            assert_eq!(
                Location::parse(local),
                Location::Local(PathBuf::from(local)),
                "{local}"
            );
        }
    }
}
