//! The public face of the transport: a [`SessionChannel`] that the terminal pump and the
//! TUI use to talk to a live session, without seeing frames, sockets or timers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::dial::Connect;
use super::driver::Driver;
use super::kms::DataKeySource;
use super::socket::BoxedWs;
use super::{Dialer, SecretString, TransportError};
use crate::proto::PayloadFlag;
use crate::proto::port_mode::PortSessionOffer;

/// Answers a ResumeSession call: `Ok(Some(token))`, `Ok(None)` when the service says the
/// session is gone (§7.2: empty TokenValue), or an error message (which must not contain
/// secrets; `AwsError`'s display is safe).
pub type ResumeFuture = Pin<Box<dyn Future<Output = Result<Option<SecretString>, String>> + Send>>;
pub type Resumer = Arc<dyn Fn() -> ResumeFuture + Send + Sync>;

/// What the owner of the channel sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// The agent's first output (or HandshakeComplete) arrived: input and size may flow.
    Opened,
    /// Stream bytes for stdout, in order, exactly as sent (UTF-8 may be split).
    Output(Vec<u8>),
    /// StdErr payloads (NonInteractiveCommands with separate streams, §6.2.1).
    Stderr(Vec<u8>),
    /// A message for the user from the agent (HandshakeComplete's CustomerMessage).
    Notice(String),
    /// The remote command's exit status (PayloadType 12, §2.3).
    ExitCode(i32),
    /// A channel opened with `ChannelOptions::port_session` was offered a Port session and
    /// answered Success (§4.3, §6.3): the owner runs it in the mode the offer names. Comes
    /// before `Opened`.
    PortSession(PortSessionOffer),
    /// A PT 10 flag from the agent (e.g. ConnectToPortError in mux mode, §6.3).
    Flag(PayloadFlag),
    /// The websocket dropped; resuming. Input keeps being buffered meanwhile.
    Reconnecting,
    Reconnected,
    /// `channel_closed` arrived (§3); `reason` is its Output when not empty. Also the end of
    /// a session whose handshake gangway had to answer Failed (a Port session, §4.4), with
    /// the reason. Final event.
    Closed {
        reason: Option<String>,
    },
    /// The channel could not be kept or resumed. Final event.
    Lost(TransportError),
}

impl ChannelEvent {
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Closed { .. } | Self::Lost(_))
    }
}

/// Reconnect backoff, after the reference (§7.2: 100 ms doubling to 5 s, 6 attempts), but
/// with more attempts so that a laptop waking up or a short outage is survived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            attempts: 10,
        }
    }
}

impl Backoff {
    /// The delay before attempt `n` (0-based): initial × 2ⁿ, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[derive(Debug, Clone)]
pub struct ChannelOptions {
    /// Largest stream payload (§5.3: ≤ 1024 towards the real service).
    pub max_payload_bytes: usize,
    /// Unacknowledged input messages in flight. Enough to fill loopback and a WAN path
    /// (512 KiB per round trip), few enough that frames do not queue in socket buffers
    /// for longer than the RTO (§5.3, at most 1 s) and get retransmitted spuriously.
    pub max_in_flight_messages: usize,
    pub backoff: Backoff,
    /// Floor of the retransmission timeout. The websocket runs over TCP, so a frame is only
    /// lost when the socket is (and then everything is resent on resume) or when the agent
    /// refuses it (§5.2 "not ready"); a timeout at RTT + 10 ms (§5.3) mostly fires for
    /// frames still queued, and on loopback such spurious resends cost a fifth of the upload
    /// speed. 100 ms is the reference client's own resend tick.
    pub min_rto: Duration,
    /// Websocket ping interval (keepalive, §7.1).
    pub ping_interval: Duration,
    /// A socket we have heard nothing from (not even a pong) for this long is treated as
    /// dead and resumed: this is what catches a laptop that slept.
    pub dead_after: Duration,
    /// The owner carries port sessions (forward, ssh-proxy): a Port SessionType is answered
    /// Success and reported as [`ChannelEvent::PortSession`]. Off, it is refused (§4.4).
    pub port_session: bool,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1024,
            max_in_flight_messages: 512,
            backoff: Backoff::default(),
            min_rto: Duration::from_millis(100),
            ping_interval: Duration::from_secs(20),
            dead_after: Duration::from_secs(65),
            port_session: false,
        }
    }
}

