//! Every exit status gangway's commands return, in one place (documented in
//! docs/user-guide.md). The layers below report what happened (`AwsError`, `ShellError`,
//! `ShellOutcome`); only the commands turn that into a number, so the UI never needs one.
//!
//! The remote command's own status wins when the protocol carries one (PayloadType 12); the
//! codes below are chosen apart from the usual shell ones (126, 127, 128+n).

use crate::aws::AwsError;
use crate::shell::{ShellEnd, ShellError, ShellOutcome};
use crate::transport::KeyRefusal;
use crate::tunnel::OpenError;

/// Normal end of a shell (`exit`, or the agent closed the channel without a reason).
pub const OK: u8 = 0;
/// Any other AWS failure (throttling, a service error).
pub const OTHER: u8 = 1;
/// A command line gangway cannot use, or an unknown or ambiguous target (the candidates are
/// listed). clap's own usage errors exit 2 as well.
pub const USAGE: u8 = 2;
/// AWS credentials missing or expired, no region, or an unusable AWS configuration.
pub const CREDENTIALS: u8 = 3;
/// The AWS endpoint could not be reached.
pub const UNREACHABLE: u8 = 4;
/// Access denied by IAM, or access that has expired.
pub const ACCESS_DENIED: u8 = 5;
/// AWS said the target does not exist.
pub const NOT_FOUND: u8 = 6;
/// The instance cannot take a session: stopped, agent offline, not managed, agent too old,
/// or AWS says it is not connected.
pub const TARGET_UNAVAILABLE: u8 = 7;
/// The session could not be started: websocket refused, TLS or proxy failure, no answer.
pub const COULD_NOT_START: u8 = 10;
/// The connection was lost and could not be resumed, or the session timed out meanwhile.
pub const CONNECTION_LOST: u8 = 11;
/// The service ended the session with a reason: idle timeout, maximum duration, or an
/// administrator's TerminateSession.
pub const TERMINATED: u8 = 12;
/// `gangway exec`: the session ended without the command's exit status (AWS sends one only
/// from a document with separateOutputStream, and not when the session is cancelled). Never 0:
/// a script must not take an unknown result for success.
pub const NO_REMOTE_STATUS: u8 = 13;
/// `gangway exec` and `setup`: the session document is missing, or cannot give stderr apart
/// and an exit code (not NonInteractiveCommands, no separateOutputStream, no `command`).
pub const DOCUMENT_UNUSABLE: u8 = 14;
/// `gangway run`: not every instance succeeded. Some failed, timed out, were cancelled or
/// undeliverable, were refused (outside your access), or could not run it at all (stopped,
/// agent offline, not managed; listed before sending). The table or JSON says which.
pub const RUN_INCOMPLETE: u8 = 15;
/// `gangway run`: Ctrl-C, and gangway stopped following the command (detached); the
/// command goes on on AWS unless you chose to cancel it (`gangway run show ID` follows up).
pub const RUN_DETACHED: u8 = 16;
/// `gangway forward`: a local port to listen on is taken by another process.
pub const LOCAL_PORT_IN_USE: u8 = 17;
/// `gangway cp`: the remote file or directory is missing, cannot be read or written, is of
/// the wrong kind, or the instance lacks the tools the copy needs.
pub const COPY_REMOTE: u8 = 18;
/// `gangway cp`: the local file cannot be read or the destination cannot be written.
pub const COPY_LOCAL: u8 = 19;
/// `gangway cp`: what arrived does not match the SHA-256 the other side computed, even after
/// fetching it again, or the remote file changed while it was copied.
pub const COPY_VERIFY: u8 = 20;
/// `gangway alerts test`: the event does not match the rule (a match exits 0, bad input 2).
pub const NO_MATCH: u8 = 21;
/// Base for "ended by signal n" (SIGHUP → 129, SIGINT → 130, SIGQUIT → 131, SIGTERM → 143),
/// as shells report it.
pub const SIGNAL_BASE: u8 = 128;
/// Whoever read gangway's output went away (`gangway connect … | head -c 10`): the status of
/// a process killed by SIGPIPE (128 + 13), as `yes | head` reports it. The session is ended.
pub const BROKEN_PIPE: u8 = SIGNAL_BASE + 13;

/// The status for a failed AWS call, the same in every command.
pub fn for_aws(error: &AwsError) -> u8 {
    match error {
        AwsError::Credentials { .. } | AwsError::NoRegion | AwsError::Config(_) => CREDENTIALS,
        AwsError::Unreachable { .. } => UNREACHABLE,
        AwsError::AccessDenied(_) => ACCESS_DENIED,
        AwsError::NotFound(_) => NOT_FOUND,
        AwsError::TargetNotConnected(_) => TARGET_UNAVAILABLE,
        AwsError::Throttled | AwsError::Service { .. } | AwsError::BadResponse(_) => OTHER,
    }
}

/// The status for a shell that could not be opened or run.
pub fn for_shell_error(error: &ShellError) -> u8 {
    match error {
        ShellError::Aws(error) => for_aws(error),
        ShellError::Transport(_) | ShellError::Io(_) => COULD_NOT_START,
    }
}

/// The status for a port session that did not open (forward, ssh-proxy).
pub fn for_open_error(error: &OpenError) -> u8 {
    match error {
        OpenError::Start(error) => for_shell_error(error),
        OpenError::Ended(_) | OpenError::HandshakeTimeout => COULD_NOT_START,
        OpenError::NotAPortSession | OpenError::WrongMode { .. } => DOCUMENT_UNUSABLE,
    }
}

