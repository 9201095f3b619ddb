//! KMS errors as AWS sends them: HTTP 400 with `{"__type": "<Code>", "message": "…"}`, under
//! the exception names of the KMS API reference.

use hyper::StatusCode;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl KmsError {
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

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("NotFoundException", message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new("AlreadyExistsException", message)
    }

    /// KMS says nothing more about a blob it cannot decrypt.
    pub fn invalid_ciphertext() -> Self {
        Self::new("InvalidCiphertextException", "")
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// The wording of a key policy that does not allow the caller (IAM's message shape).
    pub fn access_denied(user_arn: &str, action: &str, key_arn: &str) -> Self {
        Self::new(
            "AccessDeniedException",
            format!(
                "User: {user_arn} is not authorized to perform: kms:{action} on resource: {key_arn} because no resource-based policy allows the kms:{action} action"
            ),
        )
    }

    pub fn disabled(key_arn: &str) -> Self {
        Self::new("DisabledException", format!("{key_arn} is disabled."))
    }
}
