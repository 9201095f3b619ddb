//! Exit statuses of `gangway connect` (issue 5), documented in docs/user-guide.md.
//!
//! The remote command's own status wins when the protocol carries one (PayloadType 12,
//! NonInteractiveCommands); the codes below are chosen apart from the usual shell ones
//! (126, 127, 128+n), and the AWS ones are `AwsError::exit_status`, shared with
//! `gangway list`.

/// Normal end of a shell (`exit`, or the agent closed the channel without a reason).
pub const OK: u8 = 0;
/// Any other AWS failure (throttling, a service error).
pub const OTHER: u8 = 1;
/// Unknown or ambiguous target (the candidates are listed).
pub const BAD_TARGET: u8 = 2;
/// AWS credentials missing or expired (shared with `gangway list`).
pub const CREDENTIALS: u8 = 3;
/// The AWS endpoint could not be reached (shared with `gangway list`).
pub const UNREACHABLE: u8 = 4;
/// Access denied by IAM, or access that has expired (shared with `gangway list`).
pub const ACCESS_DENIED: u8 = 5;
/// AWS said the target does not exist.
pub const NOT_FOUND: u8 = 6;
/// The instance cannot take a session: stopped, agent offline, not managed, agent too old.
pub const TARGET_UNAVAILABLE: u8 = 7;
/// The session could not be started: websocket refused, TLS or proxy failure, no answer.
pub const COULD_NOT_START: u8 = 10;
/// The connection was lost and could not be resumed, or the session timed out meanwhile.
pub const CONNECTION_LOST: u8 = 11;
/// The service ended the session with a reason: idle timeout, maximum duration, or an
/// administrator's TerminateSession.
pub const TERMINATED: u8 = 12;
/// Base for "ended by signal n" (SIGTERM → 143, SIGHUP → 129), as shells report it.
pub const SIGNAL_BASE: u8 = 128;

/// Turns a remote exit code into a process status (Unix keeps the low 8 bits).
pub fn from_remote(code: i32) -> u8 {
    u8::try_from(code.rem_euclid(256)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_codes_wrap_like_unix() {
        assert_eq!(from_remote(0), 0);
        assert_eq!(from_remote(3), 3);
        assert_eq!(from_remote(256), 0);
        assert_eq!(from_remote(-1), 255);
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes = [
            OK,
            OTHER,
            BAD_TARGET,
            CREDENTIALS,
            UNREACHABLE,
            ACCESS_DENIED,
            NOT_FOUND,
            TARGET_UNAVAILABLE,
            COULD_NOT_START,
            CONNECTION_LOST,
            TERMINATED,
        ];
        codes.sort_unstable();
        let before = codes.len();
        let mut unique = codes.to_vec();
        unique.dedup();
        assert_eq!(unique.len(), before);
    }
}
