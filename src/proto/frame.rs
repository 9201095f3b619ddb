//! The binary ClientMessage/AgentMessage frame (§2): a 120-byte big-endian header and a payload.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::DecodeError;
use super::reader::Reader;
use super::types::{MESSAGE_TYPE_LEN, MessageType, PayloadType};

/// HeaderLength is the offset of PayloadLength, not the full header size (quirk 1).
pub const HEADER_LENGTH: u32 = 116;
/// Bytes before the payload: HeaderLength + the 4-byte PayloadLength field.
pub const HEADER_SIZE: usize = 120;
/// Flags bit 0 (§2, "Flags in practice").
pub const FLAG_SYN: u64 = 1;
/// Flags bit 1.
pub const FLAG_FIN: u64 = 2;

/// One decoded frame. `encode` writes exactly the reference layout; `decode` is strict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub message_type: MessageType,
    pub schema_version: u32,
    pub created_ms: u64,
    pub sequence: i64,
    pub flags: u64,
    pub message_id: Uuid,
    pub payload_type: PayloadType,
    pub payload: Vec<u8>,
}

impl Frame {
    /// Encodes the frame as the reference does (§2). A MessageType longer than 32 bytes is
    /// truncated to the field width (the reference refuses to serialize it; ours never
    /// produces one).
    pub fn encode(&self) -> Vec<u8> {
        FrameRef {
            message_type: &self.message_type,
            schema_version: self.schema_version,
            created_ms: self.created_ms,
            sequence: self.sequence,
            flags: self.flags,
            message_id: self.message_id,
            payload_type: self.payload_type,
            payload: &self.payload,
        }
        .encode()
    }

    /// Decodes one frame strictly: at least 120 bytes, HeaderLength 116, PayloadLength equal to
    /// the bytes that follow, a non-empty ASCII MessageType and a matching SHA-256 digest.
    ///
    /// Like the reference (§2.1) the digest of an empty payload is not checked, since the
    /// service's unvalidated publication messages may carry none.
    pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let mut reader = Reader::new(bytes);
        let header_length = reader.u32("header length")?;
        let type_field = reader.take(MESSAGE_TYPE_LEN, "message type")?;
        let schema_version = reader.u32("schema version")?;
        let created_ms = reader.u64("created date")?;
        let sequence = reader.i64("sequence number")?;
        let flags = reader.u64("flags")?;
        let id_field: [u8; 16] = reader.take_array("message id")?;
        let digest: [u8; 32] = reader.take_array("payload digest")?;
        let payload_type = reader.u32("payload type")?;
        if header_length != HEADER_LENGTH {
            return Err(DecodeError::HeaderLength(header_length));
        }
        let declared = reader.u32("payload length")?;
        let payload = reader.rest();
        if usize::try_from(declared).ok() != Some(payload.len()) {
            return Err(DecodeError::PayloadLength {
                declared,
                actual: payload.len(),
            });
        }
        if !payload.is_empty() && <[u8; 32]>::from(Sha256::digest(payload)) != digest {
            return Err(DecodeError::Digest);
        }
        Ok(Frame {
            message_type: parse_message_type(type_field)?,
            schema_version,
            created_ms,
            sequence,
            flags,
            message_id: message_id_from_wire(id_field),
            payload_type: PayloadType::from_u32(payload_type),
            payload: payload.to_vec(),
        })
    }
}

/// A frame with borrowed type and payload: senders encode straight from their input
/// without first copying it into a [`Frame`].
pub(crate) struct FrameRef<'a> {
    pub message_type: &'a MessageType,
    pub schema_version: u32,
    pub created_ms: u64,
    pub sequence: i64,
    pub flags: u64,
    pub message_id: Uuid,
    pub payload_type: PayloadType,
    pub payload: &'a [u8],
}

