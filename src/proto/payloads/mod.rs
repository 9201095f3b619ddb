//! Typed payloads (§3, §4) with the exact JSON field names of the reference (Go
//! `encoding/json`: declaration order, `[]byte` as standard base64, durations in ns).

mod ack;
mod channel_closed;
mod civil_time;
mod handshake;
mod small;

pub use ack::Acknowledge;
pub use channel_closed::ChannelClosed;
pub use civil_time::format_rfc3339_ms;
pub use handshake::{
    ActionStatus, HandshakeComplete, HandshakeRequest, HandshakeResponse, ProcessedClientAction,
    RequestedClientAction,
};
pub use small::{EncChallenge, ExitCode, PayloadFlag, TerminalSize};

use super::error::DecodeError;

/// Every object key the payloads of §3 and §4 use, spelled as the reference writes them.
const CANONICAL_KEYS: [&str; 29] = [
    "AcknowledgedMessageId",
    "AcknowledgedMessageSequenceNumber",
    "AcknowledgedMessageType",
    "ActionParameters",
    "ActionResult",
    "ActionStatus",
    "ActionType",
    "AgentVersion",
    "Challenge",
    "ClientVersion",
    "CreatedDate",
    "CustomerMessage",
    "DestinationId",
    "Error",
    "Errors",
    "HandshakeTimeToComplete",
    "IsSequentialMessage",
    "MessageId",
    "MessageType",
    "Output",
    "ProcessedClientActions",
    "Properties",
    "RequestedClientActions",
    "SchemaVersion",
    "SessionId",
    "SessionType",
    "cols",
    "rows",
    "KMSKeyId",
];

/// Parses a JSON payload, naming the payload kind in the error. Keys match whatever their
/// case, as Go's `encoding/json` decodes them on both reference ends (§3): a spelling the
/// reference accepts is not dropped here.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    field: &'static str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| DecodeError::payload(field, err))?;
    canonicalize_keys(&mut value);
    serde_json::from_value(value).map_err(|err| DecodeError::payload(field, err))
}

/// Like [`from_json`] for the payload parsed once per frame (acks): the exact parse first,
/// the case-insensitive one only when that fails (a required key spelled differently).
pub(crate) fn from_json_fast<T: serde::de::DeserializeOwned>(
    field: &'static str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    serde_json::from_slice(bytes).or_else(|_| from_json(field, bytes))
}

/// Renames, in every object, a key that equals a canonical key but for case, unless the
/// canonical spelling is there too (Go prefers the exact match).
pub(crate) fn canonicalize_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let renames: Vec<(String, &str)> = map
                .keys()
                .filter_map(|key| {
                    let canonical = CANONICAL_KEYS
                        .iter()
                        .find(|canonical| canonical.eq_ignore_ascii_case(key))?;
                    (key != canonical && !map.contains_key(*canonical))
                        .then(|| (key.clone(), *canonical))
                })
                .collect();
            for (key, canonical) in renames {
                if let Some(moved) = map.remove(&key) {
                    map.entry(canonical).or_insert(moved);
                }
            }
            map.values_mut().for_each(canonicalize_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(canonicalize_keys),
        _ => {}
    }
}

/// Serializing these plain structs cannot fail (no maps with non-string keys, no custom
/// serializers that error); an empty object is written if it ever did.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_whatever_their_case_as_in_go() {
        let ack = Acknowledge::from_json(
            br#"{"acknowledgedmessagetype":"input_stream_data","ACKNOWLEDGEDMESSAGESEQUENCENUMBER":7}"#,
        )
        .unwrap();
        assert_eq!(ack.acknowledged_message_sequence_number, 7);
        assert_eq!(ack.acknowledged_message_type, "input_stream_data");

        let closed = ChannelClosed::from_json(br#"{"output":"bye","sessionId":"s-1"}"#).unwrap();
        assert_eq!(closed.output, "bye");
        assert_eq!(closed.session_id, "s-1");

        let request = HandshakeRequest::from_json(
            br#"{"agentVersion":"3.3.0.0","requestedClientActions":[{"actionType":"SessionType","actionParameters":{"sessionType":"Port","properties":{"portNumber":"22"}}}]}"#,
        )
        .unwrap();
        assert_eq!(request.agent_version, "3.3.0.0");
        let action = &request.requested_client_actions[0];
        assert_eq!(action.requested_session_type(), Some("Port"));
        // Free-form properties keep their own keys.
        assert_eq!(action.properties().unwrap()["portNumber"], "22");

        let size = TerminalSize::from_json(br#"{"Cols":100,"ROWS":40}"#).unwrap();
        assert_eq!((size.cols, size.rows), (100, 40));
    }

    #[test]
    fn the_exact_spelling_wins_over_another_case() {
        let closed = ChannelClosed::from_json(br#"{"output":"lower","Output":"exact"}"#).unwrap();
        assert_eq!(closed.output, "exact");
    }
}
