//! How a shell ended, for the CLI (its exit status is `commands::exit::for_outcome`) and the
//! UI (the status line).

use crate::text::escape_for_terminal;
use crate::transport::KeyRefusal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellEnd {
    /// `channel_closed` without a reason: the remote shell or command exited.
    Exited,
    /// The service closed the channel with a reason: idle timeout, maximum duration,
    /// or a TerminateSession by an administrator (§3, §7.3). The text is from AWS.
    Terminated { reason: String },
    /// The session ended while we were disconnected (ResumeSession gave no token).
    TimedOut,
    /// The connection dropped and every resume attempt failed, or the link is corrupted.
    ConnectionLost { error: String },
    /// A local signal (SIGTERM, SIGHUP, SIGINT, SIGQUIT) ended gangway; the session was
    /// asked to end.
    Signal(i32),
    /// The user closed the session in the UI (a tab or pane closed, the UI quit); the
    /// session was asked to end.
    Closed,
    /// Whoever read gangway's output closed it (`| head -c 10`); the session was asked to
    /// end.
    OutputClosed,
    /// The account encrypts sessions with KMS and KMS refused this caller the data key
    /// (§4.6). `line` names the key and the permission.
    KmsRefused { line: String, refusal: KeyRefusal },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellOutcome {
    pub session_id: String,
    pub end: ShellEnd,
    /// The remote command's exit code when the protocol carried one (PT 12).
    pub remote_exit_code: Option<i32>,
}

impl ShellOutcome {
    /// One line for the user (printed after the terminal is restored). AWS text escaped.
    pub fn message(&self) -> String {
        let sid = escape_for_terminal(&self.session_id);
        match &self.end {
            ShellEnd::Exited => format!("Exiting session with sessionId: {sid}."),
            ShellEnd::Terminated { reason } => {
                format!(
                    "Session {sid} ended: {}",
                    escape_for_terminal(reason.trim())
                )
            }
            ShellEnd::TimedOut => {
                format!("Session {sid} timed out while the connection was down.")
            }
            ShellEnd::ConnectionLost { error } => {
                format!("Connection to session {sid} lost: {error}")
            }
            ShellEnd::Signal(signal) => format!("Session {sid} left on signal {signal}."),
            ShellEnd::Closed => format!("Session {sid} closed in gangway."),
            ShellEnd::OutputClosed => {
                format!("Session {sid} ended: the reader of its output went away.")
            }
            ShellEnd::KmsRefused { line, .. } => {
                format!("Session {sid} could not be opened: {line}")
            }
        }
    }
}

/// An outcome of session `dev-0123456789abcdef0`, for the tests of what is made of one.
#[cfg(test)]
pub(crate) fn test_outcome(end: ShellEnd, code: Option<i32>) -> ShellOutcome {
    ShellOutcome {
        session_id: "dev-0123456789abcdef0".into(),
        end,
        remote_exit_code: code,
    }
}

#[cfg(test)]
mod tests {
    use super::test_outcome as outcome;
    use super::*;

    #[test]
    fn reasons_from_aws_are_escaped() {
        let end = ShellEnd::Terminated {
            reason: "bye\u{1b}[2J".into(),
        };
        assert!(!outcome(end, None).message().contains('\u{1b}'));
    }
}
