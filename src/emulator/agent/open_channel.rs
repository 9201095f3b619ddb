//! The OpenDataChannel text frame a client sends first (protocol.md §1.4).

use serde::Deserialize;

/// Only the token matters to the emulator; the other fields are read to check the shape.
/// No `Debug`: the token must never reach a log.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenDataChannel {
    #[serde(default)]
    pub message_schema_version: Option<String>,
    pub token_value: String,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_version: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("the first websocket message must be an OpenDataChannel text frame")]
    NotText,
    #[error("the OpenDataChannel frame is not valid JSON with a TokenValue: {0}")]
    Malformed(String),
    #[error("unsupported OpenDataChannel MessageSchemaVersion {0:?} (expected \"1.0\")")]
    SchemaVersion(String),
}

impl OpenDataChannel {
    pub fn parse(text: &str) -> Result<Self, OpenError> {
        // serde_json's message names the failing field and position, never echoes values.
        let open: Self =
            serde_json::from_str(text).map_err(|err| OpenError::Malformed(err.to_string()))?;
        match open.message_schema_version.as_deref() {
            None | Some("1.0") => Ok(open),
            Some(other) => Err(OpenError::SchemaVersion(other.chars().take(16).collect())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_frame() {
        let text = r#"{"MessageSchemaVersion":"1.0","RequestId":"5184645d-36a7-4499-ae7c-49ac075b30eb","TokenValue":"token-1","ClientId":"c329d795-aced-4c1a-badd-bc50de221c4d","ClientVersion":"1.2.0.0"}"#;
        let open = OpenDataChannel::parse(text).unwrap();
        assert_eq!(open.token_value, "token-1");
        assert_eq!(open.client_version.as_deref(), Some("1.2.0.0"));
    }

    #[test]
    fn refuses_frames_without_token_or_with_another_schema() {
        assert!(matches!(
            OpenDataChannel::parse(r#"{"MessageSchemaVersion":"1.0"}"#),
            Err(OpenError::Malformed(_))
        ));
        assert!(OpenDataChannel::parse("not json").is_err());
        assert!(matches!(
            OpenDataChannel::parse(r#"{"MessageSchemaVersion":"2.0","TokenValue":"t"}"#),
            Err(OpenError::SchemaVersion(_))
        ));
    }
}
