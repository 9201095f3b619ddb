//! The session task's bookkeeping between waits: starting the process, reacting to proto
//! events, moving output into the session and frames out to the socket, and what each timer
//! does when it expires (`on_timer`).

use std::time::Instant;

use super::ending::Ending;
use super::link::OUTBOX_HIGH_WATER;
use super::port::{Mode, PortEnd, PortWorker};
use super::process::{Output, Process};
use super::task::{DRAIN_WAIT, EXIT_LINGER, HANDSHAKE_WAIT, SessionTask};
use super::timers::Timer;
use super::utf8_chunks::MAX_OUTPUT_CHUNK;
use crate::emulator::faults::Direction;
use crate::proto::{
    Event, HandshakeComplete, HandshakeRequest, PayloadFlag, RequestedClientAction, TerminalSize,
};

/// The AgentVersion advertised in handshakes when the fleet gives none usable (§4.3).
pub const AGENT_VERSION: &str = "3.3.0.0";
/// The first agent that reads a port document's `host` (see `spawn_process`).
const AGENT_REMOTE_HOST_FROM: &str = "3.1.1188.0";
/// A last resort only: in-order input is refused above `INPUT_HIGH_WATER_BYTES` (task.rs),
/// but ahead-of-order messages are delivered without asking once their turn comes (§5.2),
/// so a client with a huge window of huge payloads could still push past it.
const MAX_INPUT_BACKLOG_BYTES: usize = 64 << 20;

impl SessionTask {
    /// Spawns the process (or starts the handshake that precedes it), arms the idle timer.
    pub(super) fn start(&mut self, now: Instant) -> Result<(), Ending> {
        if let Some(request) = self.terminate.receiver.borrow().clone() {
            return Err(Ending::Terminated(request));
        }
        self.setup.plan.clone().map_err(Ending::Failed)?;
        self.touch(now);
        match self.setup.handshake_session_type() {
            Some(session_type) => {
                let properties = self
                    .setup
                    .plan
                    .as_ref()
                    .map_or(serde_json::Value::Null, |plan| plan.handshake_properties());
                let mut actions = vec![RequestedClientAction::session_type(
                    session_type,
                    properties,
                )];
                // With KMS, the KMSEncryption action follows SessionType (§0 item 1, kms.rs).
                actions.extend(self.kms_action());
                let request = HandshakeRequest {
                    agent_version: self.setup.agent_version.clone(),
                    requested_client_actions: actions,
                };
                self.channel
                    .session
                    .start_handshake(now, request)
                    .map_err(|err| Ending::Failed(format!("Handshake failed: {err}")))?;
                self.timers.set(Timer::Handshake, now + HANDSHAKE_WAIT);
                Ok(())
            }
            None => self.spawn_process(),
        }
    }

    fn spawn_process(&mut self) -> Result<(), Ending> {
        if let super::process::Program::Port(spec) = &self.setup.launch.program {
            // The agent picks the mode from the HandshakeResponse's ClientVersion (§0 item 8).
            let mode = Mode::choose(
                &spec.properties,
                &self.channel.client_version,
                &self.setup.agent_version,
            );
            tracing::debug!(session_id = %self.record.id, ?mode, "port session starts");
            let mut spec = spec.clone();
            // Agents before the remote-host support read no `host` (plugins/port/port.go:
            // PortParameters had none before it) and dial localhost:portNumber whatever the
            // document says (RELEASENOTES 3.1.1188.0: "Added support for port forwarding to
            // remote host").
            if crate::proto::version::agent_compare(
                &self.setup.agent_version,
                AGENT_REMOTE_HOST_FROM,
            ) == std::cmp::Ordering::Less
                && let Some(properties) = spec.properties.as_object_mut()
            {
                properties.remove("host");
            }
            self.process.port = Some(PortWorker::start(&spec, mode, self.setup.launch.pace));
            return Ok(());
        }
        let process = Process::spawn(&self.setup.launch)
            .map_err(|err| Ending::Failed(format!("Failed to start the session process: {err}")))?;
        let profile = &self.state.fleet().preferences.shell_profile_linux;
        if !profile.is_empty()
            && matches!(
                self.setup.launch.program,
                super::process::Program::Shell { .. }
            )
        {
            // shellProfile.linux is typed into the shell first (§8).
            process.write_input(format!("{profile}\n").into_bytes());
        }
        tracing::debug!(session_id = %self.record.id, pid = process.pid(), "session process started");
        self.process.child = Some(process);
        Ok(())
    }

