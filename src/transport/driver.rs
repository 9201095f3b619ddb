//! The task that owns the `proto::Session` (client role) and, through its [`Link`], one
//! websocket at a time, and drives their timers: the only place where frames meet the
//! network.
//!
//! ```text
//! Connected(socket) ──socket ends, write fails, or nothing heard for dead_after──► Reconnecting
//! Reconnecting ──ResumeSession + dial succeed──► Connected(new socket)
//! any ──channel_closed, session gone, attempts exhausted, corrupted link──► Closed
//! ```
//!
//! Every timer is tokio's (`tokio::time::Instant`), so a paused test clock controls them all;
//! the session, which is sans-IO and takes `std::time::Instant`, gets the same instants
//! converted at the call.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};

use super::channel::{
    ChannelEvent, ChannelOptions, Command, EventSender, OutputBacklog, Resumer, SessionEndpoint,
};
use super::dial::Connect;
use super::kms::{DataKey, DataKeyFuture, DataKeySource, KeyRefused, RandomNonces};
use super::reconnect::{Next, Reconnecting};
use super::socket::{BoxedWs, INBOUND_BATCH, Inbound, Socket, take_batch};
use super::{SecretString, TransportError};
use crate::proto::port_mode::PortSessionOffer;
use crate::proto::{
    self, Event, PayloadFlag, PayloadType, SendError, Session, SessionConfig, TerminalSize,
};

/// After a write fails, how long the reader may still take to hand over what the socket
/// had already received: a channel_closed among it must end the channel as Closed, not
/// send it into a resume (issue 16, bug 5). A broken socket ends its read side at once;
/// this only bounds the odd one that does not.
const DRAIN_AFTER_WRITE_ERROR: Duration = Duration::from_secs(1);

/// Message ids from the thread-local CSPRNG (the transport may use it; proto may not).
/// `Uuid::new_v4` made one getrandom syscall per frame: 4-13% of the client's CPU.
struct RandomIds;

impl proto::MessageIdSource for RandomIds {
    fn next_id(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(rand::random()).into_uuid()
    }
}

/// The states own the socket (after Firezone's phoenix-channel): a link that is resuming
/// holds no dead socket, and a closed one holds nothing.
enum Link {
    Connected(Socket),
    Reconnecting(Reconnecting),
    Closed,
}

pub(crate) struct Driver {
    session: Session,
    endpoint: SessionEndpoint,
    connect: Arc<dyn Connect>,
    resumer: Resumer,
    options: ChannelOptions,
    link: Link,
    commands: mpsc::Receiver<Command>,
    commands_closed: bool,
    pending: VecDeque<Command>,
    /// To the owner; counts the output it has not taken yet (`OutputBacklog`).
    events: EventSender,
    /// Whether the session accepts in-order output (mirrors `set_receive_ready`).
    receive_ready: bool,
    /// GenerateDataKey for KMS-encrypted sessions (§4.6), and the call in flight.
    data_keys: Option<DataKeySource>,
    data_key_call: Option<DataKeyFuture>,
    /// Why the KMS answer failed: how the channel ends once the session reports the
    /// refusal (the failed answer is written first, like any refused handshake).
    kms_failure: Option<TransportError>,
}

