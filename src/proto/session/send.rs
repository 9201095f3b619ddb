//! User commands: everything the owner asks the session to send.

use std::time::Instant;

use super::{Event, Phase, Role, Session};
use crate::proto::error::SendError;
use crate::proto::payloads::{
    ChannelClosed, ExitCode, PayloadFlag, TerminalSize, format_rfc3339_ms,
};
use crate::proto::types::{MessageType, PayloadType};

impl Session {
    /// Sends stream bytes as PT 1 Output, split into `max_payload_bytes` chunks. Returns how
    /// many bytes were accepted: fewer than `data.len()` (maybe 0) when the outgoing buffer is
    /// full; nothing already accepted is ever evicted. The client holds accepted bytes until
    /// the session opens (quirk 9); the agent opens the session with its first output.
    pub fn send_data(&mut self, now: Instant, data: &[u8]) -> usize {
        self.send_chunks(now, PayloadType::Output, data)
    }

    /// Agent: stderr bytes as PT 11 (NonInteractiveCommands with separate output, §6.2.1).
    pub fn send_stderr(&mut self, now: Instant, data: &[u8]) -> usize {
        if self.config.role != Role::Agent {
            return 0;
        }
        self.send_chunks(now, PayloadType::StdErr, data)
    }

    /// Client: the terminal size as PT 3 JSON.
    pub fn send_size(&mut self, now: Instant, size: TerminalSize) -> Result<(), SendError> {
        self.require_role(Role::Client)?;
        self.send_one(now, PayloadType::Size, size.to_json())
    }

    /// Either role: a PT 10 flag (e.g. TerminateSession from the client, §6.3).
    pub fn send_flag(&mut self, now: Instant, flag: PayloadFlag) -> Result<(), SendError> {
        self.send_one(now, PayloadType::Flag, flag.to_bytes().to_vec())
    }

    /// Agent: the final PT 12 `EXIT_CODE: <n>` message (§6.2.1).
    pub fn send_exit_code(&mut self, now: Instant, code: i32) -> Result<(), SendError> {
        self.require_role(Role::Agent)?;
        self.send_one(now, PayloadType::ExitCode, ExitCode(code).to_bytes())
    }

    /// Agent/service side: emits channel_closed (unsequenced, §3) and closes the session.
    /// Send it only once the peer acknowledged everything (quirk 11); unacked data is dropped.
    pub fn close(&mut self, now: Instant, output: &str) {
        if self.phase == Phase::Closed {
            return;
        }
        let message_id = self.ids.next_id();
        let created_ms = self.created_ms(now);
        let payload = ChannelClosed {
            message_id: message_id.to_string(),
            created_date: format_rfc3339_ms(created_ms),
            destination_id: String::new(),
            session_id: self.config.session_id.clone(),
            message_type: MessageType::ChannelClosed.as_str().to_owned(),
            schema_version: 1,
            output: output.to_owned(),
        };
        let frame = self.control_frame(
            now,
            MessageType::ChannelClosed,
            message_id,
            payload.to_json(),
        );
        self.control.push_back(frame.encode());
        self.enter_closed();
    }

    fn require_role(&self, role: Role) -> Result<(), SendError> {
        if self.config.role == role {
            Ok(())
        } else {
            Err(SendError::WrongRole)
        }
    }

    fn send_chunks(&mut self, now: Instant, payload_type: PayloadType, data: &[u8]) -> usize {
        let mut accepted = 0;
        for chunk in data.chunks(self.max_payload()) {
            if self.free_slots() == 0 {
                break;
            }
            self.enqueue_stream(now, payload_type, chunk);
            accepted += chunk.len();
        }
        self.stats.bytes_accepted += accepted as u64;
        accepted
    }

    fn send_one(
        &mut self,
        now: Instant,
        payload_type: PayloadType,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        if self.phase == Phase::Closed {
            return Err(SendError::Closed);
        }
        if self.free_slots() == 0 {
            return Err(SendError::BufferFull);
        }
        self.enqueue_stream(now, payload_type, &payload);
        Ok(())
    }

    /// Frames the payload now if the gate is open, otherwise holds it (§4.1, §4.2: nothing but
    /// handshake messages before the session opens).
    fn enqueue_stream(&mut self, now: Instant, payload_type: PayloadType, payload: &[u8]) {
        if self.config.role == Role::Agent && self.phase == Phase::Waiting {
            // No handshake: the agent's first output is what opens the session (§4.1).
            self.open_gate(now);
            self.events.push_back(Event::Opened { handshake: false });
        }
        if self.phase == Phase::Open {
            self.push_stream(now, payload_type, payload);
        } else {
            self.held.push_back((payload_type, payload.to_vec()));
        }
    }
}