    /// Drains events, handles expired timers, and pushes frames towards the socket. Returns
    /// the ending once the session must end.
    pub(super) fn step(&mut self, now: Instant) -> Option<Ending> {
        // The proto session's timer first, so what its timeout produces (events,
        // retransmissions) is handled in this same pass.
        self.sync_proto_timer();
        if self.timers.is_expired(Timer::Proto, now) {
            self.on_timer(Timer::Proto, now);
        }
        while let Some(event) = self.channel.session.poll_event() {
            if let Some(ending) = self.on_event(event, now) {
                return Some(ending);
            }
        }
        self.retry_pending_output(now);
        // The task's own timers after the events: data that arrived postpones the idle
        // timeout, a HandshakeResponse stops the handshake wait.
        for timer in self.timers.expired(now) {
            if timer == Timer::Proto {
                continue; // handled above; the table's copy may be stale by now
            }
            if let Some(ending) = self.on_timer(timer, now) {
                return Some(ending);
            }
        }
        if let Some(ending) = self.check_finished(now) {
            return Some(ending);
        }
        self.pump_transmit(now);
        // What was sent may have moved the proto deadline; the loop sleeps on the table.
        self.sync_proto_timer();
        None
    }

    /// What an expired timer does. Endings come back to the loop; the rest happens here.
    fn on_timer(&mut self, timer: Timer, now: Instant) -> Option<Ending> {
        match timer {
            Timer::Proto => {
                self.channel.session.handle_timeout(now);
                None
            }
            Timer::MaxDuration => self.state.max_duration().map(Ending::MaxDuration),
            Timer::Idle => Some(Ending::IdleTimeout(self.state.idle_timeout())),
            Timer::Detached => Some(Ending::Abandoned(self.state.config.detached_grace)),
            Timer::Handshake => Some(Ending::Failed(self.handshake_timeout_reason())),
            Timer::Linger => {
                // Background jobs still hold the PTY after the shell exited: end them.
                self.timers.stop(Timer::Linger);
                if let Some(process) = &self.process.child {
                    process.kill();
                }
                None
            }
            Timer::Cut => {
                tracing::debug!(session_id = %self.record.id, "fault injection: cutting the websocket");
                self.detach(now);
                None
            }
            // The drain gives up in `check_finished`.
            Timer::DrainStall => None,
        }
    }

    /// The table's copy of the proto session's deadline.
    fn sync_proto_timer(&mut self) {
        self.timers
            .set_or_stop(Timer::Proto, self.channel.session.poll_timeout());
    }

