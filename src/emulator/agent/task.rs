//! The per-session agent task: owns the proto `Session` (agent role), the process and, at
//! times, a client websocket. It outlives sockets: a resumed client's socket arrives on
//! `sockets` and the task carries on with the same sequence numbers (protocol.md §7.2).
//!
//! The loop: apply whatever happened (socket frame, process output or exit, a timer, a
//! TerminateSession signal), then drain the session's events and frames and handle expired
//! timers (`steps.rs`), then sleep until the next input or the table's next deadline
//! (`timers.rs`). Nothing in the loop awaits a socket write or a process, so one slow client
//! or stuck shell stalls only itself.
//!
//! All of the task's state is declared in this file: [`SessionTask`] and the groups it holds.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::ending::Ending;
use super::link::{AgentSocket, Incoming, Link, PendingSocket};
use super::port::{PortEnd, PortEvent, PortWorker};
use super::process::{Output, Process, ProcessEvent};
use super::setup::{self, SessionSetup};
use super::timers::{Timer, TimerTable};
use super::utf8_chunks::MAX_OUTPUT_CHUNK;
use crate::emulator::faults::{Direction, FaultInjector};
use crate::emulator::sessions::{SessionRecord, TerminateRequest};
use crate::emulator::state::EmulatorState;
use crate::proto::Session;

/// How long output may keep coming after the shell exited (background jobs holding the
/// PTY) before everything left in its session is killed.
pub(super) const EXIT_LINGER: Duration = Duration::from_secs(1);
/// The pre-close drain: the real agent gives its outgoing buffer at most 2 s in all to empty
/// before Terminating (§0 item 20, §6.1; agent: shell/shell.go, func executeCommandsWithPty).
/// The emulator restarts the wait when a client resumes meanwhile (`attach`).
pub(super) const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// The real agent has no send window (§0 item 16, §5.3): what it reads is sent at once. This
/// bound on unacknowledged output (8 MiB of 1 KiB messages) is an emulator limit, not protocol
/// behaviour: it keeps a client that never acks from growing the emulator's memory without
/// end (the real agent buffers up to 100 000 messages, then sends without buffering). When it
/// is reached the emulator stops reading the process, as backpressure. It stays below
/// gangway's reorder capacity (10 000) so a gap never makes the client drop frames.
const AGENT_BUFFER_LIMIT_BYTES: usize = 8 << 20;
const AGENT_BUFFER_LIMIT_MESSAGES: usize = AGENT_BUFFER_LIMIT_BYTES / MAX_OUTPUT_CHUNK;
/// At most this many already-received frames are handled in one pass of the loop.
const READY_FRAMES_PER_PASS: usize = 128;
/// Input waiting for the process beyond which more input is refused unacked, the
/// reference agent's "handler not ready" (§5.2): the client keeps it and retransmits, so
/// an upload faster than the shell reads is held back at the client instead of queueing
/// here. Large enough that the PTY never runs dry while a refused message waits for its
/// retransmission (gangway resends after at least 100 ms; this lasts ~160 ms at 50 MiB/s).
const INPUT_HIGH_WATER_BYTES: usize = 8 << 20;
/// The agent's wait for the HandshakeResponse (§7.3).
pub(super) const HANDSHAKE_WAIT: Duration = Duration::from_secs(15);
/// When no timer is armed, wake up this often anyway.
const IDLE_WAKE: Duration = Duration::from_secs(3600);

/// One session's task. What it runs is fixed at the start (`setup`); the rest is grouped
/// by what it talks to: the data channel, the process, the client's socket, the registry's
/// terminate signal, and the timers.
pub(super) struct SessionTask {
    pub(super) state: Arc<EmulatorState>,
    /// The session as the registry knows it: id, target, document, start time.
    pub(super) record: SessionRecord,
    /// The document's plan, the process to launch, the agent version to advertise.
    pub(super) setup: SessionSetup,
    pub(super) channel: Channel,
    pub(super) process: ProcessSide,
    pub(super) client: ClientSide,
    pub(super) terminate: TerminateWatch,
    pub(super) timers: TimerTable,
    /// When the frame being handled was read (`echo_hops.rs`; 0 when not measuring).
    pub(super) frame_read_at: u64,
}

