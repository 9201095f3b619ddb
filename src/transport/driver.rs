//! The task that owns one websocket at a time and the `proto::Session` (client role), and
//! drives its timers: the only place where frames meet the network.
//!
//! A separate reader task drains the socket into a queue so that the peer is never
//! blocked by us while we are busy writing (both sides writing into full TCP buffers
//! would otherwise deadlock a large upload that is echoed back).

use std::collections::VecDeque;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::channel::{ChannelEvent, ChannelOptions, Command, Resumer, SessionEndpoint};
use super::dial::WsStream;
use super::{Dialer, TransportError};
use crate::proto::{self, Event, PayloadFlag, PayloadType, Session, SessionConfig, TerminalSize};

/// After this many malformed frames in a row the link is declared corrupted: something
/// between us and the agent mangles every frame, and retransmission cannot help.
const MAX_MALFORMED_STREAK: u64 = 64;
/// Inbound frames handled before writing the answers (acks) in one flush.
const INBOUND_BATCH: usize = 256;

enum Inbound {
    Frame(Bytes),
    Alive,
    Gone(Option<TransportError>),
}

/// Message ids from the thread-local CSPRNG (the transport may use it; proto may not).
/// `Uuid::new_v4` made one getrandom syscall per frame: 4-13% of the client's CPU.
struct RandomIds;

impl proto::MessageIdSource for RandomIds {
    fn next_id(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(rand::random()).into_uuid()
    }
}

pub(crate) struct Driver {
    session: Session,
    endpoint: SessionEndpoint,
    dialer: Dialer,
    resumer: Resumer,
    options: ChannelOptions,
    sink: SplitSink<WsStream, Message>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
    reader: JoinHandle<()>,
    commands: mpsc::Receiver<Command>,
    commands_closed: bool,
    pending: VecDeque<Command>,
    events: mpsc::UnboundedSender<ChannelEvent>,
    malformed_streak: u64,
    last_heard: Instant,
}

impl Driver {
    pub(crate) fn new(
        endpoint: SessionEndpoint,
        dialer: Dialer,
        resumer: Resumer,
        options: ChannelOptions,
        ws: WsStream,
        commands: mpsc::Receiver<Command>,
        events: mpsc::UnboundedSender<ChannelEvent>,
    ) -> Self {
        let mut config = SessionConfig::client(endpoint.session_id.clone());
        config.max_payload_bytes = options.max_payload_bytes;
        config.outgoing_capacity = options.max_in_flight_messages;
        config.min_rto = options.min_rto;
        let now = Instant::now();
        let session = Session::new(config, Box::new(RandomIds), now, unix_ms());
        let (sink, inbound, reader) = split_socket(ws);
        Self {
            session,
            endpoint,
            dialer,
            resumer,
            options,
            sink,
            inbound,
            reader,
            commands,
            commands_closed: false,
            pending: VecDeque::new(),
            events,
            malformed_streak: 0,
            last_heard: now,
        }
    }

    pub(crate) async fn run(mut self) {
        let end = self.run_until_end().await;
        tracing::info!(session = %self.endpoint.session_id, ?end, stats = ?self.session.stats(), "data channel ended");
        let _ = self.events.send(end);
        self.reader.abort();
        let _ = self.sink.close().await;
    }

