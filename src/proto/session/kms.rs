//! KMS encryption on a session (protocol.md §4.6): the client's deferred KMSEncryption answer
//! and challenge reply, the agent's challenge, and the seal/open points of stream payloads.
//!
//! The session stays sans-IO: the client reports [`Event::KmsDataKeyRequested`] and its owner
//! calls KMS GenerateDataKey, then [`Session::complete_kms`] (or [`Session::fail_kms`]); the
//! agent's owner calls KMS Decrypt on the ciphertext it finds in the HandshakeResponse
//! ([`HandshakeResponse::kms_ciphertext_key`]) and then [`Session::start_challenge`].

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Event, Phase, Role, Session};
use crate::proto::crypto::{CryptoError, Encryption, NonceSource, SessionKeys};
use crate::proto::error::SendError;
use crate::proto::payloads::{
    ActionStatus, EncChallenge, HandshakeRequest, HandshakeResponse, RequestedClientAction,
};
use crate::proto::types::PayloadType;

/// The client's HandshakeRequest, kept until the owner has the data key.
#[derive(Debug, Clone)]
pub(super) struct PendingKms {
    request: HandshakeRequest,
}

/// The agent's challenge plaintext, until the client's answer matches it.
#[derive(Debug, Clone)]
pub(super) struct PendingChallenge {
    plaintext: Vec<u8>,
}

/// Per-session encryption state (client and agent).
#[derive(Debug, Default)]
pub(super) struct KmsState {
    pub(super) encryption: Option<Encryption>,
    pub(super) pending_answer: Option<PendingKms>,
    pub(super) challenge: Option<PendingChallenge>,
    /// A payload failed to open: nothing more is delivered; the owner ends the session.
    pub(super) failed: bool,
}

impl RequestedClientAction {
    /// The agent's KMSEncryption action (§4.3, §4.6; agent: datachannel.go, func
    /// buildHandshakeRequestPayload): the key id as configured, and base64 of 16 random bytes.
    pub fn kms_encryption(key_id: &str, challenge: &[u8]) -> Self {
        Self {
            action_type: Self::KMS_ENCRYPTION.to_owned(),
            action_parameters: json!({
                "KMSKeyId": key_id,
                "Challenge": STANDARD.encode(challenge),
            }),
        }
    }

    /// `ActionParameters.KMSKeyId` of a KMSEncryption action.
    pub fn kms_key_id(&self) -> Option<&str> {
        self.action_parameters.get("KMSKeyId")?.as_str()
    }
}

impl HandshakeResponse {
    /// The CiphertextBlob a client put into its KMSEncryption answer (`KMSCipherTextKey`,
    /// base64), when that answer succeeded (agent: datachannel.go, func
    /// handleHandshakeResponse).
    pub fn kms_ciphertext_key(&self) -> Option<Vec<u8>> {
        let action = self.processed_client_actions.iter().find(|action| {
            action.action_type == RequestedClientAction::KMS_ENCRYPTION
                && action.action_status == ActionStatus::Success.as_u32()
        })?;
        let text = action.action_result.get("KMSCipherTextKey")?.as_str()?;
        STANDARD.decode(text).ok()
    }
}

impl Session {
    /// Whether encryption is on (client: from `complete_kms`; agent: from `start_challenge`).
    pub fn is_encrypted(&self) -> bool {
        self.kms.encryption.is_some()
    }

    /// Client: hook of `on_handshake_request`. With a KMSEncryption action and an owner that
    /// can reach KMS (`SessionConfig::kms_encryption`), the answer waits for the data key.
    pub(super) fn kms_answer_deferred(&mut self, request: &HandshakeRequest) -> bool {
        if !self.config.kms_encryption {
            return false;
        }
        let Some(action) = request
            .requested_client_actions
            .iter()
            .find(|action| action.action_type == RequestedClientAction::KMS_ENCRYPTION)
        else {
            return false;
        };
        let key_id = action.kms_key_id().unwrap_or_default().to_owned();
        let challenge = action
            .action_parameters
            .get("Challenge")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.kms.pending_answer = Some(PendingKms {
            request: request.clone(),
        });
        self.events
            .push_back(Event::HandshakeRequested(request.clone()));
        self.events
            .push_back(Event::KmsDataKeyRequested { key_id, challenge });
        true
    }