/// The data channel in the agent role, and how far its ending has got.
pub(super) struct Channel {
    pub(super) session: Session,
    /// The exit code went out (separateOutputStream commands only, §6.2.1).
    pub(super) exit_code_sent: bool,
    /// How far KMS encryption got (§4.6, `kms.rs`).
    pub(super) kms: KmsStage,
    /// The HandshakeResponse's ClientVersion (§4.4.1): a port session's mode depends on it.
    pub(super) client_version: String,
}

/// The KMS part of the handshake (§4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KmsStage {
    /// No KMS in this session.
    Off,
    /// KMSEncryption was requested; the HandshakeResponse has not come.
    AwaitingResponse,
    /// The data key decrypted, EncChallengeRequest sent. `update_notice` is the first part
    /// of the CustomerMessage, decided on the HandshakeResponse's ClientVersion (§4.5).
    ChallengeSent { update_notice: String },
}

/// The shell or command, once started, and what is left of its output.
#[derive(Default)]
pub(super) struct ProcessSide {
    pub(super) child: Option<Process>,
    /// A Port session's plugin instead of a process (`port/`).
    pub(super) port: Option<PortWorker>,
    /// How the port plugin ended, once it did.
    pub(super) port_end: Option<PortEnd>,
    /// Output the session did not accept yet (backpressure), with its stream.
    pub(super) pending_output: Option<Output>,
    /// Every output stream ended.
    pub(super) output_done: bool,
    /// Set once the process exited, with its code when it has one.
    pub(super) exit: Option<Option<i32>>,
}

/// The client's side: its websocket while one is attached, and the fault injector between
/// the two.
pub(super) struct ClientSide {
    pub(super) link: Option<Link>,
    /// A socket was attached before: the next one is a resume (§7.2).
    pub(super) attached_once: bool,
    pub(super) faults: Option<FaultInjector>,
}

/// TerminateSession (or shutdown) from the registry.
pub(super) struct TerminateWatch {
    pub(super) receiver: watch::Receiver<Option<TerminateRequest>>,
    /// False once the registry dropped its sender: nothing more can arrive.
    pub(super) open: bool,
}

enum Wake {
    Socket(Option<PendingSocket>),
    Link(Incoming),
    WriterReady,
    Output(Option<Output>),
    Exited(Option<i32>),
    PortEnded(PortEnd),
    Terminate,
    Timer,
}

/// Runs one session from its first socket to its end, then records the ending.
pub async fn run_session(
    state: Arc<EmulatorState>,
    record: SessionRecord,
    sockets: mpsc::Receiver<PendingSocket>,
    first: PendingSocket,
) {
    let session_id = record.id.clone();
    let mut task = SessionTask::new(Arc::clone(&state), record);
    task.attach_pending(first).await;
    let ending = match task.start(Instant::now()) {
        Ok(()) => task.run(sockets).await,
        Err(ending) => ending,
    };
    tracing::info!(%session_id, reason = %ending.history_reason(), "session ended");
    tracing::debug!(%session_id, stats = ?task.channel.session.stats(), "data channel counters");
    if let Some(faults) = &task.client.faults {
        // What was injected, so a fault test can tell that its faults really fired.
        let injected = faults.stats();
        tracing::info!(
            %session_id,
            frame_cuts = injected.dropped,
            duplicated = injected.duplicated,
            reordered = injected.reordered,
            "fault injection totals"
        );
    }
    task.finish(ending).await;
    state.agents.remove(&session_id);
}

impl SessionTask {
    fn new(state: Arc<EmulatorState>, record: SessionRecord) -> Self {
        let now = Instant::now();
        let setup = SessionSetup::new(&state, &record);
        let faults = setup::fault_injector(&state.config.faults, &record.id);
        let session = setup::agent_session(&record.id, AGENT_BUFFER_LIMIT_MESSAGES, now);
        let receiver = state.sessions.subscribe_terminate(&record.id);
        let open = receiver.is_some();
        let receiver = receiver.unwrap_or_else(|| watch::channel(None).1);
        let mut timers = TimerTable::default();
        timers.set_or_stop(
            Timer::MaxDuration,
            state
                .max_duration()
                .map(|max| now + setup::remaining(record.started_at, max)),
        );
        Self {
            state,
            record,
            setup,
            channel: Channel {
                session,
                exit_code_sent: false,
                kms: KmsStage::Off,
                client_version: String::new(),
            },
            process: ProcessSide::default(),
            client: ClientSide {
                link: None,
                attached_once: false,
                faults,
            },
            terminate: TerminateWatch { receiver, open },
            timers,
            frame_read_at: 0,
        }
    }