/// Where the session lives: from StartSession. The URL is kept for every reconnect (§7.2).
#[derive(Debug, Clone)]
pub struct SessionEndpoint {
    pub session_id: String,
    pub stream_url: SecretString,
    pub token: SecretString,
}

pub(crate) enum Command {
    Input(Vec<u8>),
    Resize {
        cols: u32,
        rows: u32,
    },
    Terminate,
    /// A port-session flag (DisconnectToPort in basic mode, §6.3), sent in order with input.
    Flag(PayloadFlag),
}

/// The channel is gone (closed, lost, or its task ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session channel is closed")]
pub struct ChannelGone;

/// Output bytes the driver has handed to the owner's event queue and the owner has not
/// taken yet. Above [`OutputBacklog::HIGH`] the driver stops accepting in-order output
/// (§5.2 "handler not ready": no ack, the agent resends later), and it accepts again once
/// the owner has brought the backlog down to [`OutputBacklog::LOW`]. So a stdout that is
/// not read slows the agent down instead of growing gangway's memory (issue 17, F5).
#[derive(Debug, Default)]
pub(crate) struct OutputBacklog {
    bytes: AtomicUsize,
    /// Woken when the owner takes the backlog down to `LOW` or below.
    drained: Notify,
}

impl OutputBacklog {
    /// Stop accepting above this: seconds of output at the real agent's pace (~1 MiB/s),
    /// tens of milliseconds at gangway's fastest; a consumer that keeps up never meets it.
    pub(crate) const HIGH: usize = 4 << 20;
    /// Accept again at or below this, so one resend cycle moves megabytes, not a frame.
    pub(crate) const LOW: usize = 1 << 20;

    pub(crate) fn queued(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub(crate) fn add(&self, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
    }

    /// The owner took `bytes` of output off the queue.
    fn take(&self, bytes: usize) {
        let before = self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        if before > Self::LOW && before.saturating_sub(bytes) <= Self::LOW {
            // A stored permit if the driver is not waiting yet: the wake-up is never lost.
            self.drained.notify_one();
        }
    }

    /// Resolves once the backlog was brought down to `LOW` (or a stale wake-up was stored:
    /// the caller checks `queued` again).
    pub(crate) async fn drained(&self) {
        self.drained.notified().await;
    }
}

/// The driver's end of the event queue: every event it sends is counted in the backlog.
pub(crate) struct EventSender {
    events: mpsc::UnboundedSender<ChannelEvent>,
    pub(crate) backlog: Arc<OutputBacklog>,
}

impl EventSender {
    /// Queues `event` for the owner; an error once the owner is gone.
    pub(crate) fn send(
        &self,
        event: ChannelEvent,
    ) -> Result<(), mpsc::error::SendError<ChannelEvent>> {
        self.backlog.add(output_len(&event));
        self.events.send(event)
    }
}

/// Bytes of output an event carries, for the backlog.
fn output_len(event: &ChannelEvent) -> usize {
    match event {
        ChannelEvent::Output(bytes) | ChannelEvent::Stderr(bytes) => bytes.len(),
        _ => 0,
    }
}

/// A cloneable handle for sending input from another task (e.g. the stdin reader).
#[derive(Clone)]
pub struct InputSender(mpsc::Sender<Command>);

impl InputSender {
    /// Queues bytes for the remote side. Waits when the channel is saturated
    /// (backpressure); nothing is dropped, including while reconnecting.
    pub async fn send_input(&self, bytes: Vec<u8>) -> Result<(), ChannelGone> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.0
            .send(Command::Input(bytes))
            .await
            .map_err(|_| ChannelGone)
    }

