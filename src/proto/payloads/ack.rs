use serde::{Deserialize, Serialize};

use super::{from_json_fast, to_json};
use crate::proto::error::DecodeError;

/// AcknowledgeContent (§3): sent with MessageType `acknowledge`, PayloadType 0, seq 0, flags 3.
/// Receivers match only on the sequence number (quirk 7), so the other fields default when
/// missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledge {
    #[serde(rename = "AcknowledgedMessageType", default)]
    pub acknowledged_message_type: String,
    #[serde(rename = "AcknowledgedMessageId", default)]
    pub acknowledged_message_id: String,
    #[serde(rename = "AcknowledgedMessageSequenceNumber")]
    pub acknowledged_message_sequence_number: i64,
    #[serde(rename = "IsSequentialMessage", default)]
    pub is_sequential_message: bool,
}

impl Acknowledge {
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        from_json_fast("acknowledge", bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_bytes() {
        let ack = Acknowledge {
            acknowledged_message_type: "output_stream_data".into(),
            acknowledged_message_id: "50ad475c-3e5a-436b-b36b-39a66c6634f4".into(),
            acknowledged_message_sequence_number: 0,
            is_sequential_message: true,
        };
        let expected = r#"{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"50ad475c-3e5a-436b-b36b-39a66c6634f4","AcknowledgedMessageSequenceNumber":0,"IsSequentialMessage":true}"#;
        assert_eq!(String::from_utf8(ack.to_json()).unwrap(), expected);
        assert_eq!(Acknowledge::from_json(expected.as_bytes()).unwrap(), ack);
    }

    #[test]
    fn sequence_number_is_required() {
        assert!(Acknowledge::from_json(br#"{"IsSequentialMessage":true}"#).is_err());
    }
}
