//! The agent's side of KMS-encrypted sessions (protocol.md §0 items 1–4, §4.6): the
//! KMSEncryption action after SessionType, KMS Decrypt of the client's data key under the
//! session's encryption context, the challenge round trip, then HandshakeComplete with
//! "This session is encrypted using AWS KMS.". Any failure ends the session with a reason;
//! there is no plaintext fallback.

use std::collections::BTreeMap;
use std::time::Instant;

use super::ending::Ending;
use super::task::{HANDSHAKE_WAIT, KmsStage, SessionTask};
use super::timers::Timer;
use crate::emulator::kms::decrypt_blob;
use crate::proto::{CounterNonces, HandshakeResponse, RequestedClientAction};

/// HandshakeComplete's CustomerMessage with KMS (§4.5; agent: datachannel.go, func
/// buildHandshakeCompletePayload).
pub const KMS_CUSTOMER_MESSAGE: &str = "This session is encrypted using AWS KMS.";
/// The agent's random challenge for EncChallengeRequest (agent: datachannel.go, func
/// sendEncryptionChallenge).
const CHALLENGE_BYTES: usize = 64;

impl SessionTask {
    /// The KMSEncryption action for the HandshakeRequest when the preferences name a key
    /// (§4.6; agent: datachannel.go, func buildHandshakeRequestPayload): the key id as
    /// configured and base64 of 16 random bytes (agent: crypto/blockcipher.go, func
    /// NewBlockCipherKMS).
    pub(super) fn kms_action(&mut self) -> Option<RequestedClientAction> {
        let key_id = self.setup.kms_key_id.as_deref()?;
        let challenge: [u8; 16] = rand::random();
        self.channel.kms = KmsStage::AwaitingResponse;
        Some(RequestedClientAction::kms_encryption(key_id, &challenge))
    }

    /// After a HandshakeResponse with every status at 1: Decrypt the client's data key with
    /// the configured key and the context {SessionId, TargetId = this instance}, turn
    /// encryption on and send the challenge (agent: datachannel.go, funcs
    /// finalizeKMSEncryption, sendEncryptionChallenge; crypto/blockcipher.go, func
    /// UpdateEncryptionKey). `Ok(false)`: no KMS in this session.
    pub(super) fn start_kms_challenge(
        &mut self,
        response: &HandshakeResponse,
        now: Instant,
    ) -> Result<bool, Ending> {
        if self.channel.kms != KmsStage::AwaitingResponse {
            return Ok(false);
        }
        let fail = |reason: String| Ending::Failed(format!("Handshake failed: {reason}"));
        let blob = response.kms_ciphertext_key().ok_or_else(|| {
            fail("the client's KMSEncryption answer carries no KMSCipherTextKey".into())
        })?;
        let key_id = self.setup.kms_key_id.clone().unwrap_or_default();
        let context = BTreeMap::from([
            ("aws:ssm:SessionId".to_string(), self.record.id.clone()),
            ("aws:ssm:TargetId".to_string(), self.record.target.clone()),
        ]);
        let (_, data_key) =
            decrypt_blob(&self.state.kms, &blob, &context, Some(&key_id)).map_err(|err| {
                let detail = if err.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", err.message)
                };
                fail(format!(
                    "KMS Decrypt of the session's data key with {key_id} failed ({}{detail})",
                    err.code
                ))
            })?;
        let challenge: Vec<u8> = (0..CHALLENGE_BYTES).map(|_| rand::random::<u8>()).collect();
        let nonces = Box::new(CounterNonces::new(rand::random()));
        self.channel
            .session
            .start_challenge(now, &data_key, nonces, challenge)
            .map_err(|err| fail(err.to_string()))?;
        self.channel.kms = KmsStage::ChallengeSent {
            update_notice: self.setup.customer_message(&response.client_version),
        };
        // The challenge gets its own 15 s (§4.2; agent: datachannel.go, func PerformHandshake).
        self.timers.set(Timer::Handshake, now + HANDSHAKE_WAIT);
        Ok(true)
    }

    /// HandshakeComplete's CustomerMessage with KMS: the update notice, if any, then the KMS
    /// sentence (§4.5; agent: datachannel.go, func buildHandshakeCompletePayload).
    pub(super) fn kms_customer_message(&self) -> String {
        match &self.channel.kms {
            KmsStage::ChallengeSent { update_notice } => {
                format!("{update_notice}{KMS_CUSTOMER_MESSAGE}")
            }
            _ => KMS_CUSTOMER_MESSAGE.to_string(),
        }
    }

    /// The reason a handshake wait ran out, by how far the handshake got.
    pub(super) fn handshake_timeout_reason(&self) -> String {
        match self.channel.kms {
            KmsStage::ChallengeSent { .. } => {
                "Handshake failed: the client did not answer the encryption challenge correctly."
                    .to_string()
            }
            _ => "Handshake failed: no HandshakeResponse from the client.".to_string(),
        }
    }
}