/// The status for a session that ran: the remote status when AWS carried one, else one per
/// kind of end.
pub fn for_outcome(outcome: &ShellOutcome) -> u8 {
    if let Some(code) = outcome.remote_exit_code
        && matches!(outcome.end, ShellEnd::Exited | ShellEnd::Terminated { .. })
    {
        return from_remote(code);
    }
    match &outcome.end {
        ShellEnd::Exited | ShellEnd::Closed => OK,
        ShellEnd::Terminated { .. } => TERMINATED,
        ShellEnd::TimedOut | ShellEnd::ConnectionLost { .. } => CONNECTION_LOST,
        ShellEnd::Signal(signal) => SIGNAL_BASE.saturating_add(u8::try_from(*signal).unwrap_or(0)),
        ShellEnd::OutputClosed => BROKEN_PIPE,
        // KMS refused the session's data key (§4.6): the same statuses as any AWS refusal.
        ShellEnd::KmsRefused { refusal, .. } => match refusal {
            KeyRefusal::AccessDenied => ACCESS_DENIED,
            KeyRefusal::NotFound => NOT_FOUND,
            KeyRefusal::Other => OTHER,
        },
    }
}

/// The status of `gangway exec`: the remote status, and never OK without one (a channel
/// closed normally but no PT 12 came: the command's result is unknown).
pub fn for_command_outcome(outcome: &ShellOutcome) -> u8 {
    match (&outcome.end, outcome.remote_exit_code) {
        (ShellEnd::Exited, None) => NO_REMOTE_STATUS,
        _ => for_outcome(outcome),
    }
}

/// Turns a remote exit code into a process status (Unix keeps the low 8 bits).
pub fn from_remote(code: i32) -> u8 {
    u8::try_from(code.rem_euclid(256)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::test_outcome as outcome;
    use crate::transport::TransportError;

    #[test]
    fn remote_codes_wrap_like_unix() {
        assert_eq!(from_remote(0), 0);
        assert_eq!(from_remote(3), 3);
        assert_eq!(from_remote(256), 0);
        assert_eq!(from_remote(-1), 255);
    }

    #[test]
    fn remote_exit_codes_win() {
        assert_eq!(for_outcome(&outcome(ShellEnd::Exited, Some(3))), 3);
        assert_eq!(for_outcome(&outcome(ShellEnd::Exited, None)), OK);
    }

    #[test]
    fn exec_never_reports_success_without_a_remote_status() {
        assert_eq!(
            for_command_outcome(&outcome(ShellEnd::Exited, None)),
            NO_REMOTE_STATUS
        );
        assert_eq!(for_command_outcome(&outcome(ShellEnd::Exited, Some(0))), OK);
        assert_eq!(for_command_outcome(&outcome(ShellEnd::Exited, Some(3))), 3);
        assert_eq!(
            for_command_outcome(&outcome(ShellEnd::Signal(2), None)),
            130
        );
    }

    #[test]
    fn each_end_has_its_status() {
        let terminated = ShellEnd::Terminated {
            reason: "idle".into(),
        };
        assert_eq!(for_outcome(&outcome(terminated, None)), TERMINATED);
        assert_eq!(
            for_outcome(&outcome(ShellEnd::TimedOut, None)),
            CONNECTION_LOST
        );
        assert_eq!(for_outcome(&outcome(ShellEnd::Signal(15), None)), 143);
        assert_eq!(for_outcome(&outcome(ShellEnd::Signal(2), None)), 130);
        assert_eq!(for_outcome(&outcome(ShellEnd::OutputClosed, None)), 141);
        let lost = ShellEnd::ConnectionLost { error: "x".into() };
        assert_eq!(for_outcome(&outcome(lost, Some(0))), CONNECTION_LOST);
        let kms = |refusal| ShellEnd::KmsRefused {
            line: "kms".into(),
            refusal,
        };
        assert_eq!(
            for_outcome(&outcome(kms(KeyRefusal::AccessDenied), None)),
            ACCESS_DENIED
        );
        assert_eq!(
            for_outcome(&outcome(kms(KeyRefusal::NotFound), None)),
            NOT_FOUND
        );
    }

    #[test]
    fn statuses_follow_the_kind_of_failure() {
        let refused = ShellError::Transport(TransportError::Refused { status: 403 });
        assert_eq!(for_shell_error(&refused), COULD_NOT_START);
        let denied = ShellError::Aws(AwsError::AccessDenied("no".into()));
        assert_eq!(for_shell_error(&denied), ACCESS_DENIED);
        let creds = AwsError::Credentials {
            detail: "none".into(),
            hint: "run `aws sso login`".into(),
        };
        assert_eq!(for_aws(&creds), CREDENTIALS);
        let unreachable = AwsError::Unreachable {
            endpoint: "https://ssm.example".into(),
            detail: "invalid peer certificate: UnknownIssuer".into(),
        };
        assert_eq!(for_aws(&unreachable), UNREACHABLE);
        assert_eq!(
            for_aws(&AwsError::TargetNotConnected("x".into())),
            TARGET_UNAVAILABLE
        );
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes = [
            OK,
            OTHER,
            USAGE,
            CREDENTIALS,
            UNREACHABLE,
            ACCESS_DENIED,
            NOT_FOUND,
            TARGET_UNAVAILABLE,
            COULD_NOT_START,
            CONNECTION_LOST,
            TERMINATED,
            BROKEN_PIPE,
            NO_REMOTE_STATUS,
            DOCUMENT_UNUSABLE,
        ];
        codes.sort_unstable();
        let before = codes.len();
        let mut unique = codes.to_vec();
        unique.dedup();
        assert_eq!(unique.len(), before);
    }
}
