//! The data-channel session state machine (§5), usable as client or agent.

mod config;
mod event;
mod handshake;
mod kms;
#[cfg(test)]
mod kms_tests;
mod receive;
#[cfg(test)]
mod resend_tests;
mod send;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use config::{
    AGENT_RESEND_TICK, DEFAULT_INCOMING_CAPACITY_BYTES, DEFAULT_MAX_INCOMING_PAYLOAD, ResendPolicy,
    Role, SessionConfig,
};
pub use event::{Event, Stats};
pub use handshake::{PORT_REFUSAL, PORT_SESSION_TYPE};

use super::frame::{FLAG_FIN, FLAG_SYN, Frame, FrameRef};
use super::ids::MessageIdSource;
use super::incoming::ReorderBuffer;
use super::outgoing::OutgoingBuffer;
use super::rto::RttEstimator;
use super::types::{MessageType, PayloadType};

/// Where the session is in the startup sequence (§4.1, §4.2).
///
/// ```text
/// client: Waiting ──Output──────────────────────────────────────────────► Open
///         Waiting ──HandshakeRequest──► Handshaking ──HandshakeComplete──► Open
///         Waiting ──HandshakeRequest it cannot honour (answered Failed)──► Closed
/// agent:  Waiting ──send_data───────────────────────────────────────────► Open
///         Waiting ──start_handshake──► Handshaking ──HandshakeResponse──► Responded
///                                                  Responded ──complete_handshake──► Open
/// both:   any ──channel_closed (sent or received)──► Closed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Handshaking,
    Responded,
    Open,
    Closed,
}

/// One end of a data channel, sans-IO, in the style of quinn-proto's `Connection`.
///
/// Methods come in four groups:
/// - getters: [`role`](Self::role), [`is_open`](Self::is_open), [`is_closed`](Self::is_closed),
///   [`unacked_count`](Self::unacked_count), [`send_capacity_bytes`](Self::send_capacity_bytes),
///   [`stats`](Self::stats), [`rto`](Self::rto);
/// - inputs, each with the current time: [`handle_frame`](Self::handle_frame) for every binary
///   websocket message, [`handle_timeout`](Self::handle_timeout) when
///   [`poll_timeout`](Self::poll_timeout) has passed, [`handle_reconnect`](Self::handle_reconnect)
///   after the link was re-established;
/// - user commands: `send_data`, `send_size`, `send_flag`, `send_stderr`, `send_exit_code`,
///   `start_handshake`, `complete_handshake`, `close`;
/// - outputs: [`poll_transmit`](Self::poll_transmit) (frames to write, in order),
///   [`poll_event`](Self::poll_event) and [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, drain `poll_transmit` and `poll_event`, then wait for the next
/// input or for `poll_timeout`, whichever comes first. The session never reads a clock: `now`
/// is always a parameter, and `created_ms` of each frame is `unix_ms_at_now` plus the time
/// elapsed since construction.
pub struct Session {
    config: SessionConfig,
    ids: Box<dyn MessageIdSource + Send>,
    epoch: Instant,
    unix_ms_at_epoch: u64,
    phase: Phase,
    next_out_seq: i64,
    expected_in_seq: i64,
    outgoing: OutgoingBuffer,
    /// Stream payloads accepted while the gate is shut (§4.1, quirk 9), framed on open.
    held: VecDeque<(PayloadType, Vec<u8>)>,
    /// Unsequenced frames (acks, channel_closed), written before any stream frame.
    control: VecDeque<Vec<u8>>,
    incoming: ReorderBuffer,
    /// §5.2 "handler not ready": while false, the next in-order stream message is refused.
    receive_ready: bool,
    /// pause_publication received and not yet lifted: no stream frame goes out (§5.4).
    paused: bool,
    rtt: RttEstimator,
    retransmit_paced_until: Option<Instant>,
    events: VecDeque<Event>,
    stats: Stats,
    /// KMS encryption (§4.6): keys, the deferred answer, the agent's challenge.
    kms: kms::KmsState,
}

