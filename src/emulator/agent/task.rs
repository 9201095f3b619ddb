//! The per-session agent task: owns the proto `Session` (agent role), the process and, at
//! times, a client websocket. It outlives sockets: a resumed client's socket arrives on
//! `sockets` and the task carries on with the same sequence numbers (protocol.md §7.2).
//!
//! The loop: apply whatever happened (socket frame, process output or exit, a timer, a
//! TerminateSession signal), then drain the session's events and frames (`steps.rs`), then
//! sleep until the next input or deadline. Nothing in the loop awaits a socket write or a
//! process, so one slow client or stuck shell stalls only itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::documents::SessionPlan;
use super::ending::Ending;
use super::link::{AgentSocket, Incoming, Link};
use super::process::{LaunchSpec, Output, Process, ProcessEvent};
use super::setup;
use crate::emulator::faults::{Direction, FaultInjector};
use crate::emulator::sessions::{SessionRecord, TerminateRequest};
use crate::emulator::state::EmulatorState;
use crate::proto::Session;

/// How long output may keep coming after the shell exited (background jobs holding the
/// PTY) before everything left in its session is killed.
pub(super) const EXIT_LINGER: Duration = Duration::from_secs(1);
/// The pre-close drain: wait at most this long without an ack making progress. The reference
/// agent waits at most 2 s in all (§7.3).
pub(super) const DRAIN_STALL: Duration = Duration::from_secs(5);
/// Unacknowledged output messages in flight. The proto default (4096) lets frames queue so
/// long behind a slow client (debug builds, 50 sessions on 2 cores) that the RTO, capped at
/// 1 s (§5.3), fires for frames still in transit: in the 64 MiB test under faults, 256
/// gave 4x the needed retransmissions, 128 none spurious at the same speed.
const AGENT_WINDOW_MESSAGES: usize = 128;
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

pub(super) struct SessionTask {
    pub(super) state: Arc<EmulatorState>,
    pub(super) record: SessionRecord,
    pub(super) plan: Result<SessionPlan, String>,
    pub(super) launch: LaunchSpec,
    /// Advertised in the handshake: the instance's agent version from the fleet (§4.3).
    pub(super) agent_version: String,
    pub(super) session: Session,
    pub(super) process: Option<Process>,
    pub(super) link: Option<Link>,
    pub(super) faults: Option<FaultInjector>,
    pub(super) terminate: watch::Receiver<Option<TerminateRequest>>,
    pub(super) terminate_open: bool,
    /// Output the session did not accept yet (backpressure), with its stream.
    pub(super) pending_output: Option<Output>,
    pub(super) output_done: bool,
    pub(super) exit: Option<Option<i32>>,
    pub(super) exit_code_sent: bool,
    pub(super) deadlines: Deadlines,
    pub(super) attached_once: bool,
    pub(super) last_unacked: usize,
}

/// Everything the task may wake up for besides input. `None` means "not armed".
#[derive(Debug, Default)]
pub(super) struct Deadlines {
    pub(super) idle: Option<Instant>,
    pub(super) max_duration: Option<Instant>,
    pub(super) detached: Option<Instant>,
    pub(super) handshake: Option<Instant>,
    pub(super) linger: Option<Instant>,
    pub(super) drain_stall: Option<Instant>,
}

enum Wake {
    Socket(Option<Box<AgentSocket>>),
    Link(Incoming),
    WriterReady,
    Output(Option<Output>),
    Exited(Option<i32>),
    Terminate,
    Timer,
}

/// Runs one session from its first socket to its end, then records the ending.
pub async fn run_session(
    state: Arc<EmulatorState>,
    record: SessionRecord,
    sockets: mpsc::Receiver<AgentSocket>,
    first: AgentSocket,
) {
    let session_id = record.id.clone();
    let mut task = SessionTask::new(Arc::clone(&state), record);
    task.attach(first, Instant::now());
    let ending = match task.start(Instant::now()) {
        Ok(()) => task.run(sockets).await,
        Err(ending) => ending,
    };
    tracing::info!(%session_id, reason = %ending.history_reason(), "session ended");
    tracing::debug!(%session_id, stats = ?task.session.stats(), "data channel counters");
    task.finish(ending).await;
    state.agents.remove(&session_id);
}

impl SessionTask {
    fn new(state: Arc<EmulatorState>, record: SessionRecord) -> Self {
        let now = Instant::now();
        let setup = setup::SessionSetup::new(&state, &record);
        let faults = setup::fault_injector(&state.config.faults, &record.id);
        let session = setup::agent_session(&record.id, AGENT_WINDOW_MESSAGES, now);
        let terminate = state.sessions.subscribe_terminate(&record.id);
        let terminate_open = terminate.is_some();
        let terminate = terminate.unwrap_or_else(|| watch::channel(None).1);
        let deadlines = Deadlines {
            max_duration: state
                .max_duration()
                .map(|max| now + setup::remaining(record.started_at, max)),
            ..Deadlines::default()
        };
        Self {
            plan: setup.plan,
            state,
            record,
            launch: setup.launch,
            agent_version: setup.agent_version,
            session,
            process: None,
            link: None,
            faults,
            terminate,
            terminate_open,
            pending_output: None,
            output_done: false,
            exit: None,
            exit_code_sent: false,
            deadlines,
            attached_once: false,
            last_unacked: 0,
        }
    }

