//! Why a session ended: the channel_closed text the client prints (protocol.md §3) and what
//! DescribeSessions History shows.

use std::time::Duration;

use crate::emulator::sessions::{SessionStatus, TerminateRequest};

#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The shell or command exited and everything was acknowledged (or the drain gave up).
    ProcessExited { code: Option<i32> },
    /// No stream data in either direction for the idle session timeout (§7.3).
    IdleTimeout(Duration),
    /// The maximum session duration passed (§7.3).
    MaxDuration(Duration),
    /// TerminateSession (or emulator shutdown), through the registry.
    Terminated(TerminateRequest),
    /// The client sent a channel_closed (a TerminateSession Flag does not end a shell-type
    /// session, §6.1).
    ClosedByClient,
    /// No websocket was attached for the grace period: nobody can resume any more.
    Abandoned(Duration),
    /// The session cannot run: an unsupported document, a failed spawn or handshake, a port
    /// session without a connection to its destination.
    Failed(String),
    /// A port session ended normally (History reason): the SSH server closed the connection,
    /// or the client sent TerminateSession.
    PortFinished(String),
}

impl Ending {
    /// The channel_closed Output; empty for a normal exit, which makes the reference client
    /// print "Exiting session with sessionId: …".
    pub fn channel_closed_output(&self) -> String {
        match self {
            Self::ProcessExited { .. } | Self::PortFinished(_) => String::new(),
            Self::IdleTimeout(limit) => format!(
                "Session terminated: idle for {} (idle session timeout).",
                human_duration(*limit)
            ),
            Self::MaxDuration(limit) => format!(
                "Session terminated: reached the maximum session duration of {}.",
                human_duration(*limit)
            ),
            Self::Terminated(request) => request.reason.clone(),
            Self::ClosedByClient => "Session terminated by the client.".to_string(),
            Self::Abandoned(grace) => format!(
                "Session terminated: no client connected for {}.",
                human_duration(*grace)
            ),
            Self::Failed(reason) => reason.clone(),
        }
    }

    pub fn status(&self) -> SessionStatus {
        match self {
            Self::Failed(_) => SessionStatus::Failed,
            _ => SessionStatus::Terminated,
        }
    }

    /// The end reason recorded in History.
    pub fn history_reason(&self) -> String {
        match self {
            Self::ProcessExited { code: Some(code) } => {
                format!("The shell exited with code {code}.")
            }
            Self::ProcessExited { code: None } => {
                "The shell ended; its exit code is unknown.".to_string()
            }
            Self::PortFinished(reason) => reason.clone(),
            other => other.channel_closed_output(),
        }
    }
}

/// "20 minutes", "1 minute", "90 seconds": whole minutes when exact.
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (count, unit) = if seconds >= 60 && seconds.is_multiple_of(60) {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_timer_and_its_value() {
        let idle = Ending::IdleTimeout(Duration::from_secs(20 * 60));
        assert_eq!(
            idle.channel_closed_output(),
            "Session terminated: idle for 20 minutes (idle session timeout)."
        );
        let max = Ending::MaxDuration(Duration::from_secs(3));
        assert!(max.channel_closed_output().contains("3 seconds"));
        assert_eq!(human_duration(Duration::from_secs(60)), "1 minute");
        let exited = Ending::ProcessExited { code: Some(0) };
        assert_eq!(exited.channel_closed_output(), "");
        assert!(exited.history_reason().contains("code 0"));
        assert_eq!(Ending::Failed("x".into()).status(), SessionStatus::Failed);
    }
}