    /// For a plain thread (the stdin reader): blocks while the channel is saturated.
    pub fn send_input_blocking(&self, bytes: Vec<u8>) -> Result<(), ChannelGone> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.0
            .blocking_send(Command::Input(bytes))
            .map_err(|_| ChannelGone)
    }

    /// Waits for room for one input command, without giving anything up if the wait is
    /// cancelled (for a `select!` that must keep reading output meanwhile: a caller that
    /// blocked on [`send_input`](Self::send_input) while the agent waits for it to read
    /// could deadlock the session).
    pub async fn reserve(&self) -> Result<InputPermit<'_>, ChannelGone> {
        self.0
            .reserve()
            .await
            .map(InputPermit)
            .map_err(|_| ChannelGone)
    }

    /// Sends the terminal size; held until the session is open (§9 quirk 9).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), ChannelGone> {
        let (cols, rows) = (u32::from(cols), u32::from(rows));
        self.0
            .send(Command::Resize { cols, rows })
            .await
            .map_err(|_| ChannelGone)
    }

    /// Sends a PT 10 flag after the input queued before it (basic mode's DisconnectToPort,
    /// §6.3). Held until the session is open.
    pub async fn send_flag(&self, flag: PayloadFlag) -> Result<(), ChannelGone> {
        self.0
            .send(Command::Flag(flag))
            .await
            .map_err(|_| ChannelGone)
    }

    /// Asks the agent to end the session (Flag TerminateSession, §2.3).
    pub async fn terminate(&self) -> Result<(), ChannelGone> {
        self.0
            .send(Command::Terminate)
            .await
            .map_err(|_| ChannelGone)
    }
}

/// Room for one input command, from [`InputSender::reserve`].
pub struct InputPermit<'a>(mpsc::Permit<'a, Command>);

impl InputPermit<'_> {
    /// Queues `bytes` (never waits: the room is already held).
    pub fn send_input(self, bytes: Vec<u8>) {
        self.0.send(Command::Input(bytes));
    }
}

/// A live data channel for one session, client role. Dropping it stops its task and
/// closes the socket (without a close frame, like the reference, §7.2).
pub struct SessionChannel {
    input: InputSender,
    /// Unbounded in count, bounded in bytes: see [`OutputBacklog`]. Every other event is
    /// small and rare.
    events: mpsc::UnboundedReceiver<ChannelEvent>,
    backlog: Arc<OutputBacklog>,
    task: JoinHandle<()>,
}

/// Queued input commands before `send_input` waits: enough for pipelining, small enough
/// to bound memory (each command is at most one read of stdin).
const COMMAND_QUEUE: usize = 256;

impl SessionChannel {
    /// Dials the stream URL (retrying transient failures with the same token, like the
    /// reference's initial connect) and starts the task that owns socket and session.
    pub async fn open(
        endpoint: SessionEndpoint,
        dialer: Dialer,
        resumer: Resumer,
        options: ChannelOptions,
    ) -> Result<Self, TransportError> {
        Self::open_with(endpoint, Arc::new(dialer), resumer, options).await
    }

    /// [`open`](Self::open) for a session the agent may ask to encrypt with KMS (§4.6):
    /// `data_keys` answers GenerateDataKey for the key the agent names. Without it a
    /// KMSEncryption request is answered "not supported" and the agent ends the session.
    pub async fn open_with_kms(
        endpoint: SessionEndpoint,
        dialer: Dialer,
        resumer: Resumer,
        data_keys: DataKeySource,
        options: ChannelOptions,
    ) -> Result<Self, TransportError> {
        Self::open_inner(
            endpoint,
            Arc::new(dialer),
            resumer,
            Some(data_keys),
            options,
        )
        .await
    }

