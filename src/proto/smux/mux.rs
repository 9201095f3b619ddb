//! The smux v1 session state machine (§6.3), sans-IO. See the module documentation of
//! [`super`] for how an owner drives it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::frame::{
    Cmd, DEFAULT_MAX_FRAME_SIZE, Frame, FrameDecoder, FrameError, StreamId, encode_data,
    encode_frame,
};

/// Which end of the mux this is. Both ends can open and accept streams, as in xtaci/smux; only
/// the first id differs (xtaci/smux `newSession` + `OpenStream`: the client starts from 1 and
/// adds 2 before each use, so its ids are 3, 5, 7, …; the server starts from 0: 2, 4, 6, …).
/// In port forwarding the plugin is the client and opens every stream; the agent is the server
/// and accepts them (§6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// Limits and timers. [`Default`] is xtaci/smux `DefaultConfig` (version 1), plus the hard
/// receive limit and the stream cap that a sans-IO core needs (see the fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuxConfig {
    /// Send a NOP every `keepalive_interval` and end the session when nothing was received for
    /// `keepalive_timeout`. The owner chooses it from the versions (§6.3, §6.4): the plugin
    /// disables it iff AgentVersion > 3.1.1511.0, the agent iff ClientVersion > 1.2.331.0.
    pub keepalive: bool,
    /// 10 s.
    pub keepalive_interval: Duration,
    /// 30 s.
    pub keepalive_timeout: Duration,
    /// Largest PSH payload this side sends: 32768 (clamped to 1..=65535).
    pub max_frame_size: usize,
    /// Bytes received and not yet reported consumed past which [`Mux::wants_input`] turns
    /// false: 4 MiB (xtaci/smux MaxReceiveBuffer; its `recvLoop` stops reading the connection
    /// while this token bucket is empty). v1 has no per-stream window: MaxStreamBuffer only
    /// matters to version 2, so there is no per-stream limit here either.
    pub max_receive_buffer: usize,
    /// Bytes received and not consumed past which the session fails with
    /// [`MuxError::ReceiveLimit`] instead of buffering more: 16 MiB. The gap above
    /// `max_receive_buffer` leaves room for input already on its way when the owner stops
    /// feeding (the data channel can hand over a whole reorder buffer at once).
    pub receive_hard_limit: usize,
    /// Streams open at once (both directions); a peer SYN past it fails the session: 65536.
    /// xtaci/smux has no such cap but blocks its receive loop once 1024 accepts are pending.
    pub max_streams: usize,
}

impl Default for MuxConfig {
    fn default() -> Self {
        Self {
            keepalive: true,
            keepalive_interval: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(30),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_receive_buffer: 4 * 1024 * 1024,
            receive_hard_limit: 16 * 1024 * 1024,
            max_streams: 65_536,
        }
    }
}

/// What the owner learns from [`Mux::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxEvent {
    /// The peer opened a stream (its SYN).
    StreamAccepted(StreamId),
    /// Bytes for a stream, in order. They count in [`Mux::buffered_bytes`] until the owner
    /// reports them with [`Mux::consumed`] (or closes the stream).
    Data(StreamId, Vec<u8>),
    /// The peer sent FIN: no more data will come on this stream. The stream stays open for
    /// sending until the owner calls [`Mux::close`].
    StreamFinished(StreamId),
    /// The session is dead; nothing more is sent or received. Always the last event.
    Error(MuxError),
}

/// Why the whole session ended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MuxError {
    #[error("smux protocol error: {0}")]
    Protocol(#[from] FrameError),
    #[error("smux keepalive: nothing received for the keepalive timeout")]
    KeepaliveTimeout,
    #[error("smux peer sent {buffered} bytes that were not consumed (limit {limit})")]
    ReceiveLimit { buffered: usize, limit: usize },
    #[error("smux peer opened more than {0} streams")]
    TooManyStreams(usize),
}