    async fn run(&mut self, mut sockets: mpsc::Receiver<AgentSocket>) -> Ending {
        loop {
            let now = Instant::now();
            if let Some(ending) = self.step(now) {
                return ending;
            }
            let wake_at = self.next_wake(now);
            let wake = self.wait(&mut sockets, wake_at).await;
            let now = Instant::now();
            let ending = match wake {
                Wake::Socket(Some(socket)) => {
                    self.attach(*socket, now);
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
                Wake::Terminate => self.terminate_request().map(Ending::Terminated),
            };
            if let Some(ending) = ending {
                return ending;
            }
        }
    }

    async fn wait(&mut self, sockets: &mut mpsc::Receiver<AgentSocket>, wake_at: Instant) -> Wake {
        let wants_output = self.wants_output();
        let has_outbox = self.link.as_ref().is_some_and(|l| !l.outbox.is_empty());
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake_at));
        tokio::select! {
            socket = sockets.recv() => Wake::Socket(socket.map(Box::new)),
            wake = link_activity(self.link.as_mut(), has_outbox) => wake,
            wake = process_activity(self.process.as_mut(), wants_output) => wake,
            changed = self.terminate.changed(), if self.terminate_open => {
                if changed.is_err() {
                    self.terminate_open = false;
                }
                Wake::Terminate
            }
            () = sleep => Wake::Timer,
        }
    }

    /// A new socket for this session: replaces any old one (closing its TCP connection)
    /// and makes every unacknowledged frame due again.
    pub(super) fn attach(&mut self, socket: AgentSocket, now: Instant) {
        let cut_at = self
            .faults
            .as_ref()
            .and_then(|f| f.spec().cut_every)
            .map(|every| now + every);
        self.link = Some(Link::new(socket, cut_at));
        if let Some(faults) = self.faults.as_mut() {
            faults.forget_held();
        }
        if self.attached_once {
            self.session.handle_reconnect(now);
            tracing::info!(session_id = %self.record.id, "client resumed the data channel");
        }
        self.attached_once = true;
        self.deadlines.detached = None;
        if self.deadlines.drain_stall.is_some() {
            self.deadlines.drain_stall = Some(now + DRAIN_STALL);
        }
        self.state.sessions.mark_attached(&self.record.id);
    }

    /// The socket is gone: keep the session, wait for a resume for the grace period.
    pub(super) fn detach(&mut self, now: Instant) {
        self.link = None;
        if let Some(faults) = self.faults.as_mut() {
            faults.forget_held();
        }
        self.deadlines.detached = Some(now + self.state.config.detached_grace);
        self.state.sessions.mark_detached(&self.record.id);
    }

    fn on_incoming(&mut self, incoming: Incoming, now: Instant) {
        match incoming {
            Incoming::Frame(frame) => {
                let mut frames = VecDeque::new();
                match self.faults.as_mut() {
                    Some(faults) => faults.apply(Direction::FromClient, frame, &mut frames),
                    None => frames.push_back(frame),
                }
                let malformed_before = self.session.stats().malformed_dropped;
                self.session.set_receive_ready(self.process_takes_input());
                for frame in frames {
                    self.session.handle_frame(now, &frame);
                }
                if self.session.stats().malformed_dropped > malformed_before {
                    tracing::debug!(session_id = %self.record.id, "malformed frame dropped");
                }
            }
            Incoming::Ignored => {}
            Incoming::Gone => self.detach(now),
        }
    }

    /// False while the process has more than [`INPUT_HIGH_WATER_BYTES`] of input waiting.
    fn process_takes_input(&self) -> bool {
        self.process
            .as_ref()
            .is_none_or(|process| process.queued_input_bytes() < INPUT_HIGH_WATER_BYTES)
    }

    /// Handles frames that are already waiting, so a burst costs one pass of the loop
    /// instead of one per frame.
    fn take_ready_frames(&mut self, now: Instant) {
        for _ in 0..READY_FRAMES_PER_PASS {
            match self.link.as_mut().and_then(Link::try_next_incoming) {
                Some(incoming) => self.on_incoming(incoming, now),
                None => return,
            }
        }
    }

    fn terminate_request(&self) -> Option<TerminateRequest> {
        self.terminate.borrow().clone()
    }

    /// Sends channel_closed when a client is there to read it, kills whatever is left of
    /// the process and moves the session to History.
    async fn finish(&mut self, ending: Ending) {
        if let Some(process) = &self.process {
            process.kill();
        }
        if self.link.is_some() {
            let now = Instant::now();
            self.session.close(now, &ending.channel_closed_output());
            self.pump_transmit_all(now);
        }
        // History first: a client that read channel_closed finds the session ended.
        self.state
            .sessions
            .finish(&self.record.id, ending.status(), ending.history_reason());
        if let Some(link) = self.link.take() {
            link.close_gracefully().await;
        }
        self.process = None;
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

async fn process_activity(process: Option<&mut Process>, wants_output: bool) -> Wake {
    match process {
        Some(process) => match process.next_event(wants_output).await {
            ProcessEvent::Output(output) => Wake::Output(output),
            ProcessEvent::Exited(code) => Wake::Exited(code),
        },
        None => std::future::pending().await,
    }
}
