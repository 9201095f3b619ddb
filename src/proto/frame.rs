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

    /// Decodes one frame strictly, as a sender writes it (receivers use the lenient
    /// [`Frame::decode_received`]): at least 120 bytes, HeaderLength 116, PayloadLength equal to
    /// the bytes that follow, a non-empty ASCII MessageType and a matching SHA-256 digest.
    ///
    /// Like the reference (§2.1) the digest of an empty payload is not checked, since the
    /// service's unvalidated publication messages may carry none.
    pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let mut reader = Reader::new(bytes);
        let head = Head::read(&mut reader)?;
        if head.header_length != HEADER_LENGTH {
            return Err(DecodeError::HeaderLength(head.header_length));
        }
        let declared = reader.u32("payload length")?;
        let payload = reader.rest();
        if usize::try_from(declared).ok() != Some(payload.len()) {
            return Err(DecodeError::PayloadLength {
                declared,
                actual: payload.len(),
            });
        }
        if !payload.is_empty() && <[u8; 32]>::from(Sha256::digest(payload)) != head.digest {
            return Err(DecodeError::Digest);
        }
        let message_type = parse_message_type(head.type_field)?;
        Ok(head.frame(message_type, payload))
    }
}

/// The header fields before PayloadLength, in wire order (§2), as read: both decoders read
/// them alike and differ in what they check after.
struct Head<'a> {
    header_length: u32,
    type_field: &'a [u8],
    schema_version: u32,
    created_ms: u64,
    sequence: i64,
    flags: u64,
    id_field: [u8; 16],
    digest: [u8; 32],
    payload_type: u32,
}

impl<'a> Head<'a> {
    fn read(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            header_length: reader.u32("header length")?,
            type_field: reader.take(MESSAGE_TYPE_LEN, "message type")?,
            schema_version: reader.u32("schema version")?,
            created_ms: reader.u64("created date")?,
            sequence: reader.i64("sequence number")?,
            flags: reader.u64("flags")?,
            id_field: reader.take_array("message id")?,
            digest: reader.take_array("payload digest")?,
            payload_type: reader.u32("payload type")?,
        })
    }

    /// The frame this header heads, its type already parsed from `type_field`.
    fn frame(&self, message_type: MessageType, payload: &[u8]) -> Frame {
        Frame {
            message_type,
            schema_version: self.schema_version,
            created_ms: self.created_ms,
            sequence: self.sequence,
            flags: self.flags,
            message_id: message_id_from_wire(self.id_field),
            payload_type: PayloadType::from_u32(self.payload_type),
            payload: payload.to_vec(),
        }
    }
}

/// A frame as a receiver accepts it (§2.1), with what was not canonical about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub frame: Frame,
    /// HeaderLength was not 116, or PayloadLength disagreed with the bytes after the header:
    /// accepted like the references do, worth a log line.
    pub noncanonical: bool,
}

