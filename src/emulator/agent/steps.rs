//! The session task's bookkeeping between waits: starting the process, reacting to proto
//! events, moving output into the session and frames out to the socket, and the timers.

use std::time::{Duration, Instant};

use super::ending::Ending;
use super::link::OUTBOX_HIGH_WATER;
use super::process::{Output, Process};
use super::task::{DRAIN_STALL, EXIT_LINGER, HANDSHAKE_WAIT, SessionTask};
use super::utf8_chunks::MAX_OUTPUT_CHUNK;
use crate::emulator::faults::Direction;
use crate::proto::{
    Event, HandshakeComplete, HandshakeRequest, PayloadFlag, RequestedClientAction, TerminalSize,
};

/// The AgentVersion advertised in handshakes when the fleet gives none usable (§4.3).
pub const AGENT_VERSION: &str = "3.3.0.0";
/// A last resort only: in-order input is refused above `INPUT_HIGH_WATER_BYTES` (task.rs),
/// but ahead-of-order messages are delivered without asking once their turn comes (§5.2),
/// so a client with a huge window of huge payloads could still push past it.
const MAX_INPUT_BACKLOG_BYTES: usize = 64 << 20;
/// When nothing else is armed, wake up this often anyway.
const IDLE_WAKE: Duration = Duration::from_secs(3600);

impl SessionTask {
    /// Spawns the process (or starts the handshake that precedes it), arms the idle timer.
    pub(super) fn start(&mut self, now: Instant) -> Result<(), Ending> {
        if let Some(request) = self.terminate.borrow().clone() {
            return Err(Ending::Terminated(request));
        }
        let plan = self.plan.clone().map_err(Ending::Failed)?;
        self.touch(now);
        match plan.handshake_session_type {
            Some(session_type) => {
                let request = HandshakeRequest {
                    agent_version: self.agent_version.clone(),
                    requested_client_actions: vec![RequestedClientAction::session_type(
                        session_type,
                        serde_json::Value::Null,
                    )],
                };
                self.session
                    .start_handshake(now, request)
                    .map_err(|err| Ending::Failed(format!("Handshake failed: {err}")))?;
                self.deadlines.handshake = Some(now + HANDSHAKE_WAIT);
                Ok(())
            }
            None => self.spawn_process(),
        }
    }

    fn spawn_process(&mut self) -> Result<(), Ending> {
        let process = Process::spawn(&self.launch)
            .map_err(|err| Ending::Failed(format!("Failed to start the session process: {err}")))?;
        let profile = &self.state.fleet().preferences.shell_profile_linux;
        if !profile.is_empty()
            && matches!(self.launch.program, super::process::Program::Shell { .. })
        {
            // shellProfile.linux is typed into the shell first (§8).
            process.write_input(format!("{profile}\n").into_bytes());
        }
        tracing::debug!(session_id = %self.record.id, pid = process.pid(), "session process started");
        self.process = Some(process);
        Ok(())
    }

    /// Drains events, fires due timers, and pushes frames towards the socket. Returns the
    /// ending once the session must end.
    pub(super) fn step(&mut self, now: Instant) -> Option<Ending> {
        if self.session.poll_timeout().is_some_and(|due| due <= now) {
            self.session.handle_timeout(now);
        }
        while let Some(event) = self.session.poll_event() {
            if let Some(ending) = self.on_event(event, now) {
                return Some(ending);
            }
        }
        self.retry_pending_output(now);
        if let Some(ending) = self
            .check_deadlines(now)
            .or_else(|| self.check_finished(now))
        {
            return Some(ending);
        }
        self.pump_transmit(now);
        None
    }

    fn on_event(&mut self, event: Event, now: Instant) -> Option<Ending> {
        match event {
            Event::Data { bytes, .. } => {
                self.touch(now);
                if let Some(process) = &self.process {
                    process.write_input(bytes);
                    if process.queued_input_bytes() > MAX_INPUT_BACKLOG_BYTES {
                        return Some(Ending::Failed(format!(
                            "Session terminated: the shell stopped reading its input ({} MiB waiting).",
                            MAX_INPUT_BACKLOG_BYTES >> 20
                        )));
                    }
                }
            }
            Event::Resize(TerminalSize { cols, rows }) => {
                if let Some(process) = &self.process {
                    process.resize(clamp_dimension(rows), clamp_dimension(cols));
                }
            }
            Event::Flag(PayloadFlag::TerminateSession) | Event::ChannelClosed(_) => {
                return Some(Ending::ClosedByClient);
            }
            Event::HandshakeResponded(response) => {
                self.deadlines.handshake = None;
                if !response.all_succeeded() {
                    let errors = response.errors.unwrap_or_default().join("; ");
                    return Some(Ending::Failed(format!("Handshake failed: {errors}")));
                }
                let complete = HandshakeComplete {
                    handshake_time_to_complete: 0,
                    customer_message: String::new(),
                };
                if let Err(err) = self.session.complete_handshake(now, complete) {
                    return Some(Ending::Failed(format!("Handshake failed: {err}")));
                }
                if let Err(ending) = self.spawn_process() {
                    return Some(ending);
                }
            }
            _ => {}
        }
        None
    }

    /// Output is read only while the session can take a whole chunk, so a chunk is never
    /// split (and never split inside a UTF-8 sequence) by the session.
    pub(super) fn wants_output(&self) -> bool {
        self.process.is_some()
            && !self.output_done
            && self.pending_output.is_none()
            && self.session.send_capacity_bytes() >= MAX_OUTPUT_CHUNK
    }

    pub(super) fn on_output(&mut self, output: Option<Output>, now: Instant) {
        match output {
            Some(output) => {
                self.touch(now);
                self.offer_output(output, now);
            }
            None => self.output_done = true,
        }
    }