/// Why a command on one stream was refused. None of these harm the session.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamError {
    #[error("smux stream {0} is not open")]
    UnknownStream(StreamId),
    #[error("smux stream {0} was already closed for writing")]
    WriteClosed(StreamId),
    #[error("the smux session is dead")]
    Dead,
    /// xtaci/smux `ErrGoAway`: the 32-bit id space is used up; open a new session.
    #[error("smux stream ids are exhausted")]
    IdsExhausted,
    #[error("too many smux streams open")]
    TooManyStreams,
}

/// Counters for what was received but not delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MuxStats {
    /// Frames decoded, of every command.
    pub frames_received: u64,
    /// PSH frames dropped: unknown stream (never opened, or closed here), or after the peer's
    /// FIN. Like xtaci/smux `recvLoop` (cmdPSH on a missing stream recycles the buffer).
    pub dropped_frames: u64,
    /// Their data bytes.
    pub dropped_bytes: u64,
}

#[derive(Debug, Default)]
struct StreamState {
    write_closed: bool,
    peer_finished: bool,
    /// Received bytes not yet handed out by `poll_event`.
    pending: Vec<u8>,
    /// A `Queued::Data` for this stream is in the event queue.
    data_queued: bool,
    /// Bytes received (handed out or not) that the owner has not reported consumed.
    unconsumed: usize,
}

/// The event queue holds markers, not bytes: a stream's data is coalesced in its `pending`
/// buffer, so the queue is at most three entries per stream whatever the peer sends.
#[derive(Debug)]
enum Queued {
    Accepted(StreamId),
    Data(StreamId),
    Finished(StreamId),
    Error(MuxError),
}

impl Queued {
    fn stream(&self) -> Option<StreamId> {
        match self {
            Self::Accepted(id) | Self::Data(id) | Self::Finished(id) => Some(*id),
            Self::Error(_) => None,
        }
    }
}

#[derive(Debug)]
struct Keepalive {
    next_ping: Instant,
    next_check: Instant,
    /// Something arrived since the last check (xtaci/smux `sessionIsActive`/`dataReady`).
    active: bool,
}

/// One smux v1 session over a byte stream the owner carries (here: PT 1 payloads).
///
/// Methods, in the style of [`crate::proto::Session`]:
/// - getters: [`role`](Self::role), [`is_dead`](Self::is_dead), [`error`](Self::error),
///   [`stream_count`](Self::stream_count), [`buffered_bytes`](Self::buffered_bytes),
///   [`wants_input`](Self::wants_input), [`pending_transmit_bytes`](Self::pending_transmit_bytes),
///   [`stats`](Self::stats);
/// - inputs: [`handle_input`](Self::handle_input) (bytes from the peer, any chunking),
///   [`handle_timeout`](Self::handle_timeout), [`consumed`](Self::consumed);
/// - commands: [`open_stream`](Self::open_stream), [`send`](Self::send),
///   [`close_write`](Self::close_write), [`close`](Self::close);
/// - outputs: [`poll_transmit`](Self::poll_transmit) (bytes for the peer),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout).
///
/// After any input or command, drain `poll_transmit` and `poll_event`, then wait for input or
/// `poll_timeout`. Feed input only while `wants_input()`; report bytes written onwards with
/// `consumed`.
#[derive(Debug)]
pub struct Mux {
    role: Role,
    config: MuxConfig,
    /// Last id this side allocated (xtaci/smux `nextStreamID`).
    last_stream_id: u32,
    streams: HashMap<StreamId, StreamState>,
    decoder: FrameDecoder,
    transmit: Vec<u8>,
    transmit_head: usize,
    events: VecDeque<Queued>,
    buffered: usize,
    dead: Option<MuxError>,
    keepalive: Option<Keepalive>,
    stats: MuxStats,
}

impl Mux {
    /// A new session; `now` starts the keepalive timers (if enabled).
    pub fn new(role: Role, config: MuxConfig, now: Instant) -> Self {
        let keepalive = config.keepalive.then(|| Keepalive {
            next_ping: now + nonzero(config.keepalive_interval),
            next_check: now + nonzero(config.keepalive_timeout),
            active: false,
        });
        Self {
            role,
            last_stream_id: match role {
                Role::Client => 1,
                Role::Server => 0,
            },
            config,
            streams: HashMap::new(),
            decoder: FrameDecoder::new(),
            transmit: Vec::new(),
            transmit_head: 0,
            events: VecDeque::new(),
            buffered: 0,
            dead: None,
            keepalive,
            stats: MuxStats::default(),
        }
    }

