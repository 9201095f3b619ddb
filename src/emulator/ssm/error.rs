//! SSM errors as AWS sends them: HTTP 400 with `{"__type": "<Code>", "message": "…"}`.

use hyper::StatusCode;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsmError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl SsmError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "__type": self.code, "message": self.message })
    }

    pub fn serialization(message: &str) -> Self {
        Self::new("SerializationException", message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    pub fn unknown_operation(target: &str) -> Self {
        let shown: String = target
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        Self::new(
            "UnknownOperationException",
            format!("Unknown operation {shown}"),
        )
    }

    pub fn invalid_next_token() -> Self {
        Self::new("InvalidNextToken", "The specified token isn't valid.")
    }

    pub fn invalid_filter_key(key: &str) -> Self {
        let shown: String = key.chars().filter(|c| !c.is_control()).take(100).collect();
        Self::new(
            "InvalidFilterKey",
            format!("The filter key {shown} is not valid."),
        )
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDeniedException", message)
    }
}
