//! The role a session plays and its tunables.

use std::time::Duration;

use crate::proto::rto::CLOCK_GRANULARITY;

/// Which end of the data channel this session plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends `input_stream_data`, receives `output_stream_data` (the plugin's role).
    Client,
    /// Sends `output_stream_data`, receives `input_stream_data` (the SSM agent's role).
    Agent,
}

/// What `handle_timeout` resends and what `handle_reconnect` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendPolicy {
    /// gangway's own policy: every timed-out frame, `retransmit_burst` at a time and one
    /// burst per `retransmit_pacing`; after a reconnect every unacked frame is due at once.
    Burst,
    /// The real agent's scheduler (§5.3, §7.4; agent: datachannel.go, func
    /// ResendStreamDataMessageScheduler): once per `tick` it looks only at the oldest
    /// unacked frame and resends it if its timeout passed; a reconnect changes nothing.
    HeadOnly { tick: Duration },
}

/// The default [`SessionConfig::max_incoming_payload_bytes`]: 64 times what the references
/// send per message (§5.3).
pub const DEFAULT_MAX_INCOMING_PAYLOAD: usize = 64 * 1024;

/// The default [`SessionConfig::incoming_capacity_bytes`]: 8 MiB, room for 8 000 of the
/// references' 1 KiB messages.
pub const DEFAULT_INCOMING_CAPACITY_BYTES: usize = 8 << 20;

/// The real agent's resend tick (§5.3).
pub const AGENT_RESEND_TICK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub role: Role,
    /// Put into the channel_closed payload this side writes.
    pub session_id: String,
    /// Stream payloads are split at this size (§5.3: keep ≤ 1024 towards the real service).
    pub max_payload_bytes: usize,
    /// Window of stream messages (sequence span from the oldest unacknowledged one, plus
    /// those held before open) before `send_*` applies backpressure. Must not exceed the
    /// peer's reorder capacity (plugin 10 000, agent 100 000, §5.3).
    pub outgoing_capacity: usize,
    /// Ahead-of-order messages held for reordering; beyond it they are dropped unacked.
    pub incoming_capacity: usize,
    /// ... and their payload bytes together: past this, too, they are dropped unacked, so a
    /// peer that never fills a gap holds at most this much here.
    pub incoming_capacity_bytes: usize,
    /// Stream messages more than this many sequence numbers ahead of the expected one are
    /// dropped unacked (`stats.beyond_span_dropped`): no honest peer has more unacknowledged
    /// messages out than its own send buffer holds (plugin 10 000, agent 100 000, §5.3).
    pub incoming_span: i64,
    /// A received frame whose payload is longer than this is dropped as malformed. The
    /// protocol sets no maximum (§5.3); both references send at most ~1 KiB, so the default
    /// leaves a wide margin while keeping one frame's cost bounded.
    pub max_incoming_payload_bytes: usize,
    /// ClientVersion in the HandshakeResponse (§4.4.1): the agent reads it there and nowhere
    /// else, so it defaults to the same [`CLIENT_VERSION`](crate::proto::CLIENT_VERSION) the
    /// transport sends in OpenDataChannel.
    pub client_version: String,
    /// Which timed-out frames are resent, and how often (see [`ResendPolicy`]).
    pub resend: ResendPolicy,
    /// `ResendPolicy::Burst`: at most this many retransmissions per `handle_timeout` call ...
    pub retransmit_burst: usize,
    /// ... and at least this long between two bursts, so a dead link is not flooded.
    pub retransmit_pacing: Duration,
    /// The retransmission timeout never goes below this. Zero is the reference (§5.3).
    pub min_rto: Duration,
    /// Client: the owner can call KMS, so a KMSEncryption action is reported as
    /// `Event::KmsDataKeyRequested` and answered by `complete_kms`/`fail_kms` (§4.6).
    /// Off: it is answered "not supported" and the agent fails the session.
    pub kms_encryption: bool,
    /// Client: the owner runs port sessions (`AWS-StartPortForwardingSession*`,
    /// `AWS-StartSSHSession`), so a SessionType of `Port` is answered Success (§4.4, §6.3).
    /// Off (shells, commands): it is answered Failed, since Success would commit the agent
    /// to a port session nobody on this side carries.
    pub port_sessions: bool,
}

impl SessionConfig {
    pub fn client(session_id: impl Into<String>) -> Self {
        Self::new(Role::Client, session_id.into())
    }

    pub fn agent(session_id: impl Into<String>) -> Self {
        Self::new(Role::Agent, session_id.into())
    }

    fn new(role: Role, session_id: String) -> Self {
        Self {
            role,
            session_id,
            max_payload_bytes: 1024,
            outgoing_capacity: 4096,
            incoming_capacity: 10_000,
            incoming_capacity_bytes: DEFAULT_INCOMING_CAPACITY_BYTES,
            incoming_span: 100_000,
            max_incoming_payload_bytes: DEFAULT_MAX_INCOMING_PAYLOAD,
            client_version: crate::proto::version::CLIENT_VERSION.to_owned(),
            resend: ResendPolicy::Burst,
            retransmit_burst: 64,
            retransmit_pacing: CLOCK_GRANULARITY,
            min_rto: Duration::ZERO,
            kms_encryption: false,
            port_sessions: false,
        }
    }
}
