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

/// Parses a JSON payload, naming the payload kind in the error.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    field: &'static str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    serde_json::from_slice(bytes).map_err(|err| DecodeError::payload(field, err))
}

/// Serializing these plain structs cannot fail (no maps with non-string keys, no custom
/// serializers that error); an empty object is written if it ever did.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