    // ---- getters ----

    pub fn role(&self) -> Role {
        self.role
    }

    /// The session ended (protocol error, keepalive timeout, receive limit).
    pub fn is_dead(&self) -> bool {
        self.dead.is_some()
    }

    /// Why the session ended, if it did.
    pub fn error(&self) -> Option<&MuxError> {
        self.dead.as_ref()
    }

    /// Streams known here (opened or accepted, not yet [`close`](Self::close)d).
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Bytes received and not yet reported with [`consumed`](Self::consumed).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Whether the owner should feed more input: false once `max_receive_buffer` bytes wait
    /// for the owner, or when dead. The owner stops reading its carrier meanwhile (for the
    /// data channel: `Session::set_receive_ready(false)`).
    pub fn wants_input(&self) -> bool {
        self.dead.is_none() && self.buffered < self.config.max_receive_buffer
    }

    /// Encoded bytes waiting in [`poll_transmit`](Self::poll_transmit).
    pub fn pending_transmit_bytes(&self) -> usize {
        if self.dead.is_some() {
            return 0;
        }
        self.transmit.len() - self.transmit_head
    }

    pub fn stats(&self) -> MuxStats {
        self.stats
    }

    // ---- inputs ----

    /// Bytes from the peer, split anywhere. Frames are handled as xtaci/smux `recvLoop` does:
    /// SYN for an id already open is ignored, FIN or PSH for an unknown stream is dropped, an
    /// empty PSH is skipped, an invalid header kills the session.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.dead.is_some() || bytes.is_empty() {
            return;
        }
        // Any byte counts as activity: lenient where xtaci marks it per header, so a large
        // frame trickling in slowly is not mistaken for silence.
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.active = true;
        }
        let mut decoder = std::mem::take(&mut self.decoder);
        let result = decoder.feed(bytes, |frame| self.handle_frame(frame));
        self.decoder = decoder;
        if let Err(error) = result {
            self.fail(error.into());
        }
    }

    /// Sends the NOP and checks the peer's liveness when due (xtaci/smux `keepalive`: a ping
    /// ticker and a timeout ticker; the session is closed at a timeout tick if nothing arrived
    /// since the previous one, unless reading was stopped by a full receive buffer).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.dead.is_some() {
            return;
        }
        let wants_input = self.wants_input();
        let Some(keepalive) = &mut self.keepalive else {
            return;
        };
        let mut nop = false;
        if now >= keepalive.next_ping {
            nop = true;
            keepalive.next_ping = next_tick(
                keepalive.next_ping,
                nonzero(self.config.keepalive_interval),
                now,
            );
        }
        let mut expired = false;
        if now >= keepalive.next_check {
            if !keepalive.active && wants_input {
                expired = true;
            }
            keepalive.active = false;
            keepalive.next_check = next_tick(
                keepalive.next_check,
                nonzero(self.config.keepalive_timeout),
                now,
            );
        }
        if expired {
            self.fail(MuxError::KeepaliveTimeout);
        } else if nop {
            encode_frame(&mut self.transmit, Cmd::Nop, StreamId(0), &[]);
        }
    }

    /// The owner has passed on `n` bytes of `stream`'s data (xtaci/smux `returnTokens` after a
    /// read). More than was received is capped; an unknown stream is ignored.
    pub fn consumed(&mut self, stream: StreamId, n: usize) {
        if let Some(state) = self.streams.get_mut(&stream) {
            let n = n.min(state.unconsumed);
            state.unconsumed -= n;
            self.buffered -= n;
        }
    }

    // ---- commands ----

    /// Opens a stream: allocates the next id of this role and queues its SYN (xtaci/smux
    /// `OpenStream`). An id the peer already opened is skipped.
    pub fn open_stream(&mut self) -> Result<StreamId, StreamError> {
        if self.dead.is_some() {
            return Err(StreamError::Dead);
        }
        if self.streams.len() >= self.config.max_streams {
            return Err(StreamError::TooManyStreams);
        }
        loop {
            let next = self
                .last_stream_id
                .checked_add(2)
                .ok_or(StreamError::IdsExhausted)?;
            self.last_stream_id = next;
            let id = StreamId(next);
            if let Entry::Vacant(entry) = self.streams.entry(id) {
                entry.insert(StreamState::default());
                encode_frame(&mut self.transmit, Cmd::Syn, id, &[]);
                return Ok(id);
            }
        }
    }

    /// Queues `data` on `stream` as PSH frames of at most `max_frame_size` bytes. Allowed
    /// after the peer's FIN (half-close), not after [`close_write`](Self::close_write).
    pub fn send(&mut self, stream: StreamId, data: &[u8]) -> Result<(), StreamError> {
        if self.dead.is_some() {
            return Err(StreamError::Dead);
        }
        let state = self
            .streams
            .get(&stream)
            .ok_or(StreamError::UnknownStream(stream))?;
        if state.write_closed {
            return Err(StreamError::WriteClosed(stream));
        }
        encode_data(&mut self.transmit, stream, data, self.config.max_frame_size);
        Ok(())
    }

    /// Sends FIN and keeps receiving on `stream` until the owner calls
    /// [`close`](Self::close) (xtaci/smux `CloseWrite`, a TCP half-close).
    pub fn close_write(&mut self, stream: StreamId) -> Result<(), StreamError> {
        if self.dead.is_some() {
            return Err(StreamError::Dead);
        }
        let state = self
            .streams
            .get_mut(&stream)
            .ok_or(StreamError::UnknownStream(stream))?;
        if state.write_closed {
            return Err(StreamError::WriteClosed(stream));
        }
        state.write_closed = true;
        encode_frame(&mut self.transmit, Cmd::Fin, stream, &[]);
        Ok(())
    }

    /// Sends FIN (unless [`close_write`](Self::close_write) did) and forgets `stream` (xtaci/smux
    /// `Stream.Close` + `streamClosed`): its undelivered events go, its unconsumed bytes stop
    /// counting, and later frames for it are dropped. Works on a dead session too (no FIN).
    pub fn close(&mut self, stream: StreamId) -> Result<(), StreamError> {
        let state = self
            .streams
            .remove(&stream)
            .ok_or(StreamError::UnknownStream(stream))?;
        self.buffered -= state.unconsumed;
        self.events.retain(|queued| queued.stream() != Some(stream));
        if self.dead.is_none() && !state.write_closed {
            encode_frame(&mut self.transmit, Cmd::Fin, stream, &[]);
        }
        Ok(())
    }

    // ---- outputs ----

    /// Up to `max` bytes to carry to the peer (the data channel's `send_capacity_bytes()`
    /// fits here), or `None` when nothing waits (or `max` is 0, or the session is dead).
    pub fn poll_transmit(&mut self, max: usize) -> Option<Vec<u8>> {
        let available = self.pending_transmit_bytes();
        if available == 0 || max == 0 {
            return None;
        }
        let n = available.min(max);
        let out = self.transmit[self.transmit_head..self.transmit_head + n].to_vec();
        self.transmit_head += n;
        if self.transmit_head == self.transmit.len() {
            self.transmit.clear();
            self.transmit_head = 0;
        } else if self.transmit_head >= 64 * 1024 && self.transmit_head * 2 >= self.transmit.len() {
            self.transmit.drain(..self.transmit_head);
            self.transmit_head = 0;
        }
        Some(out)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<MuxEvent> {
        while let Some(queued) = self.events.pop_front() {
            match queued {
                Queued::Accepted(id) => return Some(MuxEvent::StreamAccepted(id)),
                Queued::Finished(id) => return Some(MuxEvent::StreamFinished(id)),
                Queued::Error(error) => return Some(MuxEvent::Error(error)),
                Queued::Data(id) => {
                    let Some(state) = self.streams.get_mut(&id) else {
                        continue;
                    };
                    state.data_queued = false;
                    let data = std::mem::take(&mut state.pending);
                    if !data.is_empty() {
                        return Some(MuxEvent::Data(id, data));
                    }
                }
            }
        }
        None
    }

    /// When to call [`handle_timeout`](Self::handle_timeout): `None` without keepalive or
    /// once dead.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.dead.is_some() {
            return None;
        }
        self.keepalive
            .as_ref()
            .map(|keepalive| keepalive.next_ping.min(keepalive.next_check))
    }

    // ---- internals ----

    /// One frame, following xtaci/smux `recvLoop`.
    fn handle_frame(&mut self, frame: Frame) -> ControlFlow<()> {
        self.stats.frames_received += 1;
        let id = frame.stream;
        match frame.cmd {
            Cmd::Nop => {}
            Cmd::Syn => {
                // An id already open keeps its stream ("if _, ok := s.streams[sid]; !ok").
                if !self.streams.contains_key(&id) {
                    if self.streams.len() >= self.config.max_streams {
                        self.fail(MuxError::TooManyStreams(self.config.max_streams));
                        return ControlFlow::Break(());
                    }
                    self.streams.insert(id, StreamState::default());
                    self.events.push_back(Queued::Accepted(id));
                }
            }
            Cmd::Fin => {
                // Unknown stream: ignored; a second FIN: ignored (`fin` closes once).
                if let Some(state) = self.streams.get_mut(&id)
                    && !state.peer_finished
                {
                    state.peer_finished = true;
                    self.events.push_back(Queued::Finished(id));
                }
            }
            Cmd::Psh => {
                let len = frame.data.len();
                if len == 0 {
                    return ControlFlow::Continue(());
                }
                // xtaci would still buffer data after the peer's FIN; we drop it, because the
                // owner has been told the stream finished (a reader that saw EOF, as io.Copy
                // does, never reads it either).
                let Some(state) = self
                    .streams
                    .get_mut(&id)
                    .filter(|state| !state.peer_finished)
                else {
                    self.stats.dropped_frames += 1;
                    self.stats.dropped_bytes += len as u64;
                    return ControlFlow::Continue(());
                };
                let buffered = self.buffered + len;
                if buffered > self.config.receive_hard_limit {
                    self.fail(MuxError::ReceiveLimit {
                        buffered,
                        limit: self.config.receive_hard_limit,
                    });
                    return ControlFlow::Break(());
                }
                self.buffered = buffered;
                state.unconsumed += len;
                if state.pending.is_empty() {
                    state.pending = frame.data;
                } else {
                    state.pending.extend_from_slice(&frame.data);
                }
                if !state.data_queued {
                    state.data_queued = true;
                    self.events.push_back(Queued::Data(id));
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn fail(&mut self, error: MuxError) {
        if self.dead.is_some() {
            return;
        }
        self.dead = Some(error.clone());
        self.events.push_back(Queued::Error(error));
        self.transmit = Vec::new();
        self.transmit_head = 0;
    }
}

/// A zero period would make the tickers spin; xtaci's `VerifyConfig` refuses it.
fn nonzero(period: Duration) -> Duration {
    period.max(Duration::from_millis(1))
}

/// The first tick after `now` on the grid `tick + k·period` (a Go ticker drops missed ticks).
/// Computed, not stepped, so a long pause before `handle_timeout` costs nothing.
fn next_tick(tick: Instant, period: Duration, now: Instant) -> Instant {
    if tick > now {
        return tick;
    }
    let steps = now.duration_since(tick).as_nanos() / period.as_nanos().max(1) + 1;
    u32::try_from(steps)
        .ok()
        .and_then(|steps| period.checked_mul(steps))
        .and_then(|jump| tick.checked_add(jump))
        .or_else(|| now.checked_add(period))
        .unwrap_or(now)
}