    /// [`open`](Self::open) through any [`Connect`] (the driver's tests dial in memory).
    pub(crate) async fn open_with(
        endpoint: SessionEndpoint,
        connect: Arc<dyn Connect>,
        resumer: Resumer,
        options: ChannelOptions,
    ) -> Result<Self, TransportError> {
        Self::open_inner(endpoint, connect, resumer, None, options).await
    }

    async fn open_inner(
        endpoint: SessionEndpoint,
        connect: Arc<dyn Connect>,
        resumer: Resumer,
        data_keys: Option<DataKeySource>,
        options: ChannelOptions,
    ) -> Result<Self, TransportError> {
        let ws = dial_initial(connect.as_ref(), &endpoint, &options.backoff).await?;
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(OutputBacklog::default());
        let driver = Driver::new(
            endpoint,
            connect,
            resumer,
            data_keys,
            options,
            ws,
            command_rx,
            EventSender {
                events: event_tx,
                backlog: Arc::clone(&backlog),
            },
        );
        let task = tokio::spawn(driver.run());
        Ok(Self {
            input: InputSender(command_tx),
            events: event_rx,
            backlog,
            task,
        })
    }

    pub fn input(&self) -> InputSender {
        self.input.clone()
    }

    pub async fn send_input(&self, bytes: Vec<u8>) -> Result<(), ChannelGone> {
        self.input.send_input(bytes).await
    }

    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), ChannelGone> {
        self.input.resize(cols, rows).await
    }

    /// The next event; `None` after the final one has been taken. Taking output lets the
    /// driver accept more: take it when it can be written, not before.
    pub async fn next_event(&mut self) -> Option<ChannelEvent> {
        let event = self.events.recv().await;
        self.taken(event.as_ref());
        event
    }

    /// An event if one is ready now (lets a consumer batch output writes).
    pub fn try_next_event(&mut self) -> Option<ChannelEvent> {
        let event = self.events.try_recv().ok();
        self.taken(event.as_ref());
        event
    }

    fn taken(&self, event: Option<&ChannelEvent>) {
        if let Some(event) = event {
            self.backlog.take(output_len(event));
        }
    }
}

impl Drop for SessionChannel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn dial_initial(
    connect: &dyn Connect,
    endpoint: &SessionEndpoint,
    backoff: &Backoff,
) -> Result<BoxedWs, TransportError> {
    const INITIAL_ATTEMPTS: u32 = 3;
    let mut attempt = 0;
    loop {
        match connect.connect(&endpoint.stream_url, &endpoint.token).await {
            Ok(ws) => return Ok(ws),
            Err(error) if error.is_transient() && attempt + 1 < INITIAL_ATTEMPTS => {
                tracing::warn!(session = %endpoint.session_id, %error, "dial failed, retrying");
                tokio::time::sleep(backoff.delay(attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(1), Duration::from_millis(200));
        assert_eq!(
            b.delay(5),
            Duration::from_secs(3).saturating_add(Duration::from_millis(200))
        );
        assert_eq!(b.delay(6), Duration::from_secs(5));
        assert_eq!(b.delay(40), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn the_backlog_wakes_the_driver_once_taken_down_to_low() {
        let backlog = OutputBacklog::default();
        backlog.add(OutputBacklog::HIGH + 1);
        backlog.take(OutputBacklog::HIGH - OutputBacklog::LOW);
        assert!(backlog.queued() > OutputBacklog::LOW);
        let pending = tokio::time::timeout(Duration::from_millis(10), backlog.drained()).await;
        assert!(pending.is_err(), "woken above LOW");
        // Taken down to LOW before the driver waits: the wake-up is kept for it.
        backlog.take(1);
        assert_eq!(backlog.queued(), OutputBacklog::LOW);
        tokio::time::timeout(Duration::from_secs(5), backlog.drained())
            .await
            .expect("the wake-up was lost");
    }
}