    /// Client: GenerateDataKey succeeded. Answers the handshake with the CiphertextBlob and
    /// turns encryption on at once, before HandshakeComplete, as the plugin does (§4.6 step 2;
    /// plugin: streaming.go, funcs ProcessKMSEncryptionHandshakeAction,
    /// handleHandshakeRequest). A data key that is not 64 bytes fails the action instead.
    pub fn complete_kms(
        &mut self,
        now: Instant,
        ciphertext_blob: &[u8],
        data_key: &[u8],
        nonces: Box<dyn NonceSource>,
    ) -> Result<(), SendError> {
        let pending = self.take_pending_answer()?;
        let keys = match SessionKeys::from_data_key(data_key) {
            Ok(keys) => keys,
            Err(error) => {
                self.send_kms_answer(now, &pending.request, Err(error.to_string()));
                return Err(SendError::Crypto(error));
            }
        };
        let result = json!({
            "KMSCipherTextKey": STANDARD.encode(ciphertext_blob),
            "KMSCipherTextHash": Value::Null,
        });
        self.send_kms_answer(now, &pending.request, Ok(result));
        self.kms.encryption = Some(Encryption::new(Role::Client, keys, nonces));
        Ok(())
    }

    /// Client: the data key could not be had (KMS refused). Answers the KMSEncryption action
    /// as failed; the agent then fails the session (§4.4, §0 item 2).
    pub fn fail_kms(&mut self, now: Instant, reason: &str) -> Result<(), SendError> {
        let pending = self.take_pending_answer()?;
        self.send_kms_answer(now, &pending.request, Err(reason.to_owned()));
        Ok(())
    }

    fn take_pending_answer(&mut self) -> Result<PendingKms, SendError> {
        if self.phase == Phase::Closed {
            return Err(SendError::Closed);
        }
        self.kms
            .pending_answer
            .take()
            .ok_or(SendError::HandshakeState(
                "no KMSEncryption action is waiting",
            ))
    }

    /// The usual answer with the KMSEncryption entry replaced by the outcome. Like any
    /// answer with a failed action, a failed one closes the session after it is written
    /// (`Event::Refused`, handshake.rs).
    fn send_kms_answer(
        &mut self,
        now: Instant,
        request: &HandshakeRequest,
        outcome: Result<Value, String>,
    ) {
        let (mut response, _) = self.answer(request);
        // Whether the other actions let the session go on: the answer without the KMS one.
        let others = HandshakeRequest {
            agent_version: request.agent_version.clone(),
            requested_client_actions: request
                .requested_client_actions
                .iter()
                .filter(|action| action.action_type != RequestedClientAction::KMS_ENCRYPTION)
                .cloned()
                .collect(),
        };
        let (_, other_refusal) = self.answer(&others);
        let refusal = outcome.as_ref().err().cloned().or(other_refusal);
        for action in &mut response.processed_client_actions {
            if action.action_type != RequestedClientAction::KMS_ENCRYPTION {
                continue;
            }
            match &outcome {
                Ok(result) => {
                    action.action_status = ActionStatus::Success.as_u32();
                    action.action_result = result.clone();
                    action.error = String::new();
                }
                Err(reason) => {
                    action.action_status = ActionStatus::Failed.as_u32();
                    action.action_result = Value::Null;
                    action.error = format!(
                        "Failed to process action {}: {reason}",
                        RequestedClientAction::KMS_ENCRYPTION
                    );
                }
            }
        }
        let errors: Vec<String> = response
            .processed_client_actions
            .iter()
            .filter(|action| !action.error.is_empty())
            .map(|action| action.error.clone())
            .collect();
        response.errors = (!errors.is_empty()).then_some(errors);
        let frame = self.frame_stream(now, PayloadType::HandshakeResponse, &response.to_json());
        match refusal {
            None => self.outgoing.push(frame),
            Some(reason) => {
                self.control.push_back(frame);
                self.enter_closed();
                self.events.push_back(Event::Refused { reason });
            }
        }
    }

    /// Agent: the data key is decrypted; turn encryption on and send EncChallengeRequest
    /// (PT 8) with `challenge` (64 random bytes from the owner) sealed under K_agent (§4.6
    /// step 7; agent: datachannel.go, func sendEncryptionChallenge).
    pub fn start_challenge(
        &mut self,
        now: Instant,
        data_key: &[u8],
        nonces: Box<dyn NonceSource>,
        challenge: Vec<u8>,
    ) -> Result<(), SendError> {
        if self.config.role != Role::Agent {
            return Err(SendError::WrongRole);
        }
        if self.phase != Phase::Responded {
            return Err(SendError::HandshakeState(
                "start_challenge needs the client's response",
            ));
        }
        let keys = SessionKeys::from_data_key(data_key).map_err(SendError::Crypto)?;
        let mut encryption = Encryption::new(Role::Agent, keys, nonces);
        let request = EncChallenge {
            challenge: encryption.seal(&challenge),
        };
        self.kms.encryption = Some(encryption);
        self.kms.challenge = Some(PendingChallenge {
            plaintext: challenge,
        });
        self.push_stream(now, PayloadType::EncChallengeRequest, &request.to_json());
        Ok(())
    }

