//! Handshake sequencing (§4.2): the agent's commands and the client's automatic answer.

use std::time::Instant;

use serde_json::Value;

use super::{Event, Phase, Role, Session};
use crate::proto::error::SendError;
use crate::proto::payloads::{
    ActionStatus, HandshakeComplete, HandshakeRequest, HandshakeResponse, ProcessedClientAction,
    RequestedClientAction,
};
use crate::proto::types::PayloadType;

/// Session types a shell or command channel runs (§4.3). Anything else fails the SessionType
/// action: status 1 would commit the agent to running it (§4.4), status 2 makes it fail the
/// session as the plugin's answer to an unknown type does. `Port` succeeds only when the
/// owner carries port sessions (`SessionConfig::port_sessions`).
const RUNNABLE_SESSION_TYPES: [&str; 3] = [
    "Standard_Stream",
    "InteractiveCommands",
    "NonInteractiveCommands",
];
/// Session types named in a refusal are cut to this many characters (they come from the peer).
const MAX_NAMED_TYPE_CHARS: usize = 64;
/// The session type of port forwarding and SSH (§4.3, §6.3).
pub const PORT_SESSION_TYPE: &str = "Port";
/// Why a channel that was not opened for port sessions refuses one.
pub const PORT_REFUSAL: &str = "gangway cannot run Port sessions in a shell or command channel";

impl Session {
    /// Agent: sends the HandshakeRequest (PT 5) as the very first stream message (seq 0).
    pub fn start_handshake(
        &mut self,
        now: Instant,
        request: HandshakeRequest,
    ) -> Result<(), SendError> {
        self.require_agent_phase(
            Phase::Waiting,
            "start_handshake must come before any output",
        )?;
        if self.next_out_seq != 0 {
            return Err(SendError::HandshakeState(
                "start_handshake must be the first message",
            ));
        }
        self.phase = Phase::Handshaking;
        self.push_stream(now, PayloadType::HandshakeRequest, &request.to_json());
        Ok(())
    }

    /// Agent: sends HandshakeComplete (PT 7) once the response arrived; then the held output
    /// is released.
    pub fn complete_handshake(
        &mut self,
        now: Instant,
        complete: HandshakeComplete,
    ) -> Result<(), SendError> {
        self.require_agent_phase(
            Phase::Responded,
            "complete_handshake needs the client's response",
        )?;
        self.push_stream(now, PayloadType::HandshakeComplete, &complete.to_json());
        self.open_gate(now);
        Ok(())
    }

    fn require_agent_phase(&self, phase: Phase, message: &'static str) -> Result<(), SendError> {
        if self.config.role != Role::Agent {
            return Err(SendError::WrongRole);
        }
        if self.phase == Phase::Closed {
            return Err(SendError::Closed);
        }
        if self.phase != phase {
            return Err(SendError::HandshakeState(message));
        }
        Ok(())
    }

    /// Client: a HandshakeRequest arrived in order; answer it right away (§4.4).
    pub(super) fn on_handshake_request(&mut self, now: Instant, payload: &[u8]) {
        let Ok(request) = HandshakeRequest::from_json(payload) else {
            self.stats.malformed_payloads += 1;
            return;
        };
        if self.phase != Phase::Waiting {
            self.stats.ignored += 1;
            return;
        }
        self.phase = Phase::Handshaking;
        if self.kms_answer_deferred(&request) {
            return; // KMS (§4.6): answered by complete_kms / fail_kms, see kms.rs
        }
        let (response, refusal) = self.answer(&request);
        // Handshake messages pass the closed gate: they are framed directly.
        let frame = self.frame_stream(now, PayloadType::HandshakeResponse, &response.to_json());
        self.events.push_back(Event::HandshakeRequested(request));
        match refusal {
            None => self.outgoing.push(frame),
            Some(reason) => {
                // The agent fails the session on any status but 1 (§4.4) and nothing says a
                // channel_closed follows, so the client ends here instead of waiting: the
                // answer is written once, after the request's ack, then the session is closed.
                self.control.push_back(frame);
                self.enter_closed();
                self.events.push_back(Event::Refused { reason });
            }
        }
    }

