//! The EC2 error every handler returns: an HTTP status, an AWS error code and a message.
//! Kept apart from the handlers (only `hyper::StatusCode` from outside) so that the fuzz crate
//! can compile the query parser (`query.rs`) with it and nothing else of the emulator.

use hyper::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Ec2Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }
}