    /// Which payload types this side seals when encryption is on (§4.6 step 6).
    pub(super) fn seals(&self, payload_type: PayloadType) -> bool {
        self.kms.encryption.is_some()
            && match self.config.role {
                Role::Client => payload_type == PayloadType::Output,
                Role::Agent => matches!(
                    payload_type,
                    PayloadType::Output | PayloadType::StdErr | PayloadType::ExitCode
                ),
            }
    }

    fn opens(&self, payload_type: PayloadType) -> bool {
        self.kms.encryption.is_some()
            && match self.config.role {
                Role::Client => matches!(
                    payload_type,
                    PayloadType::Output | PayloadType::StdErr | PayloadType::ExitCode
                ),
                Role::Agent => payload_type == PayloadType::Output,
            }
    }

    /// Seals `payload` when its type is encrypted in this direction.
    pub(super) fn seal_outgoing(&mut self, payload_type: PayloadType, payload: &[u8]) -> Vec<u8> {
        let seals = self.seals(payload_type);
        match (&mut self.kms.encryption, seals) {
            (Some(encryption), true) => encryption.seal(payload),
            _ => payload.to_vec(),
        }
    }

    /// Opens an incoming stream payload before it is acked, held or delivered. `None` means
    /// refuse it (no ack, no delivery): a payload that does not open ends the session with
    /// [`Event::EncryptionFailed`]; a challenge answer that does not match is only refused,
    /// and the agent's handshake wait runs out (§4.6 step 7).
    pub(super) fn open_incoming(
        &mut self,
        payload_type: PayloadType,
        payload: Vec<u8>,
    ) -> Option<Vec<u8>> {
        if self.kms.failed {
            self.stats.ignored += 1;
            return None;
        }
        if self.config.role == Role::Agent && payload_type == PayloadType::EncChallengeResponse {
            return self.check_challenge(payload);
        }
        if !self.opens(payload_type) {
            return Some(payload);
        }
        let opened = self.kms.encryption.as_ref().map(|e| e.open(&payload));
        match opened {
            Some(Ok(plaintext)) => Some(plaintext),
            Some(Err(error)) => {
                self.fail_encryption(payload_type, &error);
                None
            }
            None => Some(payload),
        }
    }

    fn fail_encryption(&mut self, payload_type: PayloadType, error: &CryptoError) {
        self.stats.undecryptable += 1;
        self.kms.failed = true;
        self.events.push_back(Event::EncryptionFailed(format!(
            "could not decrypt an incoming payload (type {payload_type:?}): {error}"
        )));
    }

    /// Agent: PT 9 must open under K_client to the challenge sent (agent: datachannel.go,
    /// func handleEncryptionChallengeResponse). A mismatch is not acked.
    fn check_challenge(&mut self, payload: Vec<u8>) -> Option<Vec<u8>> {
        let (Some(encryption), Some(expected)) = (&self.kms.encryption, &self.kms.challenge) else {
            self.stats.ignored += 1;
            return None;
        };
        let answer = EncChallenge::from_json(&payload)
            .ok()
            .and_then(|answer| encryption.open(&answer.challenge).ok());
        if answer.as_deref() == Some(expected.plaintext.as_slice()) {
            Some(payload)
        } else {
            self.stats.undecryptable += 1;
            None
        }
    }

    /// Agent: the verified challenge answer, delivered in order.
    pub(super) fn on_challenge_response(&mut self) {
        if self.kms.challenge.take().is_some() {
            self.events.push_back(Event::ChallengeVerified);
        }
    }

    /// Client: EncChallengeRequest (PT 8): open with K_agent, seal again with K_client under
    /// a fresh nonce, answer with EncChallengeResponse (PT 9), not encrypted a second time
    /// (plugin: streaming.go, func handleEncryptionChallengeRequest).
    pub(super) fn on_challenge_request(&mut self, now: Instant, payload: &[u8]) {
        let Ok(request) = EncChallenge::from_json(payload) else {
            self.stats.malformed_payloads += 1;
            return;
        };
        let Some(encryption) = self.kms.encryption.as_mut() else {
            // A challenge without a KMS answer from us: nothing to answer it with.
            self.stats.ignored += 1;
            return;
        };
        let answer = match encryption.open(&request.challenge) {
            Ok(plaintext) => encryption.seal(&plaintext),
            Err(error) => {
                self.fail_encryption(PayloadType::EncChallengeRequest, &error);
                return;
            }
        };
        let response = EncChallenge { challenge: answer };
        self.push_stream(now, PayloadType::EncChallengeResponse, &response.to_json());
    }
}