    async fn run_until_end(&mut self) -> ChannelEvent {
        let mut ping = tokio::time::interval(self.options.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.feed_pending();
            let step = match self.flush().await {
                Ok(()) => self.step(&mut ping).await,
                Err(error) => Step::Disconnected(Some(error)),
            };
            if let Some(end) = self.drain_events() {
                // A refused handshake leaves its answer to write: the agent learns why the
                // client ended (§4.4). Best effort; the session is over either way.
                if let Err(error) = self.flush().await {
                    tracing::debug!(%error, "last frames not written");
                }
                return end;
            }
            match step {
                Step::Continue => {}
                Step::End(end) => return end,
                Step::Disconnected(cause) => {
                    if let Some(end) = self.reconnect(cause).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Waits for the next thing to happen and applies it to the session.
    async fn step(&mut self, ping: &mut tokio::time::Interval) -> Step {
        let deadline = self.session.poll_timeout();
        let accepting = self.pending.is_empty() && !self.commands_closed;
        tokio::select! {
            inbound = self.inbound.recv() => self.on_inbound(inbound),
            command = self.commands.recv(), if accepting => {
                match command {
                    Some(command) => self.pending.push_back(command),
                    None => self.commands_closed = true,
                }
                Step::Continue
            }
            () = sleep_until(deadline) => {
                self.session.handle_timeout(Instant::now());
                Step::Continue
            }
            _ = ping.tick() => self.on_ping_tick().await,
        }
    }

    /// Handles `first` and whatever else is already queued, up to a batch.
    fn on_inbound(&mut self, first: Option<Inbound>) -> Step {
        let Some(first) = first else {
            return Step::Disconnected(None);
        };
        let batch = take_batch(first, INBOUND_BATCH, || self.inbound.try_recv().ok());
        for inbound in batch {
            match inbound {
                Inbound::Frame(bytes) => {
                    self.last_heard = Instant::now();
                    if let Some(error) = self.on_frame(&bytes) {
                        return Step::End(ChannelEvent::Lost(error));
                    }
                }
                Inbound::Alive => self.last_heard = Instant::now(),
                // The reader stops after Gone, so nothing can follow it.
                Inbound::Gone(cause) => return Step::Disconnected(cause),
            }
        }
        Step::Continue
    }

    fn on_frame(&mut self, bytes: &[u8]) -> Option<TransportError> {
        let before = self.session.stats().malformed_dropped;
        let noncanonical = self.session.stats().noncanonical_accepted;
        self.session.handle_frame(Instant::now(), bytes);
        if self.session.stats().noncanonical_accepted > noncanonical {
            // Accepted as the references accept it (§2.1), but worth knowing about.
            tracing::debug!(
                len = bytes.len(),
                "frame with an unusual HeaderLength or PayloadLength accepted"
            );
        }
        if self.session.stats().malformed_dropped > before {
            self.malformed_streak += 1;
            tracing::debug!(streak = self.malformed_streak, "malformed frame dropped");
            if self.malformed_streak >= MAX_MALFORMED_STREAK {
                return Some(TransportError::CorruptedFrames {
                    count: self.malformed_streak,
                });
            }
        } else {
            self.malformed_streak = 0;
        }
        None
    }

    async fn on_ping_tick(&mut self) -> Step {
        if self.last_heard.elapsed() > self.options.dead_after {
            return Step::Disconnected(Some(TransportError::Socket(
                "no answer to keepalive pings".into(),
            )));
        }
        // §7.1: the reference pings with the payload `keepalive`.
        match self
            .sink
            .send(Message::Ping(Bytes::from_static(b"keepalive")))
            .await
        {
            Ok(()) => Step::Continue,
            Err(e) => Step::Disconnected(Some(self.ws_error(&e))),
        }
    }

    /// Moves queued commands into the session as far as its send buffer allows.
    fn feed_pending(&mut self) {
        let now = Instant::now();
        while let Some(command) = self.pending.pop_front() {
            match command {
                Command::Input(bytes) => {
                    let accepted = self.session.send_data(now, &bytes);
                    if accepted < bytes.len() {
                        self.pending
                            .push_front(Command::Input(bytes[accepted..].to_vec()));
                        return;
                    }
                }
                Command::Resize { cols, rows } => {
                    // Nothing, not even Size, may precede the agent's first output (quirk 9).
                    if !self.session.is_open() {
                        self.pending.push_front(Command::Resize { cols, rows });
                        return;
                    }
                    if let Err(error) = self.session.send_size(now, TerminalSize { cols, rows }) {
                        tracing::debug!(?error, "size not sent");
                    }
                }
                Command::Terminate => {
                    if let Err(error) = self.session.send_flag(now, PayloadFlag::TerminateSession) {
                        tracing::debug!(?error, "terminate flag not sent");
                    }
                }
            }
        }
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        let now = Instant::now();
        let mut wrote = false;
        while let Some(frame) = self.session.poll_transmit(now) {
            wrote = true;
            if let Err(e) = self.sink.feed(Message::binary(frame)).await {
                return Err(self.ws_error(&e));
            }
        }
        if wrote {
            self.sink.flush().await.map_err(|e| self.ws_error(&e))?;
        }
        Ok(())
    }

    /// Forwards session events; returns the final event once `channel_closed` arrived.
    fn drain_events(&mut self) -> Option<ChannelEvent> {
        while let Some(event) = self.session.poll_event() {
            let mapped = match event {
                Event::Opened { .. } => ChannelEvent::Opened,
                Event::Data {
                    payload_type: PayloadType::StdErr,
                    bytes,
                } => ChannelEvent::Stderr(bytes),
                Event::Data { bytes, .. } => ChannelEvent::Output(bytes),
                Event::ExitCode(code) => ChannelEvent::ExitCode(code),
                Event::HandshakeCompleted(done) if !done.customer_message.is_empty() => {
                    ChannelEvent::Notice(done.customer_message)
                }
                Event::ChannelClosed(closed) => {
                    let reason = Some(closed.output).filter(|text| !text.trim().is_empty());
                    return Some(ChannelEvent::Closed { reason });
                }
                Event::Refused { reason } => {
                    tracing::warn!(%reason, "handshake answered Failed; ending the session");
                    return Some(ChannelEvent::Closed {
                        reason: Some(reason),
                    });
                }
                Event::Paused => {
                    tracing::info!("pause_publication: input held until the agent is back");
                    continue;
                }
                Event::Resumed => {
                    tracing::info!("publication resumed");
                    continue;
                }
                _ => continue,
            };
            let _ = self.events.send(mapped);
        }
        None
    }

    /// Resumes after a dropped socket (§7.2): ResumeSession for a new token, re-dial the
    /// ORIGINAL stream URL, keep all sequence state. Returns the final event on failure.
    async fn reconnect(&mut self, cause: Option<TransportError>) -> Option<ChannelEvent> {
        self.reader.abort();
        let mut last_error = cause.unwrap_or(TransportError::Socket("connection closed".into()));
        tracing::warn!(session = %self.endpoint.session_id, error = %last_error, "websocket dropped, resuming");
        let _ = self.events.send(ChannelEvent::Reconnecting);
        for attempt in 0..self.options.backoff.attempts {
            tokio::time::sleep(self.options.backoff.delay(attempt)).await;
            let token = match (self.resumer)().await {
                Ok(Some(token)) => token,
                Ok(None) => return Some(ChannelEvent::Lost(TransportError::SessionTimedOut)),
                Err(message) => {
                    last_error = TransportError::ResumeFailed(message);
                    continue;
                }
            };
            self.endpoint.token = token;
            match self
                .dialer
                .dial(&self.endpoint.stream_url, &self.endpoint.token)
                .await
            {
                Ok(ws) => {
                    self.install(ws);
                    self.session.handle_reconnect(Instant::now());
                    tracing::info!(session = %self.endpoint.session_id, attempt, "resumed");
                    let _ = self.events.send(ChannelEvent::Reconnected);
                    return None;
                }
                Err(error) => last_error = error,
            }
        }
        Some(ChannelEvent::Lost(TransportError::ResumeFailed(
            last_error.to_string(),
        )))
    }

    fn install(&mut self, ws: WsStream) {
        let (sink, inbound, reader) = split_socket(ws);
        self.sink = sink;
        self.inbound = inbound;
        self.reader = reader;
        self.last_heard = Instant::now();
        self.malformed_streak = 0;
    }

    fn ws_error(&self, error: &tokio_tungstenite::tungstenite::Error) -> TransportError {
        TransportError::from_ws(error, "data channel")
    }
}

enum Step {
    Continue,
    Disconnected(Option<TransportError>),
    End(ChannelEvent),
}

fn split_socket(
    ws: WsStream,
) -> (
    SplitSink<WsStream, Message>,
    mpsc::UnboundedReceiver<Inbound>,
    JoinHandle<()>,
) {
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_socket(stream, tx));
    (sink, rx, reader)
}

async fn read_socket(mut stream: SplitStream<WsStream>, tx: mpsc::UnboundedSender<Inbound>) {
    while let Some(message) = stream.next().await {
        let inbound = match message {
            Ok(Message::Binary(bytes)) => Inbound::Frame(bytes),
            // §1.4: the reference runs any text frame through the binary parser too; the
            // session drops it as malformed unless it really is a frame.
            Ok(Message::Text(text)) => Inbound::Frame(Bytes::from(text)),
            Ok(Message::Ping(_) | Message::Pong(_)) => Inbound::Alive,
            Ok(Message::Close(_)) => break,
            Ok(Message::Frame(_)) => continue,
            Err(error) => {
                let _ = tx.send(Inbound::Gone(Some(TransportError::from_ws(
                    &error,
                    "data channel",
                ))));
                return;
            }
        };
        if tx.send(inbound).is_err() {
            return;
        }
    }
    let _ = tx.send(Inbound::Gone(None));
}

/// `first`, then what `try_next` has ready, `limit` items at most. It takes nothing it
/// does not return: an item dropped here would be an ack or a frame lost, costing a
/// retransmission timeout (an earlier loop did that to 1 message in 257 on a deep queue).
fn take_batch<T>(first: T, limit: usize, mut try_next: impl FnMut() -> Option<T>) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < limit {
        match try_next() {
            Some(item) => batch.push(item),
            None => break,
        }
    }
    batch
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_returns_every_item_it_takes_and_leaves_the_rest() {
        let mut queue: VecDeque<u32> = (1..1000).collect();
        let batch = take_batch(0, 256, || queue.pop_front());
        assert_eq!(batch, (0..256).collect::<Vec<_>>());
        assert_eq!(
            queue.front(),
            Some(&256),
            "an item was taken and not returned"
        );
        let mut short: VecDeque<u32> = (1..3).collect();
        assert_eq!(take_batch(0, 256, || short.pop_front()), vec![0, 1, 2]);
    }
}
