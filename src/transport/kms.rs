//! How the transport gets a KMS data key for an encrypted session (protocol.md §4.6) without
//! knowing about AWS: the owner hands in a [`DataKeySource`], like the ResumeSession
//! [`Resumer`](super::Resumer), and the driver calls it when the agent asks for KMS.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::proto::NonceSource;

/// GenerateDataKey's answer: the blob for the agent and the 64-byte key for this end.
#[derive(Clone)]
pub struct DataKey {
    pub ciphertext_blob: Vec<u8>,
    pub plaintext: Vec<u8>,
}

/// Key material never reaches a log.
impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("ciphertext_blob_len", &self.ciphertext_blob.len())
            .finish_non_exhaustive()
    }
}

/// What kind of refusal KMS gave, for the exit status (`commands::exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// The caller may not use the key (or the key is disabled or unusable).
    AccessDenied,
    /// The key does not exist.
    NotFound,
    /// Anything else: throttling, credentials, the network.
    Other,
}

/// KMS would not give a data key: one line for the user (no secrets), and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRefused {
    pub line: String,
    pub refusal: KeyRefusal,
}

pub type DataKeyFuture = Pin<Box<dyn Future<Output = Result<DataKey, KeyRefused>> + Send>>;
/// Called with the KMSKeyId the agent asked for (§4.6 step 1); the session id and target of
/// the encryption context are the owner's to fill in.
pub type DataKeySource = Arc<dyn Fn(String) -> DataKeyFuture + Send + Sync>;

/// The client's nonces: 12 random bytes per message, as the plugin draws them (plugin:
/// src/encryption/encrypter.go, func Encrypt), from the thread-local CSPRNG.
pub(crate) struct RandomNonces;

impl NonceSource for RandomNonces {
    fn next_nonce(&mut self) -> [u8; 12] {
        rand::random()
    }
}
