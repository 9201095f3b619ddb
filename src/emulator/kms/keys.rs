//! The emulator's key store: symmetric keys with aliases and a per-key list of users, and the
//! emulator's own ciphertext blob format.
//!
//! A blob is `"gwk1" || len(key id) (1 byte) || key id || nonce(12) || AES-256-GCM(data key)
//! || tag(16)`, sealed under the key's secret with the encryption context as associated data.
//! So a Decrypt under any other context fails with InvalidCiphertextException, as KMS does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::error::KmsError;
use crate::emulator::fleet::{ACCOUNT_ID, KmsKey};

/// The region in every key ARN the emulator prints (it serves one region).
pub const REGION: &str = "us-east-1";
const BLOB_MAGIC: &[u8; 4] = b"gwk1";

#[derive(Clone)]
pub struct StoredKey {
    pub id: String,
    pub aliases: Vec<String>,
    pub users: Vec<String>,
    pub enabled: bool,
    pub description: String,
    pub created_epoch_seconds: f64,
    secret: [u8; 32],
}

/// The secret never reaches a log.
impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("id", &self.id)
            .field("aliases", &self.aliases)
            .field("users", &self.users)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    pub fn arn(&self) -> String {
        key_arn(&self.id)
    }
}

pub fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{id}")
}

pub fn alias_arn(alias: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}")
}

/// The keys of one emulator run; secrets are drawn at start and never leave it.
pub struct KeyStore {
    keys: Mutex<Vec<StoredKey>>,
}

impl KeyStore {
    pub fn new(fleet_keys: &[KmsKey], now_epoch_seconds: f64) -> Self {
        let keys = fleet_keys
            .iter()
            .map(|key| StoredKey {
                id: key.id.clone(),
                aliases: key.aliases.clone(),
                users: key.users.clone(),
                enabled: key.enabled,
                description: key.description.clone(),
                created_epoch_seconds: now_epoch_seconds,
                secret: rand::random(),
            })
            .collect();
        Self {
            keys: Mutex::new(keys),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<StoredKey>> {
        // A panic while holding the lock leaves the list intact: keep using it.
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resolves a KeyId as KMS accepts it: key id, key ARN, `alias/NAME` or alias ARN.
    pub fn find(&self, key_id: &str) -> Result<StoredKey, KmsError> {
        let keys = self.lock();
        find_in(&keys, key_id).cloned()
    }

    pub fn create(&self, description: String, user: &str, now_epoch_seconds: f64) -> StoredKey {
        let key = StoredKey {
            id: uuid::Uuid::new_v4().to_string(),
            aliases: Vec::new(),
            users: vec![user.to_owned()],
            enabled: true,
            description,
            created_epoch_seconds: now_epoch_seconds,
            secret: rand::random(),
        };
        self.lock().push(key.clone());
        key
    }

    /// Points a new alias at a key; the caller checked the key's permissions.
    pub fn add_alias(&self, alias: &str, target: &str) -> Result<(), KmsError> {
        let mut keys = self.lock();
        if keys
            .iter()
            .any(|key| key.aliases.iter().any(|a| a == alias))
        {
            return Err(KmsError::already_exists(format!(
                "An alias with the name {} already exists",
                alias_arn(alias)
            )));
        }
        let id = find_in(&keys, target)?.id.clone();
        if let Some(key) = keys.iter_mut().find(|key| key.id == id) {
            key.aliases.push(alias.to_owned());
        }
        Ok(())
    }

    /// Every alias with its key, sorted by name.
    pub fn aliases(&self) -> Vec<(String, String)> {
        let mut aliases: Vec<(String, String)> = self
            .lock()
            .iter()
            .flat_map(|key| key.aliases.iter().map(|a| (a.clone(), key.id.clone())))
            .collect();
        aliases.sort();
        aliases
    }

    /// A fresh data key of `bytes` random bytes, and its blob bound to `context`.
    pub fn generate(
        &self,
        key: &StoredKey,
        bytes: usize,
        context: &BTreeMap<String, String>,
    ) -> (Vec<u8>, Vec<u8>) {
        let plaintext: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
        let blob = seal(key, &plaintext, context);
        (blob, plaintext)
    }

    /// The key a blob was made with, and its plaintext under `context`.
    pub fn decrypt(
        &self,
        blob: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<(StoredKey, Vec<u8>), KmsError> {
        let (key_id, sealed) = split_blob(blob).ok_or_else(KmsError::invalid_ciphertext)?;
        let key = self
            .find(key_id)
            .map_err(|_| KmsError::invalid_ciphertext())?;
        let (nonce, ciphertext) = sealed.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| KmsError::invalid_ciphertext())?;
        let aad = context_aad(context);
        let plaintext = Aes256Gcm::new(&key.secret.into())
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| KmsError::invalid_ciphertext())?;
        Ok((key, plaintext))
    }
}

fn find_in<'k>(keys: &'k [StoredKey], key_id: &str) -> Result<&'k StoredKey, KmsError> {
    let arn_prefix = format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:");
    let local = key_id.strip_prefix(&arn_prefix).unwrap_or(key_id);
    if local.starts_with("alias/") {
        return keys
            .iter()
            .find(|key| key.aliases.iter().any(|a| a == local))
            .ok_or_else(|| {
                KmsError::not_found(format!("Alias {} is not found.", alias_arn(local)))
            });
    }
    let id = local.strip_prefix("key/").unwrap_or(local);
    let well_formed = !id.is_empty()
        && !id.starts_with("arn:")
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        let shown: String = key_id
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        return Err(KmsError::not_found(format!("Invalid keyId '{shown}'")));
    }
    keys.iter()
        .find(|key| key.id == id)
        .ok_or_else(|| KmsError::not_found(format!("Key '{}' does not exist", key_arn(id))))
}