/// A summary for logs: state and counters, never payload bytes.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.config.role)
            .field("phase", &self.phase)
            .field("next_out_seq", &self.next_out_seq)
            .field("expected_in_seq", &self.expected_in_seq)
            .field("unacked", &self.outgoing.len())
            .field("held", &self.held.len())
            .field("reordering", &self.incoming.len())
            .field("rto", &self.rtt.rto())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(
        config: SessionConfig,
        ids: Box<dyn MessageIdSource + Send>,
        now: Instant,
        unix_ms_at_now: u64,
    ) -> Self {
        let incoming = ReorderBuffer::new(config.incoming_capacity, config.incoming_capacity_bytes);
        let rtt = RttEstimator::with_floor(config.min_rto);
        Self {
            config,
            ids,
            epoch: now,
            unix_ms_at_epoch: unix_ms_at_now,
            phase: Phase::Waiting,
            next_out_seq: 0,
            expected_in_seq: 0,
            outgoing: OutgoingBuffer::default(),
            held: VecDeque::new(),
            control: VecDeque::new(),
            incoming,
            receive_ready: true,
            paused: false,
            rtt,
            retransmit_paced_until: None,
            events: VecDeque::new(),
            stats: Stats::default(),
            kms: kms::KmsState::default(),
        }
    }

    // ---- getters -------------------------------------------------------------------------

    pub fn role(&self) -> Role {
        self.config.role
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Client: the first Output or HandshakeComplete arrived. Agent: the first output was sent,
    /// or the handshake response arrived.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Responded)
    }

    /// channel_closed was received or sent; nothing more will be transmitted.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Stream messages sent and not yet acknowledged, plus those accepted but not yet sent.
    pub fn unacked_count(&self) -> usize {
        self.outgoing.len() + self.held.len()
    }

    /// How many more bytes `send_data` would accept right now.
    pub fn send_capacity_bytes(&self) -> usize {
        self.free_slots().saturating_mul(self.max_payload())
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn rto(&self) -> Duration {
        self.rtt.rto()
    }

    pub fn smoothed_rtt(&self) -> Duration {
        self.rtt.smoothed_rtt()
    }

    /// pause_publication is in force: stream frames wait, acks still go out (§5.4).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Ahead-of-order messages currently held for reordering.
    pub fn reorder_buffer_len(&self) -> usize {
        self.incoming.len()
    }

    /// Payload bytes of the ahead-of-order messages currently held.
    pub fn reorder_buffer_bytes(&self) -> usize {
        self.incoming.held_bytes()
    }

    // ---- outputs -------------------------------------------------------------------------

    /// The next encoded frame to write as one binary websocket message, or `None`.
    /// Acks and other control frames go first, then retransmissions, then new stream data.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(frame) = self.control.pop_front() {
            self.stats.frames_sent += 1;
            return Some(frame);
        }
        if self.phase == Phase::Closed || self.paused {
            return None;
        }
        let transmission = self.outgoing.next_transmission(now, &self.rtt)?;
        self.stats.frames_sent += 1;
        if transmission.is_retransmission {
            self.stats.retransmissions += 1;
        } else {
            self.stats.stream_frames_sent += 1;
        }
        Some(transmission.frame)
    }

    /// When `handle_timeout` should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // While paused nothing is resent, so there is nothing to wake up for (§5.4).
        if self.phase == Phase::Closed || self.paused {
            return None;
        }
        let due = match self.config.resend {
            ResendPolicy::Burst => self.outgoing.next_deadline()?,
            ResendPolicy::HeadOnly { .. } => self.outgoing.head_deadline()?,
        };
        Some(match self.retransmit_paced_until {
            Some(paced) if paced > due => paced,
            _ => due,
        })
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- receive flow control -------------------------------------------------------------

    /// Says whether whoever consumes this side's `Event::Data` can take more (§5.2, the
    /// handler's "not ready"). While it cannot, the next in-order stream message is neither
    /// acked nor delivered: the sender keeps it and retransmits it after its timeout, so a
    /// consumer that falls behind holds the sender back instead of buffering without end.
    /// Ahead-of-order messages are still held (bounded by `incoming_capacity`) and, like
    /// the reference, delivered without asking once their turn comes; handshake messages
    /// are never refused.
    pub fn set_receive_ready(&mut self, ready: bool) {
        self.receive_ready = ready;
    }

    // ---- timer inputs --------------------------------------------------------------------

    /// Queues timed-out stream frames for retransmission. `ResendPolicy::Burst`: at most
    /// `retransmit_burst` per call and per `retransmit_pacing` interval, oldest deadline
    /// first. `ResendPolicy::HeadOnly`: only the oldest unacked frame, at most once per tick.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Closed || self.paused {
            return;
        }
        if self.retransmit_paced_until.is_some_and(|paced| now < paced) {
            return;
        }
        let (moved, pacing) = match self.config.resend {
            ResendPolicy::Burst => {
                let burst = self.config.retransmit_burst.max(1);
                (
                    self.outgoing.expire(now, burst),
                    self.config.retransmit_pacing,
                )
            }
            ResendPolicy::HeadOnly { tick } => (usize::from(self.outgoing.expire_head(now)), tick),
        };
        self.retransmit_paced_until = (moved > 0).then(|| now + pacing);
    }

    /// The link was re-established (resume, §7.2); a pause ends, as the agent's Reconnect ends
    /// it (§5.4). `ResendPolicy::Burst`: every unacked frame becomes due now.
    /// `ResendPolicy::HeadOnly`: nothing more happens, the head-only resend just goes on, as
    /// in the real agent (§7.4; agent: datachannel.go, func Reconnect). Sequence state,
    /// buffers and the handshake outcome are kept.
    pub fn handle_reconnect(&mut self, now: Instant) {
        self.resume_publication();
        if matches!(self.config.resend, ResendPolicy::HeadOnly { .. }) {
            return;
        }
        self.retransmit_paced_until = None;
        self.outgoing.make_all_due(now);
    }

    // ---- framing helpers shared by the submodules ------------------------------------------

    fn max_payload(&self) -> usize {
        self.config.max_payload_bytes.max(1)
    }

    /// Room for new stream messages. Counted over the sequence span, not just the unacked
    /// entries: after selective acks around a lost message the sender could otherwise run
    /// arbitrarily far ahead and overflow the peer's reorder buffer, whose drops (unacked)
    /// turn into retransmission storms. Keep `outgoing_capacity` ≤ the peer's reorder capacity.
    fn free_slots(&self) -> usize {
        if self.phase == Phase::Closed {
            return 0;
        }
        let used = self.outgoing.span() + self.held.len();
        self.config.outgoing_capacity.saturating_sub(used)
    }

    fn created_ms(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.epoch).as_millis();
        self.unix_ms_at_epoch
            .saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    fn outgoing_stream_type(&self) -> MessageType {
        match self.config.role {
            Role::Client => MessageType::InputStreamData,
            Role::Agent => MessageType::OutputStreamData,
        }
    }

    /// Frames one stream message with the next sequence number and buffers it for sending.
    /// Flags per §2: the agent sets SYN on seq 0, the client never does (quirk 5).
    fn push_stream(&mut self, now: Instant, payload_type: PayloadType, payload: &[u8]) {
        let frame = self.frame_stream(now, payload_type, payload);
        self.outgoing.push(frame);
    }

    /// Encodes the next stream message, taking its sequence number, without buffering it.
    /// With KMS on, the payload is sealed here, so the digest covers the encrypted bytes
    /// and a retransmission resends the same ciphertext (§4.6 step 6).
    fn frame_stream(&mut self, now: Instant, payload_type: PayloadType, payload: &[u8]) -> Vec<u8> {
        let sealed;
        let payload = if self.seals(payload_type) {
            sealed = self.seal_outgoing(payload_type, payload);
            sealed.as_slice()
        } else {
            payload
        };
        let sequence = self.next_out_seq;
        self.next_out_seq += 1;
        let flags = match self.config.role {
            Role::Agent if sequence == 0 => FLAG_SYN,
            _ => 0,
        };
        let frame = FrameRef {
            message_type: &self.outgoing_stream_type(),
            schema_version: 1,
            created_ms: self.created_ms(now),
            sequence,
            flags,
            message_id: self.ids.next_id(),
            payload_type,
            payload,
        };
        frame.encode()
    }

    /// Frames an unsequenced control message (seq 0, flags SYN|FIN, §3).
    fn push_control(&mut self, now: Instant, message_type: MessageType, payload: Vec<u8>) {
        let message_id = self.ids.next_id();
        let frame = self.control_frame(now, message_type, message_id, payload);
        self.control.push_back(frame.encode());
    }

    fn control_frame(
        &self,
        now: Instant,
        message_type: MessageType,
        message_id: uuid::Uuid,
        payload: Vec<u8>,
    ) -> Frame {
        Frame {
            message_type,
            schema_version: 1,
            created_ms: self.created_ms(now),
            sequence: 0,
            flags: FLAG_SYN | FLAG_FIN,
            message_id,
            payload_type: PayloadType::Null,
            payload,
        }
    }

    /// Opens the gate: held payloads are framed in the order they were accepted.
    fn open_gate(&mut self, now: Instant) {
        self.phase = Phase::Open;
        while let Some((payload_type, payload)) = self.held.pop_front() {
            self.push_stream(now, payload_type, &payload);
        }
    }

    fn enter_closed(&mut self) {
        self.phase = Phase::Closed;
        self.outgoing.clear();
        self.held.clear();
        self.incoming.clear();
        self.retransmit_paced_until = None;
    }
}
