//! Network input: decoding, acknowledgements, reordering and in-order delivery (§5.2).

use std::time::Instant;

use super::{Event, Phase, Role, Session};
use crate::proto::frame::{Frame, Received};
use crate::proto::incoming::{Buffered, Hold};
use crate::proto::payloads::{Acknowledge, ChannelClosed, ExitCode, PayloadFlag, TerminalSize};
use crate::proto::types::{MessageType, PayloadType};

impl Session {
    /// Feeds one binary websocket message, decoded as leniently as the references read
    /// frames ([`Frame::decode_received`], §2.1). A frame that fails even that is counted in
    /// `stats.malformed_dropped` and otherwise ignored: never acknowledged, never delivered.
    /// So is a frame whose payload is over `max_incoming_payload_bytes`: no reference sends
    /// one (§5.3), and accepting it would let one message cost what the peer likes.
    pub fn handle_frame(&mut self, now: Instant, bytes: &[u8]) {
        if self.phase == Phase::Closed {
            self.stats.ignored += 1;
            return;
        }
        let Ok(Received {
            frame,
            noncanonical,
        }) = Frame::decode_received(bytes)
        else {
            self.stats.malformed_dropped += 1;
            return;
        };
        if frame.payload.len() > self.config.max_incoming_payload_bytes {
            self.stats.malformed_dropped += 1;
            return;
        }
        if noncanonical {
            self.stats.noncanonical_accepted += 1;
        }
        match frame.message_type {
            MessageType::Acknowledge => {
                self.resume_publication();
                self.on_ack(now, &frame.payload);
            }
            MessageType::ChannelClosed => self.on_channel_closed(&frame.payload),
            MessageType::PausePublication => self.pause_publication(),
            MessageType::StartPublication => self.resume_publication(),
            ref kind if *kind == self.incoming_stream_type() => {
                self.resume_publication();
                self.on_stream(now, frame);
            }
            // agent_session_state, unknown types and stream data in the wrong direction: the
            // reference logs and ignores them (§2.2).
            _ => self.stats.ignored += 1,
        }
    }

    /// pause_publication: the peer's side went inactive, so stream frames (new ones and
    /// retransmissions) stay in the buffer while acks still go out, as the agent does it
    /// (§5.4; agent: datachannel.go, funcs handlePausePublicationMessage,
    /// SendStreamDataMessage, ResendStreamDataMessageScheduler). The reference plugin ignores
    /// the message; holding back is what keeps input from piling up in a dead socket.
    fn pause_publication(&mut self) {
        if !self.paused {
            self.paused = true;
            self.events.push_back(Event::Paused);
        }
    }

    /// The pause ends on start_publication and, as in the agent, on any incoming stream data
    /// or ack: the peer is evidently sending again, and a lost start_publication must not
    /// stall the session (§5.4; agent: datachannel.go, funcs handleStartPublicationMessage,
    /// handleStreamDataMessage, handleAcknowledgeMessage).
    pub(super) fn resume_publication(&mut self) {
        if self.paused {
            self.paused = false;
            self.events.push_back(Event::Resumed);
        }
    }

    fn incoming_stream_type(&self) -> MessageType {
        match self.config.role {
            Role::Client => MessageType::OutputStreamData,
            Role::Agent => MessageType::InputStreamData,
        }
    }

    /// Acks match on the sequence number only (quirk 7) and remove the entry wherever it is.
    fn on_ack(&mut self, now: Instant, payload: &[u8]) {
        let Ok(ack) = Acknowledge::from_json(payload) else {
            self.stats.malformed_dropped += 1;
            return;
        };
        self.stats.acks_received += 1;
        match self
            .outgoing
            .acknowledge(ack.acknowledged_message_sequence_number, now)
        {
            Some(acked) => {
                if let Some(sample) = acked.rtt_sample {
                    self.rtt.on_sample(sample);
                    self.stats.rtt_samples += 1;
                }
            }
            None => self.stats.stale_acks_received += 1,
        }
    }

    /// channel_closed is not sequenced and ends the session at once (§3, quirk 11). The client
    /// ends even when the payload does not parse, keeping whatever fields it can read, as the
    /// plugin does (plugin: src/datachannel/streaming.go, func HandleChannelClosedMessage);
    /// the agent acts only on one that parses (agent: datachannel.go, func
    /// handleChannelClosedMessage).
    fn on_channel_closed(&mut self, payload: &[u8]) {
        let closed = match ChannelClosed::from_json(payload) {
            Ok(closed) => closed,
            Err(_) if self.config.role == Role::Client => {
                self.stats.malformed_payloads += 1;
                ChannelClosed::from_json_lenient(payload)
            }
            Err(_) => {
                self.stats.malformed_dropped += 1;
                return;
            }
        };
        self.enter_closed();
        self.events.push_back(Event::ChannelClosed(closed));
    }