    async fn run(&mut self, mut sockets: mpsc::Receiver<PendingSocket>) -> Ending {
        loop {
            let now = Instant::now();
            if let Some(ending) = self.step(now) {
                return ending;
            }
            let wake_at = self.timers.next_timeout().unwrap_or(now + IDLE_WAKE);
            let wake = self.wait(&mut sockets, wake_at).await;
            let now = Instant::now();
            let ending = match wake {
                Wake::Socket(Some(socket)) => {
                    self.attach_pending(socket).await;
                    None
                }
                Wake::Socket(None) | Wake::WriterReady | Wake::Timer => None,
                Wake::Link(incoming) => {
                    self.on_incoming(incoming, now);
                    self.take_ready_frames(now);
                    None
                }
                Wake::Output(output) => {
                    self.on_output(output, now);
                    None
                }
                Wake::Exited(code) => {
                    self.on_exit(code, now);
                    None
                }
                Wake::PortEnded(end) => {
                    tracing::debug!(session_id = %self.record.id, ?end, "port plugin ended");
                    self.process.port_end = Some(end);
                    None
                }
                Wake::Terminate => self.terminate_request().map(Ending::Terminated),
            };
            if let Some(ending) = ending {
                return ending;
            }
        }
    }

    async fn wait(
        &mut self,
        sockets: &mut mpsc::Receiver<PendingSocket>,
        wake_at: Instant,
    ) -> Wake {
        let wants_output = self.wants_output();
        let has_outbox = self
            .client
            .link
            .as_ref()
            .is_some_and(|l| !l.outbox.is_empty());
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake_at));
        let terminate = &mut self.terminate;
        tokio::select! {
            socket = sockets.recv() => Wake::Socket(socket),
            wake = link_activity(self.client.link.as_mut(), has_outbox) => wake,
            wake = process_activity(self.process.child.as_mut(), wants_output) => wake,
            wake = port_activity(self.process.port.as_mut(), wants_output) => wake,
            changed = terminate.receiver.changed(), if terminate.open => {
                if changed.is_err() {
                    terminate.open = false;
                }
                Wake::Terminate
            }
            () = sleep => Wake::Timer,
        }
    }

    /// A socket handed over from the main runtime, registered with this thread's driver
    /// first; one that cannot be counts as one that dropped at once (the client resumes).
    async fn attach_pending(&mut self, socket: PendingSocket) {
        match socket.open().await {
            Ok(socket) => self.attach(socket, Instant::now()),
            Err(err) => {
                tracing::warn!(session_id = %self.record.id, "data channel lost at hand-over: {err}");
                if self.client.link.is_none() {
                    self.detach(Instant::now());
                }
            }
        }
    }

    /// A new socket for this session: replaces any old one (closing its TCP connection).
    /// Unacknowledged frames are left to the head-only resend, as in the real agent (§7.4).
    pub(super) fn attach(&mut self, socket: AgentSocket, now: Instant) {
        let client = &mut self.client;
        client.link = Some(Link::new(socket, self.setup.launch.hops.clone()));
        let cut_every = client.faults.as_ref().and_then(|f| f.spec().cut_every);
        self.timers
            .set_or_stop(Timer::Cut, cut_every.map(|every| now + every));
        if let Some(faults) = client.faults.as_mut() {
            faults.forget_held();
        }
        if client.attached_once {
            if let Some(faults) = client.faults.as_mut() {
                faults.on_resume();
            }
            // A no-op for the agent's head-only resend: nothing is replayed (§7.4).
            self.channel.session.handle_reconnect(now);
            tracing::info!(session_id = %self.record.id, "client resumed the data channel");
        }
        client.attached_once = true;
        self.timers.stop(Timer::Detached);
        if self.timers.get(Timer::DrainStall).is_some() {
            self.timers.set(Timer::DrainStall, now + DRAIN_WAIT);
        }
        self.state.sessions.mark_attached(&self.record.id);
    }

    /// The socket is gone: keep the session, wait for a resume for the grace period.
    pub(super) fn detach(&mut self, now: Instant) {
        self.client.link = None;
        self.timers.stop(Timer::Cut);
        if let Some(faults) = self.client.faults.as_mut() {
            faults.forget_held();
        }
        self.timers
            .set(Timer::Detached, now + self.state.config.detached_grace);
        self.state.sessions.mark_detached(&self.record.id);
    }

    fn on_incoming(&mut self, incoming: Incoming, now: Instant) {
        match incoming {
            Incoming::Frame(frame) => {
                if self.setup.launch.hops.is_some() {
                    self.frame_read_at = super::echo_hops::now_ns();
                }
                if self
                    .client
                    .faults
                    .as_mut()
                    .is_some_and(|f| f.cuts_socket(&frame))
                {
                    tracing::debug!(session_id = %self.record.id, "fault injection: cutting the websocket");
                    self.detach(now);
                    return;
                }
                let mut frames = VecDeque::new();
                match self.client.faults.as_mut() {
                    Some(faults) => faults.apply(Direction::FromClient, frame, &mut frames),
                    None => frames.push_back(frame),
                }
                let takes_input = self.process_takes_input();
                let session = &mut self.channel.session;
                let malformed_before = session.stats().malformed_dropped;
                session.set_receive_ready(takes_input);
                for frame in frames {
                    session.handle_frame(now, &frame);
                }
                if session.stats().malformed_dropped > malformed_before {
                    tracing::debug!(session_id = %self.record.id, "malformed frame dropped");
                }
            }
            Incoming::Ignored => {}
            Incoming::Gone => self.detach(now),
        }
    }

    /// False while the process (or the port plugin) has more than
    /// [`INPUT_HIGH_WATER_BYTES`] of input waiting.
    fn process_takes_input(&self) -> bool {
        let process = self
            .process
            .child
            .as_ref()
            .is_none_or(|process| process.queued_input_bytes() < INPUT_HIGH_WATER_BYTES);
        let port = self
            .process
            .port
            .as_ref()
            .is_none_or(|port| port.queued_input_bytes() < INPUT_HIGH_WATER_BYTES);
        process && port
    }

    /// Handles frames that are already waiting, so a burst costs one pass of the loop
    /// instead of one per frame.
    fn take_ready_frames(&mut self, now: Instant) {
        for _ in 0..READY_FRAMES_PER_PASS {
            match self.client.link.as_mut().and_then(Link::try_next_incoming) {
                Some(incoming) => self.on_incoming(incoming, now),
                None => return,
            }
        }
    }

    fn terminate_request(&self) -> Option<TerminateRequest> {
        self.terminate.receiver.borrow().clone()
    }

    /// Sends channel_closed when a client is there to read it, kills whatever is left of
    /// the process and moves the session to History.
    async fn finish(&mut self, ending: Ending) {
        if let Some(process) = &self.process.child {
            process.kill();
        }
        if let Some(port) = &self.process.port {
            port.stop();
        }
        if self.client.link.is_some() {
            let now = Instant::now();
            self.channel
                .session
                .close(now, &ending.channel_closed_output());
            self.pump_transmit_all(now);
        }
        // History first: a client that read channel_closed finds the session ended.
        self.state
            .sessions
            .finish(&self.record.id, ending.status(), ending.history_reason());
        if let Some(link) = self.client.link.take() {
            link.close_gracefully().await;
        }
        self.process.child = None;
        self.process.port = None;
    }
}

async fn link_activity(link: Option<&mut Link>, has_outbox: bool) -> Wake {
    match link {
        Some(link) => match link.next_activity(has_outbox).await {
            Some(incoming) => Wake::Link(incoming),
            None => Wake::WriterReady,
        },
        None => std::future::pending().await,
    }
}

async fn port_activity(port: Option<&mut PortWorker>, wants_output: bool) -> Wake {
    match port {
        Some(port) => match port.next_event(wants_output).await {
            PortEvent::Output(output) => Wake::Output(output),
            PortEvent::Ended(end) => Wake::PortEnded(end),
        },
        None => std::future::pending().await,
    }
}

async fn process_activity(process: Option<&mut Process>, wants_output: bool) -> Wake {
    match process {
        Some(process) => match process.next_event(wants_output).await {
            ProcessEvent::Output(output) => Wake::Output(output),
            ProcessEvent::Exited(code) => Wake::Exited(code),
        },
        None => std::future::pending().await,
    }
}