/// The context as associated data: a canonical, sorted encoding, so equal maps bind equally.
fn context_aad(context: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(context).unwrap_or_default()
}

fn seal(key: &StoredKey, plaintext: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let nonce_bytes: [u8; 12] = rand::random();
    let nonce = Nonce::from(nonce_bytes);
    let aad = context_aad(context);
    let ciphertext = Aes256Gcm::new(&key.secret.into())
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    let id = key.id.as_bytes();
    let mut blob = Vec::with_capacity(4 + 1 + id.len() + 12 + ciphertext.len());
    blob.extend_from_slice(BLOB_MAGIC);
    // Ids are validated to at most 64 bytes (fleet file) or are UUIDs (CreateKey).
    blob.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    blob.extend_from_slice(id);
    blob.extend_from_slice(&nonce_bytes);
    blob.extend_from_slice(&ciphertext);
    blob
}

/// `(key id, nonce || ciphertext || tag)` of a well-formed blob.
fn split_blob(blob: &[u8]) -> Option<(&str, &[u8])> {
    let rest = blob.strip_prefix(BLOB_MAGIC)?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if rest.len() < len + 12 + 16 {
        return None;
    }
    let (id, sealed) = rest.split_at(len);
    Some((std::str::from_utf8(id).ok()?, sealed))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn store() -> KeyStore {
        KeyStore::new(
            &[KmsKey {
                id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
                aliases: vec!["alias/sessions".into()],
                users: vec!["dev".into()],
                enabled: true,
                description: String::new(),
            }],
            0.0,
        )
    }

    fn context(session: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("aws:ssm:SessionId".to_string(), session.to_string()),
            (
                "aws:ssm:TargetId".to_string(),
                "i-0123456789abcdef0".to_string(),
            ),
        ])
    }

    #[test]
    fn keys_resolve_by_id_arn_alias_and_alias_arn() {
        let store = store();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        for name in [
            id.to_string(),
            key_arn(id),
            "alias/sessions".to_string(),
            alias_arn("alias/sessions"),
        ] {
            assert_eq!(store.find(&name).unwrap().id, id, "{name}");
        }
        let missing = store.find("alias/nope").unwrap_err();
        assert_eq!(missing.code, "NotFoundException");
        assert_eq!(
            missing.message,
            "Alias arn:aws:kms:us-east-1:123456789012:alias/nope is not found."
        );
        assert_eq!(
            store.find("not a key").unwrap_err().code,
            "NotFoundException"
        );
    }

    #[test]
    fn a_blob_decrypts_only_under_its_own_context() {
        let store = store();
        let key = store.find("alias/sessions").unwrap();
        let (blob, plaintext) = store.generate(&key, 64, &context("s-1"));
        assert_eq!(plaintext.len(), 64);
        let (found, opened) = store.decrypt(&blob, &context("s-1")).unwrap();
        assert_eq!((found.id, opened), (key.id, plaintext));
        let wrong = store.decrypt(&blob, &context("s-2")).unwrap_err();
        assert_eq!(wrong.code, "InvalidCiphertextException");
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(store.decrypt(&tampered, &context("s-1")).is_err());
        assert!(store.decrypt(b"gwk1", &context("s-1")).is_err());
        assert!(store.decrypt(b"", &context("s-1")).is_err());
    }
}
