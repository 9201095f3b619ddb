use serde::{Deserialize, Serialize};

use super::{from_json, to_json};
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
}
