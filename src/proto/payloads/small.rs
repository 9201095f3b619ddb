//! The small payloads: Size (PT 3), Flag (PT 10), ExitCode (PT 12) and the encryption challenge
//! (PT 8/9, types only).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{from_json, to_json};
use crate::proto::error::DecodeError;

/// Size (PT 3, client → agent, §3): `{"cols":300,"rows":100}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    pub cols: u32,
    pub rows: u32,
}

impl TerminalSize {
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        from_json("size", bytes)
    }
}

/// PayloadTypeFlag (§2.3): a 4-byte big-endian u32 in a PT 10 payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFlag {
    DisconnectToPort,
    TerminateSession,
    ConnectToPortError,
    Unknown(u32),
}

impl PayloadFlag {
    pub fn as_u32(self) -> u32 {
        match self {
            Self::DisconnectToPort => 1,
            Self::TerminateSession => 2,
            Self::ConnectToPortError => 3,
            Self::Unknown(other) => other,
        }
    }

    pub fn from_u32(value: u32) -> Self {
        match value {
            1 => Self::DisconnectToPort,
            2 => Self::TerminateSession,
            3 => Self::ConnectToPortError,
            other => Self::Unknown(other),
        }
    }

    pub fn to_bytes(self) -> [u8; 4] {
        self.as_u32().to_be_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let array: [u8; 4] = bytes.try_into().map_err(|_| {
            DecodeError::payload("flag", format!("{} bytes, expected 4", bytes.len()))
        })?;
        Ok(Self::from_u32(u32::from_be_bytes(array)))
    }
}

/// ExitCode (PT 12, agent → client, §6.2.1): ASCII `EXIT_CODE: <n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode(pub i32);

impl ExitCode {
    const PREFIX: &'static str = "EXIT_CODE: ";

    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}{}", Self::PREFIX, self.0).into_bytes()
    }

    /// Accepts surrounding whitespace (a trailing newline) but nothing else.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        let invalid = |reason: &str| DecodeError::payload("exit code", reason);
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8"))?;
        let number = text
            .trim()
            .strip_prefix(Self::PREFIX.trim_end())
            .ok_or_else(|| invalid("missing EXIT_CODE: prefix"))?;
        number
            .trim()
            .parse()
            .map(ExitCode)
            .map_err(|_| invalid("not a 32-bit integer"))
    }
}

/// EncChallengeRequest / EncChallengeResponse (PT 8/9, §4.6): `{"Challenge":"<base64>"}`.
/// Types only: KMS encryption is not implemented yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncChallenge {
    #[serde(rename = "Challenge", with = "base64_bytes")]
    pub challenge: Vec<u8>,
}

impl EncChallenge {
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        from_json("encryption challenge", bytes)
    }
}

/// Go's `[]byte` JSON form: standard base64, `null` for nil (quirk 21).
mod base64_bytes {
    use super::{Deserialize, Engine, STANDARD};

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn size_matches_the_reference_bytes() {
        let size = TerminalSize {
            cols: 300,
            rows: 100,
        };
        assert_eq!(size.to_json(), br#"{"cols":300,"rows":100}"#.to_vec());
        assert_eq!(TerminalSize::from_json(&size.to_json()).unwrap(), size);
    }

    #[test]
    fn flag_is_four_big_endian_bytes() {
        assert_eq!(PayloadFlag::DisconnectToPort.to_bytes(), [0, 0, 0, 1]);
        assert_eq!(
            PayloadFlag::from_bytes(&[0, 0, 0, 2]).unwrap(),
            PayloadFlag::TerminateSession
        );
        assert_eq!(
            PayloadFlag::from_bytes(&[0, 0, 0, 9]).unwrap(),
            PayloadFlag::Unknown(9)
        );
        assert!(PayloadFlag::from_bytes(&[0, 1]).is_err());
    }

    #[test]
    fn exit_code_text() {
        assert_eq!(ExitCode(-3).to_bytes(), b"EXIT_CODE: -3".to_vec());
        assert_eq!(ExitCode::parse(b"EXIT_CODE: 42\n").unwrap(), ExitCode(42));
        assert_eq!(ExitCode::parse(b"EXIT_CODE:7").unwrap(), ExitCode(7));
        assert!(ExitCode::parse(b"EXIT: 1").is_err());
        assert!(ExitCode::parse(b"EXIT_CODE: 99999999999").is_err());
    }

    #[test]
    fn challenge_is_base64() {
        let challenge = EncChallenge {
            challenge: vec![0, 1, 2, 255],
        };
        assert_eq!(challenge.to_json(), br#"{"Challenge":"AAEC/w=="}"#.to_vec());
        assert_eq!(
            EncChallenge::from_json(&challenge.to_json()).unwrap(),
            challenge
        );
        assert!(EncChallenge::from_json(br#"{"Challenge":"!!"}"#).is_err());
    }
}
