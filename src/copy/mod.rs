//! `gangway cp`: files to and from an instance through Session Manager command sessions,
//! with nothing on the instance but a POSIX shell and coreutils.
//!
//! - [`script`]: what runs on the instance (one request loop) and how its answers read;
//!   why everything on the pty is base64.
//! - [`remote`]: one session running that script, read a line at a time.
//! - [`upload`]: local → instance, one session at the full speed of the channel (the agent
//!   does not pace input).
//! - [`download`]: instance → local, byte ranges over several sessions at once (the agent
//!   paces each session's output at 1 KiB per ms, protocol.md §0 item 16), each range
//!   checked against a SHA-256 the instance computed, the whole file too, written to a part
//!   file beside the destination with a progress record ([`record`]) so a rerun continues.
//! - [`progress`]: the bar on a terminal's stderr.

pub mod download;
pub mod progress;
pub mod record;
pub mod remote;
pub mod script;
pub mod upload;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use progress::Progress;
pub use remote::SessionFailure;

use crate::aws::AwsClient;
use crate::text::escape_for_terminal;

/// Where and how to copy: the session side of every copy.
#[derive(Clone)]
pub struct Remote {
    pub client: AwsClient,
    /// The instance id to start sessions on.
    pub target: String,
    pub reason: Option<String>,
    /// The sessions open right now, so that a signal can end them (TerminateSession).
    pub open_sessions: OpenSessions,
}

/// Ids of the copy sessions that are open, shared by every worker.
pub type OpenSessions = Arc<Mutex<BTreeSet<String>>>;

impl Remote {
    pub fn new(client: AwsClient, target: String, reason: Option<String>) -> Self {
        Self {
            client,
            target,
            reason,
            open_sessions: OpenSessions::default(),
        }
    }

    /// Ends every copy session still open (a signal stopped the copy): the part files and
    /// records stay for a rerun.
    pub async fn terminate_all(&self) {
        let ids: Vec<String> = lock(&self.open_sessions).iter().cloned().collect();
        let ends = ids.iter().map(|id| self.client.terminate_session(id));
        for result in futures_util::future::join_all(ends).await {
            if let Err(error) = result {
                tracing::warn!(error = %error.to_line(), "TerminateSession failed");
            }
        }
    }
}

fn lock(sessions: &OpenSessions) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
    sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What went wrong, one line each. Remote paths and messages are untrusted text and are
/// escaped for the terminal here.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Session(#[from] SessionFailure),
    #[error("{}: {}", shown(.path), escape_for_terminal(.reason))]
    RemoteMissing { path: Vec<u8>, reason: String },
    #[error("{}: cannot read it: {}", shown(.path), escape_for_terminal(.reason))]
    RemoteUnreadable { path: Vec<u8>, reason: String },
    #[error("{} is a directory (use -r to copy it)", shown(.path))]
    RemoteIsDirectory { path: Vec<u8> },
    #[error("{} is not a regular file or a directory", shown(.path))]
    RemoteNotAFile { path: Vec<u8> },
    #[error("{} exists and is not a directory", shown(.path))]
    RemoteNotADirectory { path: Vec<u8> },
    #[error("cannot write {} on the instance: {}", shown(.path), escape_for_terminal(.reason))]
    RemoteWrite { path: Vec<u8>, reason: String },
    #[error("cannot read {}: {error}", local(.path))]
    LocalRead {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {}: {error}", local(.path))]
    LocalWrite {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} is a directory (use -r to copy it)", local(.path))]
    LocalIsDirectory { path: PathBuf },
    /// A range or a whole file did not match the instance's SHA-256 after every retry.
    #[error("{} did not verify: {detail}", shown(.path))]
    Verify { path: Vec<u8>, detail: String },
    /// The remote file changed while it was being copied (its checksum at the end is not the
    /// one of the ranges). The part file is discarded; a rerun starts over.
    #[error("{} changed on the instance while it was copied; run the copy again", shown(.path))]
    Changed { path: Vec<u8> },
}

/// A remote path as the user may read it.
fn shown(path: &[u8]) -> String {
    escape_for_terminal(&String::from_utf8_lossy(path)).into_owned()
}

fn local(path: &Path) -> String {
    escape_for_terminal(&path.display().to_string()).into_owned()
}

/// What a finished copy moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
    /// Files already in place with the same SHA-256 (uploads) or finished by an earlier run.
    pub skipped: u64,
    /// Bytes an earlier, interrupted run had already fetched.
    pub resumed_bytes: u64,
    /// Websocket resumes the sessions went through.
    pub resumes: u32,
    /// Ranges fetched again after a failure.
    pub retried_ranges: u64,
}

/// The last component of a path given as bytes (`/var/log/app.log` → `app.log`), ignoring
/// trailing slashes; `None` for `/` or an empty path.
pub fn base_name(path: &[u8]) -> Option<&[u8]> {
    let trimmed = match path.iter().rposition(|b| *b != b'/') {
        Some(last) => &path[..=last],
        None => return None,
    };
    let name = match trimmed.iter().rposition(|b| *b == b'/') {
        Some(slash) => &trimmed[slash + 1..],
        None => trimmed,
    };
    (!name.is_empty() && name != b"." && name != b"..").then_some(name)
}

/// `dir` + `/` + `name` for remote paths.
pub fn join_remote(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut joined = dir.to_vec();
    if !joined.ends_with(b"/") {
        joined.push(b'/');
    }
    joined.extend_from_slice(name);
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_ignore_trailing_slashes() {
        assert_eq!(base_name(b"/var/log/app.log"), Some(&b"app.log"[..]));
        assert_eq!(base_name(b"dir/"), Some(&b"dir"[..]));
        assert_eq!(base_name(b"plain"), Some(&b"plain"[..]));
        assert_eq!(base_name(b"/"), None);
        assert_eq!(base_name(b"a/.."), None);
        assert_eq!(join_remote(b"/tmp/", b"x"), b"/tmp/x");
        assert_eq!(join_remote(b"/tmp", b"x"), b"/tmp/x");
    }
}