    fn on_event(&mut self, event: Event, now: Instant) -> Option<Ending> {
        match event {
            Event::Data { bytes, .. } => {
                self.touch(now);
                if let Some(port) = &self.process.port {
                    port.write_input(bytes);
                } else if let Some(process) = &self.process.child {
                    if let Some(hops) = &self.setup.launch.hops {
                        hops.input_delivered(self.frame_read_at);
                    }
                    process.write_input(self.setup.agent_input(bytes));
                    if process.queued_input_bytes() > MAX_INPUT_BACKLOG_BYTES {
                        return Some(Ending::Failed(format!(
                            "Session terminated: the shell stopped reading its input ({} MiB waiting).",
                            MAX_INPUT_BACKLOG_BYTES >> 20
                        )));
                    }
                }
            }
            Event::Resize(TerminalSize { cols, rows }) => {
                if let Some(process) = &self.process.child {
                    process.resize(clamp_dimension(rows), clamp_dimension(cols));
                }
            }
            // Port sessions end on TerminateSession in both modes and hand DisconnectToPort
            // to the plugin (basic mode acts on it, mux ignores it; agent:
            // plugins/port/port_basic.go and port_mux.go, func HandleStreamMessage).
            Event::Flag(flag) if self.process.port.is_some() => {
                if flag == PayloadFlag::TerminateSession {
                    if let Some(port) = self.process.port.take() {
                        port.stop();
                    }
                    self.process.output_done = true;
                    self.process.port_end = Some(PortEnd::Finished(
                        "The client ended the port session (TerminateSession flag).".to_owned(),
                    ));
                } else if let Some(port) = &self.process.port {
                    port.flag(flag);
                }
            }
            // Shell-type sessions (Standard_Stream, InteractiveCommands,
            // NonInteractiveCommands): the proto session has acked the Flag, and it is
            // ignored, TerminateSession included (§6.1, quirk 26; agent:
            // shell/shell_unix.go, func InputStreamMessageHandler).
            Event::Flag(flag) => {
                tracing::debug!(session_id = %self.record.id, ?flag, "flag ignored by a shell-type session");
            }
            Event::ChannelClosed(_) => return Some(Ending::ClosedByClient),
            Event::HandshakeResponded(response) => {
                self.timers.stop(Timer::Handshake);
                self.channel.client_version = response.client_version.clone();
                if !response.all_succeeded() {
                    let errors = response.errors.unwrap_or_default().join("; ");
                    return Some(Ending::Failed(format!("Handshake failed: {errors}")));
                }
                // With KMS the challenge comes first; HandshakeComplete after it (§4.6).
                match self.start_kms_challenge(&response, now) {
                    Ok(true) => return None,
                    Ok(false) => {
                        let message = self.setup.customer_message(&response.client_version);
                        return self.complete_handshake(now, message);
                    }
                    Err(ending) => return Some(ending),
                }
            }
            Event::ChallengeVerified => {
                self.timers.stop(Timer::Handshake);
                let message = self.kms_customer_message();
                return self.complete_handshake(now, message);
            }
            Event::EncryptionFailed(reason) => {
                // The reference agent leaves such a payload unacked for ever (§4.6 step 6);
                // the emulator ends the session so the failure is visible.
                return Some(Ending::Failed(format!("Session failed: {reason}.")));
            }
            _ => {}
        }
        None
    }

    /// HandshakeComplete (§4.5), then the process starts.
    fn complete_handshake(&mut self, now: Instant, customer_message: String) -> Option<Ending> {
        let complete = HandshakeComplete {
            handshake_time_to_complete: 0,
            customer_message,
        };
        if let Err(err) = self.channel.session.complete_handshake(now, complete) {
            return Some(Ending::Failed(format!("Handshake failed: {err}")));
        }
        self.spawn_process().err()
    }

    /// Output is read only while the session can take a whole chunk, so a chunk is never
    /// split (and never split inside a UTF-8 sequence) by the session.
    pub(super) fn wants_output(&self) -> bool {
        (self.process.child.is_some() || self.process.port.is_some())
            && !self.process.output_done
            && self.process.pending_output.is_none()
            && self.channel.session.send_capacity_bytes() >= MAX_OUTPUT_CHUNK
    }

    pub(super) fn on_output(&mut self, output: Option<Output>, now: Instant) {
        match output {
            Some(output) => {
                self.touch(now);
                self.offer_output(output, now);
            }
            None => self.process.output_done = true,
        }
    }

    fn offer_output(&mut self, output: Output, now: Instant) {
        // What the session did not accept (backpressure) waits in `pending_output`.
        let rest = match output {
            Output::Stdout(bytes) => {
                let accepted = self.channel.session.send_data(now, &bytes);
                Output::Stdout(bytes[accepted..].to_vec())
            }
            Output::Stderr(bytes) => {
                let accepted = self.channel.session.send_stderr(now, &bytes);
                Output::Stderr(bytes[accepted..].to_vec())
            }
            Output::Flag(flag) => match self.channel.session.send_flag(now, flag) {
                Ok(()) => Output::Stdout(Vec::new()),
                Err(_) => Output::Flag(flag),
            },
        };
        let empty = match &rest {
            Output::Stdout(bytes) | Output::Stderr(bytes) => bytes.is_empty(),
            Output::Flag(_) => false,
        };
        self.process.pending_output = (!empty).then_some(rest);
    }

    fn retry_pending_output(&mut self, now: Instant) {
        if self.channel.session.send_capacity_bytes() >= MAX_OUTPUT_CHUNK
            && let Some(output) = self.process.pending_output.take()
        {
            self.offer_output(output, now);
        }
    }

