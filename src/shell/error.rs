//! Why a shell could not be opened or run: one line each for the user. The exit status each
//! kind maps to is decided by the commands (`commands::exit`), not here: the UI shows the
//! line and needs no status.

use crate::aws::AwsError;
use crate::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("{}", .0.to_line())]
    Aws(#[from] AwsError),
    #[error("could not open the session: {0}")]
    Transport(#[from] TransportError),
    #[error("terminal or stdio failure: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_is_one_line_with_its_advice() {
        let refused = ShellError::Transport(TransportError::Refused { status: 403 });
        assert_eq!(refused.to_string().lines().count(), 1);
        let creds = ShellError::Aws(AwsError::Credentials {
            detail: "none".into(),
            hint: "run `aws sso login`".into(),
        });
        assert!(creds.to_string().contains("aws sso login"));
    }
}