enum Step {
    Continue,
    Disconnected(TransportError),
    End(ChannelEvent),
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        endpoint: SessionEndpoint,
        connect: Arc<dyn Connect>,
        resumer: Resumer,
        data_keys: Option<DataKeySource>,
        options: ChannelOptions,
        ws: BoxedWs,
        commands: mpsc::Receiver<Command>,
        events: EventSender,
    ) -> Self {
        let mut config = SessionConfig::client(endpoint.session_id.clone());
        config.max_payload_bytes = options.max_payload_bytes;
        config.outgoing_capacity = options.max_in_flight_messages;
        config.min_rto = options.min_rto;
        config.kms_encryption = data_keys.is_some();
        config.port_sessions = options.port_session;
        let now = Instant::now().into_std();
        let session = Session::new(config, Box::new(RandomIds), now, unix_ms());
        let link = Link::Connected(Socket::new(ws, options.ping_interval));
        Self {
            session,
            endpoint,
            connect,
            resumer,
            options,
            link,
            commands,
            commands_closed: false,
            pending: VecDeque::new(),
            events,
            receive_ready: true,
            data_keys,
            data_key_call: None,
            kms_failure: None,
        }
    }

    pub(crate) async fn run(mut self) {
        let end = self.run_until_end().await;
        tracing::info!(session = %self.endpoint.session_id, ?end, stats = ?self.session.stats(), "data channel ended");
        let _ = self.events.send(end);
        if let Link::Connected(socket) = std::mem::replace(&mut self.link, Link::Closed) {
            socket.close().await;
        }
    }

    async fn run_until_end(&mut self) -> ChannelEvent {
        loop {
            self.feed_pending();
            self.update_receive_ready();
            let step = match self.link {
                Link::Connected(_) => self.step_connected().await,
                Link::Reconnecting(_) => self.step_reconnecting().await,
                Link::Closed => return ChannelEvent::Lost(TransportError::Socket("closed".into())),
            };
            // A channel_closed from the service wins over everything else the driver was
            // doing, including a failure of the same step (issue 16, bug 5).
            if let Some(end) = self.drain_events() {
                // A refused handshake leaves its answer to write: the agent learns why the
                // client ended (§4.4). Best effort; the session is over either way.
                if let Link::Connected(socket) = &mut self.link
                    && let Err(error) = socket.write_transmits(&mut self.session).await
                {
                    tracing::debug!(%error, "last frames not written");
                }
                return end;
            }
            match step {
                Step::Continue => {}
                Step::End(end) => return end,
                Step::Disconnected(cause) => {
                    if let Some(end) = self.start_reconnect(cause) {
                        return end;
                    }
                }
            }
        }
    }

    /// Refuses in-order output while the owner has more than `OutputBacklog::HIGH` untaken,
    /// and accepts it again at `OutputBacklog::LOW` (§5.2 "handler not ready"). A refused
    /// frame is neither acked nor delivered; the agent resends it after its timeout. What
    /// arrives ahead of it is still held (at most the agent's send window), so the client
    /// holds at most HIGH + that window + one frame per event, however long stdout stalls.
    fn update_receive_ready(&mut self) {
        let queued = self.events.backlog.queued();
        let ready = if self.receive_ready {
            queued <= OutputBacklog::HIGH
        } else {
            queued <= OutputBacklog::LOW
        };
        if ready != self.receive_ready {
            tracing::debug!(queued, ready, "output backlog: receive readiness changed");
            self.receive_ready = ready;
            self.session.set_receive_ready(ready);
        }
    }

    /// Writes what the session has ready, then waits for the next thing to happen.
    async fn step_connected(&mut self) -> Step {
        let accepting = self.accepting();
        let refusing = !self.receive_ready;
        let backlog = Arc::clone(&self.events.backlog);
        let Link::Connected(socket) = &mut self.link else {
            return Step::Continue;
        };
        if let Err(error) = socket.write_transmits(&mut self.session).await {
            return self.drain_after_write_error(error).await;
        }
        let deadline = self.session.poll_timeout().map(Instant::from_std);
        let dead_at = socket.last_heard + self.options.dead_after;
        tokio::select! {
            inbound = socket.inbound.recv() => self.on_inbound(inbound),
            command = self.commands.recv(), if accepting => self.on_command(command),
            // The owner caught up: accept output again (the loop re-checks the backlog).
            () = backlog.drained(), if refusing => Step::Continue,
            () = sleep_until(deadline) => {
                self.session.handle_timeout(Instant::now().into_std());
                Step::Continue
            }
            () = tokio::time::sleep_until(dead_at) => self.on_silence(),
            result = in_flight(&mut self.data_key_call) => self.on_data_key(result),
            // A ping due at the instant the service closes (420 s is a multiple of 20 s)
            // finds a closed socket; what the socket received before still counts.
            _ = socket.ping.tick() => match socket.send_ping().await {
                Ok(()) => Step::Continue,
                Err(error) => self.drain_after_write_error(error).await,
            },
        }
    }

    /// Nothing, not even a pong, for `dead_after`: a laptop that slept, or a path that
    /// silently died, which TCP may take many minutes to notice. Unless something arrived
    /// at this very instant and waits unread: that is the peer, heard (and it may be the
    /// service's channel_closed, which must not be dropped with the socket).
    fn on_silence(&mut self) -> Step {
        let Link::Connected(socket) = &mut self.link else {
            return Step::Continue;
        };
        match socket.inbound.try_recv() {
            Ok(first) => self.on_inbound(Some(first)),
            Err(_) => Step::Disconnected(TransportError::Socket(
                "no answer to keepalive pings".into(),
            )),
        }
    }

    /// Waits for the resume attempt in flight, taking commands meanwhile (they go into the
    /// session, which keeps them until the new socket is there: nothing typed is lost).
    async fn step_reconnecting(&mut self) -> Step {
        let accepting = self.accepting();
        let Link::Reconnecting(reconnecting) = &mut self.link else {
            return Step::Continue;
        };
        tokio::select! {
            outcome = reconnecting.in_flight() => {
                let attempt = reconnecting.attempt();
                match reconnecting.next(outcome) {
                    Next::Resumed { token, ws } => self.on_resumed(attempt, token, ws),
                    Next::Retrying => Step::Continue,
                    Next::GiveUp(error) => Step::End(ChannelEvent::Lost(error)),
                }
            }
            command = self.commands.recv(), if accepting => self.on_command(command),
            result = in_flight(&mut self.data_key_call) => self.on_data_key(result),
        }
    }

    /// GenerateDataKey answered (§4.6): the session answers the handshake and encrypts from
    /// now on; a refusal is answered as a failed action and ends the channel with its line.
    fn on_data_key(&mut self, result: Result<DataKey, KeyRefused>) -> Step {
        self.data_key_call = None;
        let now = Instant::now().into_std();
        match result {
            Ok(key) => {
                let answered = self.session.complete_kms(
                    now,
                    &key.ciphertext_blob,
                    &key.plaintext,
                    Box::new(RandomNonces),
                );
                match answered {
                    Ok(()) => {}
                    // An unusable key: the session answered Failed and reports Refused.
                    Err(SendError::Crypto(error)) => {
                        self.kms_failure = Some(TransportError::Encryption(error.to_string()));
                    }
                    Err(error) => tracing::debug!(?error, "data key not used"),
                }
                Step::Continue
            }
            Err(refused) => match self.session.fail_kms(now, &refused.line) {
                Ok(()) => {
                    self.kms_failure = Some(TransportError::KmsRefused(refused));
                    Step::Continue
                }
                // Nothing was waiting for the key any more: end with KMS's reason anyway.
                Err(_) => Step::End(ChannelEvent::Lost(TransportError::KmsRefused(refused))),
            },
        }
    }

    fn accepting(&self) -> bool {
        self.pending.is_empty() && !self.commands_closed
    }

    fn on_command(&mut self, command: Option<Command>) -> Step {
        match command {
            Some(command) => self.pending.push_back(command),
            None => self.commands_closed = true,
        }
        Step::Continue
    }

    /// Handles `first` and whatever else is already queued, up to a batch.
    fn on_inbound(&mut self, first: Option<Inbound>) -> Step {
        let Link::Connected(socket) = &mut self.link else {
            return Step::Continue;
        };
        let Some(first) = first else {
            return Step::Disconnected(closed());
        };
        let batch = take_batch(first, INBOUND_BATCH, || socket.inbound.try_recv().ok());
        for inbound in batch {
            match inbound {
                Inbound::Frame(bytes) => {
                    if let Err(error) = socket.on_frame(&mut self.session, &bytes) {
                        return Step::End(ChannelEvent::Lost(error));
                    }
                }
                Inbound::Alive => socket.last_heard = Instant::now(),
                // The reader stops after Gone, so nothing can follow it.
                Inbound::Gone(cause) => return Step::Disconnected(cause.unwrap_or_else(closed)),
            }
        }
        Step::Continue
    }

    /// A write failed: the socket is going away, but what it received before is still
    /// handed to the session, until the reader reports the end (or briefly gives none).
    async fn drain_after_write_error(&mut self, error: TransportError) -> Step {
        let give_up = tokio::time::sleep(DRAIN_AFTER_WRITE_ERROR);
        tokio::pin!(give_up);
        loop {
            let Link::Connected(socket) = &mut self.link else {
                return Step::Disconnected(error);
            };
            let inbound = tokio::select! {
                biased;
                inbound = socket.inbound.recv() => inbound,
                () = &mut give_up => None,
            };
            match self.on_inbound(inbound) {
                Step::Continue => {}
                Step::Disconnected(_) => return Step::Disconnected(error),
                Step::End(end) => return Step::End(end),
            }
        }
    }

    /// Moves queued commands into the session as far as its send buffer allows.
    fn feed_pending(&mut self) {
        let now = Instant::now().into_std();
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
                Command::Flag(flag) => {
                    // A flag must not overtake input sent before it, nor precede the open.
                    if !self.session.is_open() {
                        self.pending.push_front(Command::Flag(flag));
                        return;
                    }
                    match self.session.send_flag(now, flag) {
                        Ok(()) => {}
                        Err(SendError::BufferFull) => {
                            self.pending.push_front(Command::Flag(flag));
                            return;
                        }
                        Err(error) => tracing::debug!(?error, "flag not sent"),
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
                Event::Flag(flag) => ChannelEvent::Flag(flag),
                Event::HandshakeRequested(request) if self.options.port_session => {
                    match PortSessionOffer::from_request(&request) {
                        Some(offer) => ChannelEvent::PortSession(offer),
                        None => continue,
                    }
                }
                Event::HandshakeCompleted(done) if !done.customer_message.is_empty() => {
                    ChannelEvent::Notice(done.customer_message)
                }
                Event::ChannelClosed(closed) => {
                    let reason = Some(closed.output).filter(|text| !text.trim().is_empty());
                    return Some(ChannelEvent::Closed { reason });
                }
                Event::KmsDataKeyRequested { key_id, .. } => {
                    if let Some(data_keys) = &self.data_keys {
                        self.data_key_call = Some(data_keys(key_id));
                    }
                    continue;
                }
                // Nothing undecrypted is ever delivered: the session ends here (§4.6).
                Event::EncryptionFailed(reason) => {
                    return Some(ChannelEvent::Lost(TransportError::Encryption(reason)));
                }
                Event::Refused { .. } if self.kms_failure.is_some() => {
                    let failure = self.kms_failure.take();
                    return failure.map(ChannelEvent::Lost);
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

    /// Drops the socket and starts resuming (§7.2): ResumeSession for a new token, re-dial
    /// the ORIGINAL stream URL, keep all sequence state. Returns the final event when no
    /// attempt is allowed.
    fn start_reconnect(&mut self, cause: TransportError) -> Option<ChannelEvent> {
        tracing::warn!(session = %self.endpoint.session_id, error = %cause, "websocket dropped, resuming");
        let reconnecting = Reconnecting::start(
            Arc::clone(&self.connect),
            Arc::clone(&self.resumer),
            self.endpoint.stream_url.clone(),
            self.options.backoff,
            &cause,
        );
        let _ = self.events.send(ChannelEvent::Reconnecting);
        match reconnecting {
            Ok(reconnecting) => {
                self.link = Link::Reconnecting(reconnecting);
                None
            }
            Err(error) => {
                self.link = Link::Closed;
                Some(ChannelEvent::Lost(error))
            }
        }
    }

    fn on_resumed(&mut self, attempt: u32, token: SecretString, ws: BoxedWs) -> Step {
        self.endpoint.token = token;
        self.link = Link::Connected(Socket::new(ws, self.options.ping_interval));
        self.session.handle_reconnect(Instant::now().into_std());
        tracing::info!(session = %self.endpoint.session_id, attempt, "resumed");
        let _ = self.events.send(ChannelEvent::Reconnected);
        Step::Continue
    }
}

fn closed() -> TransportError {
    TransportError::Socket("connection closed".into())
}

/// The GenerateDataKey call in flight, or never.
async fn in_flight(call: &mut Option<DataKeyFuture>) -> Result<DataKey, KeyRefused> {
    match call {
        Some(call) => call.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
