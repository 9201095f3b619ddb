//! The two enums of the frame header: MessageType (§2.2) and PayloadType (§2.3).

/// The 32-byte MessageType field of a frame (§2.2).
///
/// Unknown values are kept (not rejected) so that a receiver can count and ignore them, the way
/// the reference client logs and ignores them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessageType {
    InputStreamData,
    OutputStreamData,
    Acknowledge,
    ChannelClosed,
    StartPublication,
    PausePublication,
    AgentSessionState,
    Unknown(String),
}

/// The widest MessageType the 32-byte field can carry.
pub const MESSAGE_TYPE_LEN: usize = 32;

impl MessageType {
    pub fn as_str(&self) -> &str {
        match self {
            Self::InputStreamData => "input_stream_data",
            Self::OutputStreamData => "output_stream_data",
            Self::Acknowledge => "acknowledge",
            Self::ChannelClosed => "channel_closed",
            Self::StartPublication => "start_publication",
            Self::PausePublication => "pause_publication",
            Self::AgentSessionState => "agent_session_state",
            Self::Unknown(other) => other,
        }
    }

    /// Maps a trimmed type name to the enum; anything else becomes `Unknown`.
    pub fn parse(name: &str) -> Self {
        match name {
            "input_stream_data" => Self::InputStreamData,
            "output_stream_data" => Self::OutputStreamData,
            "acknowledge" => Self::Acknowledge,
            "channel_closed" => Self::ChannelClosed,
            "start_publication" => Self::StartPublication,
            "pause_publication" => Self::PausePublication,
            "agent_session_state" => Self::AgentSessionState,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// Stream data is the only sequenced, acknowledged kind (§2.2, §5.1).
    pub fn is_stream_data(&self) -> bool {
        matches!(self, Self::InputStreamData | Self::OutputStreamData)
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The u32 PayloadType field (§2.3). Unknown values are preserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadType {
    /// 0: acknowledge and channel_closed carry no typed payload.
    Null,
    Output,
    Error,
    Size,
    Parameter,
    HandshakeRequest,
    HandshakeResponse,
    HandshakeComplete,
    EncChallengeRequest,
    EncChallengeResponse,
    Flag,
    StdErr,
    ExitCode,
    Unknown(u32),
}

impl PayloadType {
    pub fn as_u32(self) -> u32 {
        match self {
            Self::Null => 0,
            Self::Output => 1,
            Self::Error => 2,
            Self::Size => 3,
            Self::Parameter => 4,
            Self::HandshakeRequest => 5,
            Self::HandshakeResponse => 6,
            Self::HandshakeComplete => 7,
            Self::EncChallengeRequest => 8,
            Self::EncChallengeResponse => 9,
            Self::Flag => 10,
            Self::StdErr => 11,
            Self::ExitCode => 12,
            Self::Unknown(other) => other,
        }
    }

    pub fn from_u32(value: u32) -> Self {
        match value {
            0 => Self::Null,
            1 => Self::Output,
            2 => Self::Error,
            3 => Self::Size,
            4 => Self::Parameter,
            5 => Self::HandshakeRequest,
            6 => Self::HandshakeResponse,
            7 => Self::HandshakeComplete,
            8 => Self::EncChallengeRequest,
            9 => Self::EncChallengeResponse,
            10 => Self::Flag,
            11 => Self::StdErr,
            12 => Self::ExitCode,
            other => Self::Unknown(other),
        }
    }

    /// The client acks these before handling them (§4.2).
    pub fn is_handshake(self) -> bool {
        matches!(
            self,
            Self::HandshakeRequest
                | Self::HandshakeResponse
                | Self::HandshakeComplete
                | Self::EncChallengeRequest
                | Self::EncChallengeResponse
        )
    }
}
