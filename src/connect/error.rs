//! Errors of `connect`: each is one line for the user with the exit status it maps to.

use super::exit;
use crate::aws::{AwsError, ResolveError};
use crate::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{}", .0.to_line())]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Target(#[from] ResolveError),
    /// The instance cannot take a session; the text is the diagnosis and its fix.
    #[error("{0}")]
    Unavailable(String),
    #[error("could not open the session: {0}")]
    Transport(#[from] TransportError),
    #[error("terminal or stdio failure: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad --parameter `{0}`: expected KEY=VALUE")]
    BadParameter(String),
}

impl ConnectError {
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Aws(error) => error.exit_status(),
            Self::Target(_) | Self::BadParameter(_) => exit::BAD_TARGET,
            Self::Unavailable(_) => exit::TARGET_UNAVAILABLE,
            Self::Transport(_) | Self::Io(_) => exit::COULD_NOT_START,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_kind_of_failure() {
        let refused = ConnectError::Transport(TransportError::Refused { status: 403 });
        assert_eq!(refused.exit_status(), exit::COULD_NOT_START);
        assert_eq!(refused.to_string().lines().count(), 1);
        let denied = ConnectError::Aws(AwsError::AccessDenied("no".into()));
        assert_eq!(denied.exit_status(), exit::ACCESS_DENIED);
        let creds = ConnectError::Aws(AwsError::Credentials {
            detail: "none".into(),
            hint: "run `aws sso login`".into(),
        });
        assert_eq!(creds.exit_status(), exit::CREDENTIALS);
        assert!(creds.to_string().contains("aws sso login"));
    }
}
