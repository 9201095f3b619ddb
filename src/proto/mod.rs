//! The Session Manager data channel as a sans-IO protocol core (docs/architecture.md).
//!
//! Follows `docs/protocol.md`: the frame codec (§2), typed payloads (§3, §4), and a
//! [`Session`] state machine with sequencing, acknowledgements, retransmission, reordering and
//! handshake (§4, §5) that plays either the client or the agent. Nothing here performs IO,
//! reads a clock or uses global randomness: time is a parameter and message ids come from an
//! injected [`MessageIdSource`].

pub mod crypto;
mod error;
mod frame;
mod ids;
mod incoming;
mod outgoing;
pub mod payloads;
pub mod port_mode;
mod reader;
mod rto;
mod session;
pub mod smux;
mod types;
pub mod version;

pub use crypto::{CounterNonces, CryptoError, NonceSource, SessionKeys};
pub use error::{DecodeError, SendError};
pub use frame::{
    FLAG_FIN, FLAG_SYN, Frame, HEADER_LENGTH, HEADER_SIZE, Received, message_id_from_wire,
    message_id_to_wire,
};
pub use ids::{MessageIdSource, SeededIds, SplitMix64};
pub use payloads::{
    Acknowledge, ActionStatus, ChannelClosed, EncChallenge, ExitCode, HandshakeComplete,
    HandshakeRequest, HandshakeResponse, PayloadFlag, ProcessedClientAction, RequestedClientAction,
    TerminalSize,
};
pub use rto::{CLOCK_GRANULARITY, INITIAL_RTO, MAX_RTO};
pub use session::{
    AGENT_RESEND_TICK, DEFAULT_INCOMING_CAPACITY_BYTES, DEFAULT_MAX_INCOMING_PAYLOAD, Event,
    PORT_REFUSAL, PORT_SESSION_TYPE, ResendPolicy, Role, Session, SessionConfig, Stats,
};
pub use types::{MessageType, PayloadType};
pub use version::CLIENT_VERSION;