    /// §5.2, for both roles: in-order frames are delivered then acked (the ack is queued
    /// ahead of anything the delivery sends, which gives the client's "ack before handling"
    /// order for handshake messages); ahead-of-order frames are acked and held if there is
    /// room and they are within `incoming_span` of the expected one; duplicates are re-acked
    /// (quirk 6).
    fn on_stream(&mut self, now: Instant, frame: Frame) {
        let sequence = frame.sequence;
        if sequence < self.expected_in_seq {
            self.stats.duplicates_received += 1;
            self.queue_ack(now, &frame);
            return;
        }
        if sequence - self.expected_in_seq > self.config.incoming_span {
            // Further ahead than any honest sender can be: neither held nor acked.
            self.stats.beyond_span_dropped += 1;
            return;
        }
        if sequence > self.expected_in_seq {
            self.hold_ahead_of_order(now, frame);
            return;
        }
        if !self.receive_ready && !frame.payload_type.is_handshake() {
            // No ack, no advance: the sender retransmits it later (§5.2).
            self.stats.not_ready_refused += 1;
            return;
        }
        let ack = self.ack_payload(&frame);
        // With KMS, a payload is opened before it is acked: one that does not decrypt is
        // neither acked nor delivered (§4.6 step 6).
        let Some(payload) = self.open_incoming(frame.payload_type, frame.payload) else {
            return;
        };
        self.push_ack(now, ack);
        self.deliver(now, frame.payload_type, payload);
        self.expected_in_seq += 1;
        while let Some(next) = self.incoming.take(self.expected_in_seq) {
            self.expected_in_seq += 1;
            self.deliver(now, next.payload_type, next.payload);
            if self.phase == Phase::Closed {
                return;
            }
        }
    }

    fn hold_ahead_of_order(&mut self, now: Instant, frame: Frame) {
        let ack = self.ack_payload(&frame);
        let Some(payload) = self.open_incoming(frame.payload_type, frame.payload) else {
            return;
        };
        let message = Buffered {
            payload_type: frame.payload_type,
            payload,
        };
        match self.incoming.hold(frame.sequence, message) {
            Hold::Stored => self.stats.out_of_order_received += 1,
            Hold::AlreadyHeld => self.stats.duplicates_received += 1,
            Hold::Full => {
                // No room: drop without an ack, the sender will retransmit (§5.2).
                self.stats.reorder_overflow_dropped += 1;
                return;
            }
        }
        self.push_ack(now, ack);
    }

    fn queue_ack(&mut self, now: Instant, frame: &Frame) {
        let ack = self.ack_payload(frame);
        self.push_ack(now, ack);
    }

    fn ack_payload(&self, frame: &Frame) -> Acknowledge {
        Acknowledge {
            acknowledged_message_type: frame.message_type.as_str().to_owned(),
            acknowledged_message_id: frame.message_id.to_string(),
            acknowledged_message_sequence_number: frame.sequence,
            is_sequential_message: true,
        }
    }

    fn push_ack(&mut self, now: Instant, ack: Acknowledge) {
        self.push_control(now, MessageType::Acknowledge, ack.to_json());
        self.stats.acks_sent += 1;
    }

    fn deliver(&mut self, now: Instant, payload_type: PayloadType, payload: Vec<u8>) {
        match self.config.role {
            Role::Client => self.deliver_to_client(now, payload_type, payload),
            Role::Agent => self.deliver_to_agent(payload_type, payload),
        }
    }

    fn deliver_to_client(&mut self, now: Instant, payload_type: PayloadType, payload: Vec<u8>) {
        match payload_type {
            PayloadType::Output | PayloadType::StdErr => {
                if payload_type == PayloadType::Output && self.phase == Phase::Waiting {
                    // No handshake: the first Output starts the shell session (§4.1, quirk 9).
                    self.open_gate(now);
                    self.events.push_back(Event::Opened { handshake: false });
                }
                self.emit_data(payload_type, payload);
            }
            PayloadType::ExitCode => match ExitCode::parse(&payload) {
                Ok(ExitCode(code)) => self.events.push_back(Event::ExitCode(code)),
                Err(_) => {
                    // Keep the text: the reference prints every payload as it is (§6.1).
                    self.stats.malformed_payloads += 1;
                    self.emit_data(payload_type, payload);
                }
            },
            PayloadType::HandshakeRequest => self.on_handshake_request(now, &payload),
            PayloadType::HandshakeComplete => self.on_handshake_complete(now, &payload),
            PayloadType::EncChallengeRequest => self.on_challenge_request(now, &payload),
            PayloadType::Flag => self.emit_flag(&payload),
            _ => self.stats.ignored += 1,
        }
    }

    fn deliver_to_agent(&mut self, payload_type: PayloadType, payload: Vec<u8>) {
        let handshaking = matches!(self.phase, Phase::Handshaking | Phase::Responded);
        if handshaking
            && !matches!(
                payload_type,
                PayloadType::HandshakeResponse | PayloadType::EncChallengeResponse
            )
        {
            // During the handshake the agent acks and discards other input (§4.2).
            self.stats.ignored += 1;
            return;
        }
        match payload_type {
            PayloadType::Output => self.emit_data(payload_type, payload),
            PayloadType::Size => match TerminalSize::from_json(&payload) {
                Ok(size) => self.events.push_back(Event::Resize(size)),
                Err(_) => self.stats.malformed_payloads += 1,
            },
            PayloadType::Flag => self.emit_flag(&payload),
            PayloadType::HandshakeResponse => self.on_handshake_response(&payload),
            PayloadType::EncChallengeResponse => self.on_challenge_response(),
            _ => self.stats.ignored += 1,
        }
    }

    fn emit_data(&mut self, payload_type: PayloadType, bytes: Vec<u8>) {
        self.stats.bytes_delivered += bytes.len() as u64;
        self.events.push_back(Event::Data {
            payload_type,
            bytes,
        });
    }

    fn emit_flag(&mut self, payload: &[u8]) {
        match PayloadFlag::from_bytes(payload) {
            Ok(flag) => self.events.push_back(Event::Flag(flag)),
            Err(_) => self.stats.malformed_payloads += 1,
        }
    }
}