impl FrameRef<'_> {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_SIZE + self.payload.len());
        out.extend_from_slice(&HEADER_LENGTH.to_be_bytes());
        let name = self.message_type.as_str().as_bytes();
        let name = &name[..name.len().min(MESSAGE_TYPE_LEN)];
        out.extend_from_slice(name);
        // Space padding, not NUL (quirk 3).
        out.resize(out.len() + MESSAGE_TYPE_LEN - name.len(), b' ');
        out.extend_from_slice(&self.schema_version.to_be_bytes());
        out.extend_from_slice(&self.created_ms.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&message_id_to_wire(self.message_id));
        out.extend_from_slice(&Sha256::digest(self.payload));
        out.extend_from_slice(&self.payload_type.as_u32().to_be_bytes());
        let payload_len = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&payload_len.to_be_bytes());
        out.extend_from_slice(self.payload);
        out
    }
}

/// Receivers strip NUL and whitespace padding (quirk 3). What remains must be printable ASCII
/// without spaces, so that a decoded type re-encodes to a field that decodes to the same type
/// (found by fuzzing: an interior NUL after a leading space did not survive a round trip).
fn parse_message_type(field: &[u8]) -> Result<MessageType, DecodeError> {
    let text = std::str::from_utf8(field).map_err(|_| DecodeError::MessageType)?;
    let name = text.trim_matches(|c: char| c == '\0' || c.is_ascii_whitespace());
    if name.is_empty() || !name.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(DecodeError::MessageType);
    }
    Ok(MessageType::parse(name))
}

/// The two 8-byte halves of the UUID are swapped on the wire (quirk 2).
pub fn message_id_to_wire(id: Uuid) -> [u8; 16] {
    let canonical = id.as_bytes();
    let mut wire = [0u8; 16];
    wire[..8].copy_from_slice(&canonical[8..]);
    wire[8..].copy_from_slice(&canonical[..8]);
    wire
}

pub fn message_id_from_wire(wire: [u8; 16]) -> Uuid {
    let mut canonical = [0u8; 16];
    canonical[..8].copy_from_slice(&wire[8..]);
    canonical[8..].copy_from_slice(&wire[..8]);
    Uuid::from_bytes(canonical)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Frame {
        Frame {
            message_type: MessageType::InputStreamData,
            schema_version: 1,
            created_ms: 1_503_434_274_948,
            sequence: 7,
            flags: 0,
            message_id: Uuid::parse_str("dd01e56b-ff48-483e-a508-b5f073f31b16").unwrap(),
            payload_type: PayloadType::Output,
            payload: b"ls\r".to_vec(),
        }
    }

    #[test]
    fn round_trip() {
        let bytes = sample().encode();
        assert_eq!(bytes.len(), 123);
        assert_eq!(Frame::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn each_truncation_names_a_field() {
        let bytes = sample().encode();
        for len in 0..HEADER_SIZE {
            let err = Frame::decode(&bytes[..len]).unwrap_err();
            assert!(
                matches!(err, DecodeError::TooShort { .. }),
                "{len}: {err:?}"
            );
        }
        let err = Frame::decode(&bytes[..121]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::PayloadLength {
                declared: 3,
                actual: 1
            }
        );
    }

    #[test]
    fn rejects_bad_header_length_digest_and_type() {
        let mut bytes = sample().encode();
        bytes[3] = 120;
        assert_eq!(
            Frame::decode(&bytes).unwrap_err(),
            DecodeError::HeaderLength(120)
        );
        let mut bytes = sample().encode();
        bytes[122] ^= 1;
        assert_eq!(Frame::decode(&bytes).unwrap_err(), DecodeError::Digest);
        let mut bytes = sample().encode();
        bytes[4..36].fill(b' ');
        assert_eq!(Frame::decode(&bytes).unwrap_err(), DecodeError::MessageType);
    }

    #[test]
    fn control_characters_in_the_type_are_rejected() {
        let mut bytes = sample().encode();
        bytes[4] = b' ';
        bytes[6] = 0;
        assert_eq!(Frame::decode(&bytes).unwrap_err(), DecodeError::MessageType);
    }

    #[test]
    fn nul_padded_type_is_accepted() {
        let mut bytes = sample().encode();
        bytes[4 + 17..36].fill(0);
        let frame = Frame::decode(&bytes).unwrap();
        assert_eq!(frame.message_type, MessageType::InputStreamData);
    }
}
