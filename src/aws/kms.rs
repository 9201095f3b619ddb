//! KMS for encrypted sessions (protocol.md §4.6): the session's data key from GenerateDataKey
//! with the caller's own credentials, and errors that name the key and the permission.

use super::client::AwsClient;
use super::error::AwsError;
use crate::text::escape_for_terminal;

/// The 64-byte data key of one session and its CiphertextBlob for the agent.
#[derive(Clone)]
pub struct SessionDataKey {
    pub ciphertext_blob: Vec<u8>,
    plaintext: Vec<u8>,
}

impl SessionDataKey {
    /// The key bytes, for the one place that derives the session keys from them.
    pub fn expose_plaintext(&self) -> &[u8] {
        &self.plaintext
    }
}

/// Key material never reaches a log.
impl std::fmt::Debug for SessionDataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionDataKey(<redacted>)")
    }
}

/// The IAM action a KMS-encrypted session needs on the key (§4.6 step 1).
pub const GENERATE_DATA_KEY_ACTION: &str = "kms:GenerateDataKey";

impl AwsClient {
    /// GenerateDataKey with `NumberOfBytes = 64` and the encryption context
    /// `{"aws:ssm:SessionId": session_id, "aws:ssm:TargetId": target}`, as the reference
    /// plugin calls it (plugin: src/encryption/kmsservice.go, func KMSGenerateDataKey;
    /// src/datachannel/streaming.go, func ProcessKMSEncryptionHandshakeAction). `key_id` is
    /// the agent's KMSKeyId as configured in the account's preferences.
    pub async fn generate_session_data_key(
        &self,
        key_id: &str,
        session_id: &str,
        target: &str,
    ) -> Result<SessionDataKey, AwsError> {
        let out = self
            .kms
            .generate_data_key()
            .key_id(key_id)
            .number_of_bytes(64)
            .encryption_context("aws:ssm:SessionId", session_id)
            .encryption_context("aws:ssm:TargetId", target)
            .send()
            .await
            .map_err(|error| refusal(key_id, self.errors.map(error)))?;
        let ciphertext_blob = out
            .ciphertext_blob
            .map(|blob| blob.into_inner())
            .ok_or_else(|| {
                AwsError::BadResponse("GenerateDataKey returned no CiphertextBlob".into())
            })?;
        let plaintext = out
            .plaintext
            .map(|key| key.into_inner())
            .ok_or_else(|| AwsError::BadResponse("GenerateDataKey returned no Plaintext".into()))?;
        Ok(SessionDataKey {
            ciphertext_blob,
            plaintext,
        })
    }
}

/// KMS refusals become one line that names the key and what is missing; other failures
/// (credentials, network, throttling) stay as they are.
fn refusal(key_id: &str, error: AwsError) -> AwsError {
    let key = escape_for_terminal(key_id);
    match error {
        AwsError::AccessDenied(message) => AwsError::AccessDenied(format!(
            "sessions in this account are encrypted with KMS key {key}, and you lack {GENERATE_DATA_KEY_ACTION} on it: {message}"
        )),
        AwsError::NotFound(message) => AwsError::NotFound(format!(
            "the KMS key {key} that Session Manager's preferences name for encrypting sessions does not exist or is not visible to you ({message}); {GENERATE_DATA_KEY_ACTION} on it is needed"
        )),
        AwsError::Service { code, message }
            if code == "DisabledException" || code == "KMSInvalidStateException" =>
        {
            AwsError::AccessDenied(format!(
                "the KMS key {key} that encrypts this account's sessions cannot be used ({code}: {message}); {GENERATE_DATA_KEY_ACTION} on an enabled key is needed"
            ))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_key_and_the_permission() {
        let denied = refusal(
            "alias/sessions",
            AwsError::AccessDenied("User: arn:aws:iam::1:user/x is not authorized".into()),
        );
        let line = denied.to_line();
        assert!(line.contains("alias/sessions") && line.contains("kms:GenerateDataKey"));
        assert_eq!(line.lines().count(), 1);
        let missing = refusal(
            "alias/nope\u{1b}[2J",
            AwsError::NotFound("Alias … is not found.".into()),
        );
        assert!(matches!(missing, AwsError::NotFound(_)));
        assert!(!missing.to_line().contains('\u{1b}'));
        let disabled = refusal(
            "k",
            AwsError::Service {
                code: "DisabledException".into(),
                message: "k is disabled.".into(),
            },
        );
        assert!(matches!(disabled, AwsError::AccessDenied(_)));
        assert_eq!(refusal("k", AwsError::Throttled), AwsError::Throttled);
    }
}