    /// The response, and the reason to end the session when an action was not a success.
    pub(super) fn answer(&self, request: &HandshakeRequest) -> (HandshakeResponse, Option<String>) {
        let mut errors = Vec::new();
        let mut refusal = None;
        let processed = request
            .requested_client_actions
            .iter()
            .map(|action| {
                let (processed, reason) = process_action(action, self.config.port_sessions);
                if !processed.error.is_empty() {
                    errors.push(processed.error.clone());
                }
                if refusal.is_none() {
                    refusal = reason;
                }
                processed
            })
            .collect();
        let response = HandshakeResponse {
            client_version: self.config.client_version.clone(),
            processed_client_actions: processed,
            errors: (!errors.is_empty()).then_some(errors),
        };
        (response, refusal)
    }

    /// Client: HandshakeComplete ends the handshake and opens the session.
    pub(super) fn on_handshake_complete(&mut self, now: Instant, payload: &[u8]) {
        let Ok(complete) = HandshakeComplete::from_json(payload) else {
            self.stats.malformed_payloads += 1;
            return;
        };
        if matches!(self.phase, Phase::Waiting | Phase::Handshaking) {
            self.open_gate(now);
            self.events.push_back(Event::Opened { handshake: true });
        }
        self.events.push_back(Event::HandshakeCompleted(complete));
    }

    /// Agent: the client's HandshakeResponse; the owner decides and calls `complete_handshake`.
    pub(super) fn on_handshake_response(&mut self, payload: &[u8]) {
        let Ok(response) = HandshakeResponse::from_json(payload) else {
            self.stats.malformed_payloads += 1;
            return;
        };
        if self.phase != Phase::Handshaking {
            self.stats.ignored += 1;
            return;
        }
        self.phase = Phase::Responded;
        self.events.push_back(Event::Opened { handshake: true });
        self.events.push_back(Event::HandshakeResponded(response));
    }
}

/// SessionType succeeds for the types this channel runs; KMS encryption is not supported yet
/// (§4.6), and unknown actions are reported Unsupported in the status field (where the plugin
/// errs, §4.4). Every answer but Success comes with the reason the session cannot go on.
fn process_action(
    action: &RequestedClientAction,
    port_sessions: bool,
) -> (ProcessedClientAction, Option<String>) {
    let (status, reason) = match action.action_type.as_str() {
        RequestedClientAction::SESSION_TYPE => match action.requested_session_type() {
            Some(kind) if RUNNABLE_SESSION_TYPES.contains(&kind) => (ActionStatus::Success, None),
            Some(PORT_SESSION_TYPE) if port_sessions => (ActionStatus::Success, None),
            Some(PORT_SESSION_TYPE) => (ActionStatus::Failed, Some(PORT_REFUSAL.to_owned())),
            Some(kind) => (
                ActionStatus::Failed,
                Some(format!(
                    "gangway cannot run {} sessions",
                    kind.chars().take(MAX_NAMED_TYPE_CHARS).collect::<String>()
                )),
            ),
            None => (
                ActionStatus::Failed,
                Some("the agent did not say which session type to run".to_owned()),
            ),
        },
        RequestedClientAction::KMS_ENCRYPTION => (
            ActionStatus::Failed,
            Some("KMS encryption is not supported by this client".to_owned()),
        ),
        other => (
            ActionStatus::Unsupported,
            Some(format!(
                "the agent asked for the handshake action {}, which gangway does not support",
                other.chars().take(MAX_NAMED_TYPE_CHARS).collect::<String>()
            )),
        ),
    };
    let error = match (&reason, status) {
        // The plugin leaves Error empty for an unknown action (§4.4).
        (Some(reason), ActionStatus::Failed) => failure(&action.action_type, reason),
        _ => String::new(),
    };
    let processed = ProcessedClientAction {
        action_type: action.action_type.clone(),
        action_status: status.as_u32(),
        action_result: Value::Null,
        error,
    };
    (processed, reason)
}

fn failure(action_type: &str, reason: &str) -> String {
    format!("Failed to process action {action_type}: {reason}")
}