impl Frame {
    /// Decodes one frame as leniently as the reference client reads what it receives
    /// (§2.1, quirk 30; plugin: src/message/messageparser.go, funcs DeserializeClientMessage
    /// and Validate): at least 120 bytes, a non-empty ASCII MessageType, 116 ≤ HeaderLength ≤
    /// length − 4, and the payload is everything after the PayloadLength field at offset
    /// HeaderLength; a PayloadLength that disagrees is only reported. The digest is checked
    /// per kind of sender: never for the service's start/pause_publication, for channel_closed
    /// only when PayloadLength ≠ 0 (the plugin's rule), and for everything else (stream data
    /// and acks from the peer) whenever there is a payload or one is declared.
    pub fn decode_received(bytes: &[u8]) -> Result<Received, DecodeError> {
        let mut reader = Reader::new(bytes);
        let head = Head::read(&mut reader)?;
        // The 120-byte minimum: PayloadLength must be there even when HL puts it elsewhere.
        reader.u32("payload length")?;
        let message_type = parse_message_type(head.type_field)?;
        let offset = usize::try_from(head.header_length)
            .ok()
            .filter(|offset| *offset >= HEADER_LENGTH as usize)
            .ok_or(DecodeError::HeaderLength(head.header_length))?;
        // A bounds check the plugin lacks (quirk 19): HL + 4 past the end is refused.
        let (Some(length_field), Some(payload)) = (
            bytes.get(offset..offset.saturating_add(4)),
            bytes.get(offset.saturating_add(4)..),
        ) else {
            return Err(DecodeError::HeaderLength(head.header_length));
        };
        let mut declared = [0u8; 4];
        declared.copy_from_slice(length_field);
        let declared = u32::from_be_bytes(declared);
        let check_digest = match message_type {
            MessageType::StartPublication | MessageType::PausePublication => false,
            MessageType::ChannelClosed => declared != 0,
            _ => declared != 0 || !payload.is_empty(),
        };
        if check_digest && <[u8; 32]>::from(Sha256::digest(payload)) != head.digest {
            return Err(DecodeError::Digest);
        }
        let noncanonical = head.header_length != HEADER_LENGTH
            || usize::try_from(declared).ok() != Some(payload.len());
        Ok(Received {
            frame: head.frame(message_type, payload),
            noncanonical,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod lenient_tests {
    use super::*;

    fn frame(message_type: MessageType, payload: &[u8]) -> Frame {
        Frame {
            message_type,
            schema_version: 1,
            created_ms: 1_503_434_274_948,
            sequence: 3,
            flags: 0,
            message_id: Uuid::from_u128(42),
            payload_type: PayloadType::Output,
            payload: payload.to_vec(),
        }
    }

    /// The frame laid out with HeaderLength `header_length`: `header_length - 116` filler
    /// bytes between PayloadType and PayloadLength, as a sender with a longer header would.
    fn with_header_length(frame: &Frame, header_length: u32) -> Vec<u8> {
        let canonical = frame.encode();
        let mut bytes = canonical[..116].to_vec();
        bytes[..4].copy_from_slice(&header_length.to_be_bytes());
        bytes.resize(header_length as usize, 0xee);
        bytes.extend_from_slice(&canonical[116..]);
        bytes
    }

    #[test]
    fn a_longer_header_is_accepted_and_its_payload_found_after_it() {
        let sent = frame(MessageType::OutputStreamData, b"hello");
        let bytes = with_header_length(&sent, 124);
        assert_eq!(
            Frame::decode(&bytes).unwrap_err(),
            DecodeError::HeaderLength(124)
        );
        let received = Frame::decode_received(&bytes).unwrap();
        assert_eq!(received.frame, sent);
        assert!(received.noncanonical);
        let canonical = Frame::decode_received(&sent.encode()).unwrap();
        assert!(!canonical.noncanonical);
    }

    #[test]
    fn header_lengths_outside_116_to_len_minus_4_are_refused() {
        let bytes = frame(MessageType::OutputStreamData, b"abc").encode();
        for header_length in [0, 115, 120, 124, u32::MAX] {
            let mut bad = bytes.clone();
            bad[..4].copy_from_slice(&header_length.to_be_bytes());
            assert_eq!(
                Frame::decode_received(&bad).unwrap_err(),
                DecodeError::HeaderLength(header_length),
                "{header_length}"
            );
        }
        for len in 0..HEADER_SIZE {
            assert!(matches!(
                Frame::decode_received(&bytes[..len]),
                Err(DecodeError::TooShort { .. })
            ));
        }
    }

    #[test]
    fn a_payload_length_that_disagrees_is_only_reported() {
        let sent = frame(MessageType::OutputStreamData, b"hello");
        let mut bytes = sent.encode();
        bytes[116..120].copy_from_slice(&99u32.to_be_bytes());
        assert!(Frame::decode(&bytes).is_err());
        let received = Frame::decode_received(&bytes).unwrap();
        assert_eq!(received.frame.payload, b"hello");
        assert!(received.noncanonical);
    }

    #[test]
    fn digests_are_checked_per_sender_as_in_the_plugin() {
        // Stream data from the peer: a wrong digest is refused, even with PayloadLength 0.
        let mut stream = frame(MessageType::OutputStreamData, b"data").encode();
        stream[80] ^= 1;
        assert_eq!(
            Frame::decode_received(&stream).unwrap_err(),
            DecodeError::Digest
        );
        stream[116..120].fill(0);
        assert_eq!(
            Frame::decode_received(&stream).unwrap_err(),
            DecodeError::Digest
        );
        // The service's publication messages are not validated at all.
        let mut pause = frame(MessageType::PausePublication, b"{}").encode();
        pause[80..112].fill(0);
        let pause = Frame::decode_received(&pause).unwrap();
        assert_eq!(pause.frame.message_type, MessageType::PausePublication);
        // channel_closed: the digest only when PayloadLength is not 0.
        let mut closed = frame(MessageType::ChannelClosed, b"{}").encode();
        closed[80..112].fill(0);
        assert_eq!(
            Frame::decode_received(&closed).unwrap_err(),
            DecodeError::Digest
        );
        closed[116..120].fill(0);
        assert_eq!(
            Frame::decode_received(&closed).unwrap().frame.payload,
            b"{}"
        );
    }

    #[test]
    fn whatever_the_strict_decoder_accepts_the_lenient_one_accepts_the_same() {
        for message_type in [
            MessageType::OutputStreamData,
            MessageType::Acknowledge,
            MessageType::ChannelClosed,
            MessageType::StartPublication,
            MessageType::parse("something_new"),
        ] {
            for payload in [&b""[..], b"x", b"{\"Output\":\"\"}"] {
                let bytes = frame(message_type.clone(), payload).encode();
                let strict = Frame::decode(&bytes).unwrap();
                assert_eq!(Frame::decode_received(&bytes).unwrap().frame, strict);
            }
        }
    }
}