    pub(super) fn on_exit(&mut self, code: Option<i32>, now: Instant) {
        self.process.exit = Some(code);
        if !self.process.output_done {
            self.timers.set(Timer::Linger, now + EXIT_LINGER);
        }
    }

    /// Frames from the session, through fault injection, towards the writer task.
    pub(super) fn pump_transmit(&mut self, now: Instant) {
        let client = &mut self.client;
        let Some(link) = client.link.as_mut() else {
            return;
        };
        // Keep going until the session has nothing left or the writer is full: stopping
        // earlier lets acks (which the session sends before stream data) pile up under a
        // burst of input until output starves and the client retransmits everything.
        let mut drained = false;
        while !drained {
            while link.outbox.len() < OUTBOX_HIGH_WATER {
                let Some(frame) = self.channel.session.poll_transmit(now) else {
                    drained = true;
                    break;
                };
                if client
                    .faults
                    .as_mut()
                    .is_some_and(|f| f.cuts_socket(&frame))
                {
                    // The frame and everything still queued for this socket go with it.
                    tracing::debug!(session_id = %self.record.id, "fault injection: cutting the websocket");
                    self.detach(now);
                    return;
                }
                match client.faults.as_mut() {
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
        let client = &mut self.client;
        let Some(link) = client.link.as_mut() else {
            return;
        };
        while let Some(frame) = self.channel.session.poll_transmit(now) {
            match client.faults.as_mut() {
                Some(faults) => faults.apply(Direction::ToClient, frame, &mut link.outbox),
                None => link.outbox.push_back(frame),
            }
        }
        if let Some(faults) = client.faults.as_mut() {
            faults.flush(Direction::ToClient, &mut link.outbox);
        }
    }

    /// Stream data in either direction postpones the idle timeout (§7.3).
    fn touch(&mut self, now: Instant) {
        self.timers
            .set(Timer::Idle, now + self.state.idle_timeout());
    }

    /// After the process exited and its output was handed to the session: the exit code
    /// (separateOutputStream commands only), then the drain (§6.1, §7.3), then the end.
    fn check_finished(&mut self, now: Instant) -> Option<Ending> {
        if let Some(end) = &self.process.port_end {
            // The plugin returned: the session plugin drains, then closes the channel
            // (agent: sessionplugin.go, func Execute, its deferred PrepareToCloseChannel).
            if !self.process.output_done || self.process.pending_output.is_some() {
                return None;
            }
            let ending = match end {
                PortEnd::Finished(reason) => Ending::PortFinished(reason.clone()),
                PortEnd::Failed(reason) => Ending::Failed(reason.clone()),
            };
            return self.drained(now).then_some(ending);
        }
        let code = self.process.exit?;
        if !self.process.output_done || self.process.pending_output.is_some() {
            return None;
        }
        let channel = &mut self.channel;
        // Only NonInteractiveCommands with separateOutputStream sends one; a shell's status
        // is never read (quirk 27; agent: shell.go, funcs sendExitCode, executeCommandsWithPty).
        if self
            .setup
            .plan
            .as_ref()
            .is_ok_and(|plan| plan.sends_exit_code)
            && !channel.exit_code_sent
        {
            if channel
                .session
                .send_exit_code(now, code.unwrap_or(-1))
                .is_err()
            {
                return None;
            }
            channel.exit_code_sent = true;
        }
        self.drained(now).then_some(Ending::ProcessExited { code })
    }

    /// Whether the pre-close drain is over: everything acked, or its 2 s passed with a
    /// client attached (§0 item 20).
    fn drained(&mut self, now: Instant) -> bool {
        if self.channel.session.unacked_count() == 0 {
            return true;
        }
        if self.timers.get(Timer::DrainStall).is_none() {
            self.timers.set(Timer::DrainStall, now + DRAIN_WAIT);
        }
        self.timers.is_expired(Timer::DrainStall, now) && self.client.link.is_some()
    }
}

/// Terminal sizes arrive as u32 (§3); a PTY takes u16 and at least 1.
fn clamp_dimension(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX).max(1)
}
