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

/// Session types the client can run (§4.3); anything else fails the SessionType action.
const KNOWN_SESSION_TYPES: [&str; 4] = [
    "Standard_Stream",
    "InteractiveCommands",
    "NonInteractiveCommands",
    "Port",
];

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
        let response = self.answer(&request);
        // Handshake messages pass the closed gate: they are framed directly.
        self.push_stream(now, PayloadType::HandshakeResponse, &response.to_json());
        self.events.push_back(Event::HandshakeRequested(request));
    }

    pub(super) fn answer(&self, request: &HandshakeRequest) -> HandshakeResponse {
        let mut errors = Vec::new();
        let processed = request
            .requested_client_actions
            .iter()
            .map(|action| {
                let processed = process_action(action);
                if !processed.error.is_empty() {
                    errors.push(processed.error.clone());
                }
                processed
            })
            .collect();
        HandshakeResponse {
            client_version: self.config.client_version.clone(),
            processed_client_actions: processed,
            errors: (!errors.is_empty()).then_some(errors),
        }
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

/// SessionType succeeds for the known types; KMS encryption is not supported yet (§4.6), and
/// unknown actions are reported Unsupported in the status field (where the plugin errs, §4.4).
fn process_action(action: &RequestedClientAction) -> ProcessedClientAction {
    let (status, error) = match action.action_type.as_str() {
        RequestedClientAction::SESSION_TYPE => match action.requested_session_type() {
            Some(kind) if KNOWN_SESSION_TYPES.contains(&kind) => {
                (ActionStatus::Success, String::new())
            }
            _ => (
                ActionStatus::Failed,
                failure(&action.action_type, "unknown session type"),
            ),
        },
        RequestedClientAction::KMS_ENCRYPTION => (
            ActionStatus::Failed,
            failure(
                &action.action_type,
                "KMS encryption is not supported by this client",
            ),
        ),
        _ => (ActionStatus::Unsupported, String::new()),
    };
    ProcessedClientAction {
        action_type: action.action_type.clone(),
        action_status: status.as_u32(),
        action_result: Value::Null,
        error,
    }
}

fn failure(action_type: &str, reason: &str) -> String {
    format!("Failed to process action {action_type}: {reason}")
}
