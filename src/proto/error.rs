//! Errors of the protocol core: a flat decode error naming the failing field, and the errors
//! of the user commands on a [`Session`](super::Session).

use thiserror::Error;

/// Why a binary frame (§2) or one of its payloads (§3, §4) was rejected.
///
/// Decoding is strict (stricter than the reference, §2.1) and never panics.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended inside the named field.
    #[error("frame too short: missing {field}")]
    TooShort { field: &'static str },
    /// HeaderLength must be 116 (quirk 1).
    #[error("header length is {0}, expected 116")]
    HeaderLength(u32),
    /// PayloadLength must equal the number of bytes after the 120-byte header.
    #[error("payload length field says {declared} bytes but {actual} follow the header")]
    PayloadLength { declared: u32, actual: usize },
    /// SHA-256 of the payload does not match PayloadDigest.
    #[error("payload digest does not match the payload")]
    Digest,
    /// MessageType is empty, or not printable ASCII once its padding is stripped.
    #[error("message type is empty or not printable ASCII")]
    MessageType,
    /// A payload's JSON (or binary layout) is not what §3/§4 describe.
    #[error("invalid {field} payload: {reason}")]
    Payload { field: &'static str, reason: String },
}

impl DecodeError {
    pub(crate) fn payload(field: &'static str, reason: impl ToString) -> Self {
        Self::Payload {
            field,
            reason: reason.to_string(),
        }
    }
}

/// Why a user command on a [`Session`](super::Session) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// The channel was closed (channel_closed sent or received).
    #[error("the session is closed")]
    Closed,
    /// The outgoing buffer is full of unacknowledged messages; retry after acks arrive.
    #[error("the outgoing buffer is full")]
    BufferFull,
    /// This command belongs to the other role (e.g. a client sending an exit code).
    #[error("this command is not available in this role")]
    WrongRole,
    /// The handshake command does not fit the current handshake state (§4.2).
    #[error("handshake step out of order: {0}")]
    HandshakeState(&'static str),
    /// The KMS data key cannot be used (§4.6).
    #[error("{0}")]
    Crypto(#[from] crate::proto::crypto::CryptoError),
}