    fn offer_output(&mut self, output: Output, now: Instant) {
        // What the session did not accept (backpressure) waits in `pending_output`.
        let rest = match output {
            Output::Stdout(bytes) => {
                let accepted = self.session.send_data(now, &bytes);
                Output::Stdout(bytes[accepted..].to_vec())
            }
            Output::Stderr(bytes) => {
                let accepted = self.session.send_stderr(now, &bytes);
                Output::Stderr(bytes[accepted..].to_vec())
            }
        };
        let empty = match &rest {
            Output::Stdout(bytes) | Output::Stderr(bytes) => bytes.is_empty(),
        };
        self.pending_output = (!empty).then_some(rest);
    }

    fn retry_pending_output(&mut self, now: Instant) {
        if self.session.send_capacity_bytes() >= MAX_OUTPUT_CHUNK
            && let Some(output) = self.pending_output.take()
        {
            self.offer_output(output, now);
        }
    }

    pub(super) fn on_exit(&mut self, code: Option<i32>, now: Instant) {
        self.exit = Some(code);
        if !self.output_done {
            self.deadlines.linger = Some(now + EXIT_LINGER);
        }
    }

    /// Frames from the session, through fault injection, towards the writer task.
    pub(super) fn pump_transmit(&mut self, now: Instant) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        // Keep going until the session has nothing left or the writer is full: stopping
        // earlier lets acks (which the session sends before stream data) pile up under a
        // burst of input until output starves and the client retransmits everything.
        let mut drained = false;
        while !drained {
            while link.outbox.len() < OUTBOX_HIGH_WATER {
                let Some(frame) = self.session.poll_transmit(now) else {
                    drained = true;
                    break;
                };
                match self.faults.as_mut() {
                    Some(faults) => faults.apply(Direction::ToClient, frame, &mut link.outbox),
                    None => link.outbox.push_back(frame),
                }
            }
            if !link.push_to_writer() {
                self.detach(now);
                return;
            }
            if link.outbox.len() >= OUTBOX_HIGH_WATER {
                // The writer is full; `writer_ready` wakes the loop to continue.
                return;
            }
        }
    }

    /// Everything the session still has, ignoring the outbox limit: used once, after
    /// `close`, so the channel_closed frame is never left behind.
    pub(super) fn pump_transmit_all(&mut self, now: Instant) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        while let Some(frame) = self.session.poll_transmit(now) {
            match self.faults.as_mut() {
                Some(faults) => faults.apply(Direction::ToClient, frame, &mut link.outbox),
                None => link.outbox.push_back(frame),
            }
        }
        if let Some(faults) = self.faults.as_mut() {
            faults.flush(Direction::ToClient, &mut link.outbox);
        }
    }

    /// Stream data in either direction postpones the idle timeout (§7.3).
    fn touch(&mut self, now: Instant) {
        self.deadlines.idle = Some(now + self.state.idle_timeout());
    }

    fn check_deadlines(&mut self, now: Instant) -> Option<Ending> {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        if due(self.deadlines.max_duration) {
            return self.state.max_duration().map(Ending::MaxDuration);
        }
        if due(self.deadlines.idle) {
            return Some(Ending::IdleTimeout(self.state.idle_timeout()));
        }
        if due(self.deadlines.detached) {
            return Some(Ending::Abandoned(self.state.config.detached_grace));
        }
        if due(self.deadlines.handshake) {
            return Some(Ending::Failed(
                "Handshake failed: no HandshakeResponse from the client.".to_string(),
            ));
        }
        if due(self.deadlines.linger) {
            // Background jobs still hold the PTY after the shell exited: end them.
            self.deadlines.linger = None;
            if let Some(process) = &self.process {
                process.kill();
            }
        }
        if self
            .link
            .as_ref()
            .and_then(|link| link.cut_at)
            .is_some_and(|at| at <= now)
        {
            tracing::debug!(session_id = %self.record.id, "fault injection: cutting the websocket");
            self.detach(now);
        }
        None
    }

    /// After the process exited and its output was handed to the session: the exit code
    /// (non-interactive commands), then the drain (§6.1, §7.3), then the end.
    fn check_finished(&mut self, now: Instant) -> Option<Ending> {
        let code = self.exit?;
        if !self.output_done || self.pending_output.is_some() {
            return None;
        }
        if self
            .plan
            .as_ref()
            .is_ok_and(|plan| plan.handshake_session_type.is_some())
            && !self.exit_code_sent
        {
            if self
                .session
                .send_exit_code(now, code.unwrap_or(-1))
                .is_err()
            {
                return None;
            }
            self.exit_code_sent = true;
        }
        let unacked = self.session.unacked_count();
        if unacked == 0 {
            return Some(Ending::ProcessExited { code });
        }
        if self.deadlines.drain_stall.is_none() || unacked < self.last_unacked {
            self.deadlines.drain_stall = Some(now + DRAIN_STALL);
        }
        self.last_unacked = unacked;
        let stalled = self.deadlines.drain_stall.is_some_and(|at| at <= now);
        (stalled && self.link.is_some()).then_some(Ending::ProcessExited { code })
    }

    /// The earliest instant anything is due.
    pub(super) fn next_wake(&self, now: Instant) -> Instant {
        let cut = self.link.as_ref().and_then(|link| link.cut_at);
        [
            self.session.poll_timeout(),
            self.deadlines.idle,
            self.deadlines.max_duration,
            self.deadlines.detached,
            self.deadlines.handshake,
            self.deadlines.linger,
            self.deadlines.drain_stall,
            cut,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + IDLE_WAKE)
    }
}

/// Terminal sizes arrive as u32 (§3); a PTY takes u16 and at least 1.
fn clamp_dimension(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX).max(1)
}
