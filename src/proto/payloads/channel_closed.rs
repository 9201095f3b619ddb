use serde::{Deserialize, Serialize};

use super::{canonicalize_keys, from_json, to_json};
use crate::proto::error::DecodeError;

/// The channel_closed payload (§3). The client reads only `Output`, so every field defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelClosed {
    #[serde(rename = "MessageId", default)]
    pub message_id: String,
    #[serde(rename = "CreatedDate", default)]
    pub created_date: String,
    #[serde(rename = "DestinationId", default)]
    pub destination_id: String,
    #[serde(rename = "SessionId", default)]
    pub session_id: String,
    #[serde(rename = "MessageType", default)]
    pub message_type: String,
    #[serde(rename = "SchemaVersion", default)]
    pub schema_version: u32,
    #[serde(rename = "Output", default)]
    pub output: String,
}

impl ChannelClosed {
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        from_json("channel_closed", bytes)
    }

    /// For a payload [`from_json`](Self::from_json) refuses: every field that is there with
    /// the right JSON type (keys in any case, §3), the rest empty; not JSON at all gives an
    /// empty Output, which the plugin treats as a plain end of session (§3).
    pub fn from_json_lenient(bytes: &[u8]) -> Self {
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return Self::default();
        };
        canonicalize_keys(&mut value);
        let text = |key: &str| {
            value
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .unwrap_or_default()
        };
        Self {
            message_id: text("MessageId"),
            created_date: text("CreatedDate"),
            destination_id: text("DestinationId"),
            session_id: text("SessionId"),
            message_type: text("MessageType"),
            schema_version: value
                .get("SchemaVersion")
                .and_then(serde_json::Value::as_u64)
                .and_then(|version| u32::try_from(version).ok())
                .unwrap_or_default(),
            output: text("Output"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_captured_payload() {
        let text = r#"{"MessageId": "a707b9f5-fe25-429e-9499-f196ab2d0dc2", "CreatedDate": "2024-01-01T00:00:00.000Z", "DestinationId": "i-0123456789abcdef0", "SessionId": "emu-user-0a1b2c3d4e5f67890", "MessageType": "channel_closed", "SchemaVersion": 1, "Output": "Session terminated by emulator"}"#;
        let closed = ChannelClosed::from_json(text.as_bytes()).unwrap();
        assert_eq!(closed.output, "Session terminated by emulator");
        assert_eq!(closed.schema_version, 1);
        let again = ChannelClosed::from_json(&closed.to_json()).unwrap();
        assert_eq!(again, closed);
    }

    #[test]
    fn odd_fields_keep_the_readable_rest() {
        let odd = br#"{"SchemaVersion":"1","output":"bye","SessionId":7,"Extra":[1]}"#;
        assert!(ChannelClosed::from_json(odd).is_err());
        let closed = ChannelClosed::from_json_lenient(odd);
        assert_eq!(closed.output, "bye");
        assert_eq!(closed.schema_version, 0);
        assert_eq!(closed.session_id, "");
        let null_output = ChannelClosed::from_json_lenient(br#"{"Output":null}"#);
        assert_eq!(null_output.output, "");
        assert_eq!(
            ChannelClosed::from_json_lenient(b"\xff not json"),
            ChannelClosed::default()
        );
    }
}
