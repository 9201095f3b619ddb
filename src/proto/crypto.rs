//! KMS session encryption (protocol.md §4.6): the two session keys cut from the 64-byte KMS
//! data key, and the seal/open of stream payloads in the exact wire layout
//! `nonce(12) || ciphertext || tag(16)`, AES-256-GCM without associated data.
//!
//! Sans-IO like the rest of `proto`: nonces come from an injected [`NonceSource`]. The client
//! draws random nonces (plugin: src/encryption/encrypter.go, func Encrypt), the agent a 96-bit
//! counter ([`CounterNonces`], agent: crypto/nonce.go, funcs InitializeNonce, GenerateNonce).

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use super::session::Role;

/// GenerateDataKey's NumberOfBytes (§4.6 step 1).
pub const DATA_KEY_BYTES: usize = 64;
pub const NONCE_BYTES: usize = 12;
pub const TAG_BYTES: usize = 16;
/// An encrypted payload is this much longer than its plaintext (§4.6 step 5).
pub const SEAL_OVERHEAD: usize = NONCE_BYTES + TAG_BYTES;

/// Why a payload could not be opened, or the data key could not be used. Never carries
/// key material or payload bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the KMS data key has {0} bytes, expected 64")]
    DataKeyLength(usize),
    #[error("an encrypted payload of {0} bytes is shorter than nonce and tag (28 bytes)")]
    TooShort(usize),
    #[error("an encrypted payload failed authentication (wrong key or altered bytes)")]
    Authentication,
}

/// Supplies the 12-byte nonce of every payload this side seals.
pub trait NonceSource: Send {
    fn next_nonce(&mut self) -> [u8; NONCE_BYTES];
}

/// The agent's nonce: three u32 words, seeded at random by the caller, written little-endian
/// as the nonce and then incremented, carrying from the first word into the next (agent:
/// crypto/nonce.go, func GenerateNonce).
#[derive(Debug, Clone)]
pub struct CounterNonces {
    words: [u32; 3],
}

impl CounterNonces {
    pub fn new(seed: [u32; 3]) -> Self {
        Self { words: seed }
    }
}

impl NonceSource for CounterNonces {
    fn next_nonce(&mut self) -> [u8; NONCE_BYTES] {
        let mut nonce = [0u8; NONCE_BYTES];
        for (chunk, word) in nonce.chunks_exact_mut(4).zip(self.words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        for word in &mut self.words {
            let (next, carried) = word.overflowing_add(1);
            *word = next;
            if !carried {
                break;
            }
        }
        nonce
    }
}

/// One direction's key: K_agent = data key [0..32], K_client = data key [32..64] (§4.6 step
/// 4; agent: crypto/blockcipher.go, func UpdateEncryptionKey; plugin: encrypter.go, func
/// generateEncryptionKey).
#[derive(Clone)]
struct DirectionKey(Aes256Gcm);

impl DirectionKey {
    fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        Aes256Gcm::new_from_slice(bytes)
            .map(Self)
            .map_err(|_| CryptoError::DataKeyLength(bytes.len() * 2))
    }

    /// `nonce || AES-GCM(plaintext) || tag`, no AAD (agent: blockcipher.go, func
    /// EncryptWithAESGCM; plugin: encrypter.go, func Encrypt).
    fn seal(&self, nonce: [u8; NONCE_BYTES], plaintext: &[u8]) -> Vec<u8> {
        let mut sealed = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let nonce = Nonce::from(nonce);
        match self
            .0
            .encrypt_inout_detached(&nonce, b"", (&mut sealed[NONCE_BYTES..]).into())
        {
            Ok(tag) => sealed.extend_from_slice(&tag),
            // Only a plaintext over 64 GiB fails; stream payloads are at most a few KiB.
            Err(_) => sealed.clear(),
        }
        sealed
    }

    /// The receiver reads the nonce without checking it (§4.6 step 5; agent: blockcipher.go,
    /// func DecryptWithAESGCM; plugin: encrypter.go, func Decrypt).
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(CryptoError::TooShort(sealed.len()));
        }
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::TooShort(sealed.len()))?;
        let tag = Tag::try_from(tag).map_err(|_| CryptoError::TooShort(sealed.len()))?;
        let mut plaintext = ciphertext.to_vec();
        self.0
            .decrypt_inout_detached(&nonce, b"", plaintext.as_mut_slice().into(), &tag)
            .map_err(|_| CryptoError::Authentication)?;
        Ok(plaintext)
    }
}

/// Both session keys, from the 64-byte plaintext of GenerateDataKey (client) or Decrypt
/// (agent).
#[derive(Clone)]
pub struct SessionKeys {
    agent: DirectionKey,
    client: DirectionKey,
}

impl SessionKeys {
    pub fn from_data_key(data_key: &[u8]) -> Result<Self, CryptoError> {
        if data_key.len() != DATA_KEY_BYTES {
            return Err(CryptoError::DataKeyLength(data_key.len()));
        }
        let (agent, client) = data_key.split_at(DATA_KEY_BYTES / 2);
        Ok(Self {
            agent: DirectionKey::new(agent)?,
            client: DirectionKey::new(client)?,
        })
    }
}

/// Key material never reaches a log.
impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

/// One end's encryption: it seals with its own key and opens with the peer's.
pub struct Encryption {
    seal_key: DirectionKey,
    open_key: DirectionKey,
    nonces: Box<dyn NonceSource>,
}

impl Encryption {
    pub fn new(role: Role, keys: SessionKeys, nonces: Box<dyn NonceSource>) -> Self {
        let (seal_key, open_key) = match role {
            Role::Client => (keys.client, keys.agent),
            Role::Agent => (keys.agent, keys.client),
        };
        Self {
            seal_key,
            open_key,
            nonces,
        }
    }

    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = self.nonces.next_nonce();
        self.seal_key.seal(nonce, plaintext)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.open_key.open(sealed)
    }
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encryption(<redacted>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A data key whose bytes are their own index: K_agent = 00..1f, K_client = 20..3f.
    fn data_key() -> Vec<u8> {
        (0u8..64).collect()
    }

    struct FixedNonces([u8; NONCE_BYTES]);

    impl NonceSource for FixedNonces {
        fn next_nonce(&mut self) -> [u8; NONCE_BYTES] {
            self.0
        }
    }

    fn pair() -> (Encryption, Encryption) {
        let keys = SessionKeys::from_data_key(&data_key()).unwrap();
        let client = Encryption::new(
            Role::Client,
            keys.clone(),
            Box::new(FixedNonces([7; NONCE_BYTES])),
        );
        let agent = Encryption::new(Role::Agent, keys, Box::new(CounterNonces::new([1, 0, 0])));
        (client, agent)
    }

    /// Known answer, computed once with an independent AES-256-GCM (Python `cryptography`,
    /// AESGCM(bytes(range(32))).encrypt(bytes([1,0,0,0]+[0]*8), b"hello", None)): the
    /// agent's first nonce with seed [1, 0, 0] and K_agent = bytes 0..32 of the data key.
    #[test]
    fn the_agent_seal_matches_the_known_answer() {
        let (client, mut agent) = pair();
        let sealed = agent.seal(b"hello");
        assert_eq!(
            hex::encode(&sealed),
            "0100000000000000000000008a49ee53cb0a67276e9fe87a011fe4a9fef558697d"
        );
        assert_eq!(client.open(&sealed).unwrap(), b"hello");
    }

    #[test]
    fn seal_then_open_in_both_directions() {
        let (mut client, mut agent) = pair();
        let sealed = client.seal(b"ls -l\r");
        // Known answer as above: K_client = bytes 32..64, nonce 07 × 12.
        assert_eq!(
            hex::encode(&sealed),
            "0707070707070707070707075ae02dd16933ff0d5015f702c71e342a06b0e6fae8a0"
        );
        assert_eq!(agent.open(&sealed).unwrap(), b"ls -l\r");
        let back = agent.seal(b"");
        assert_eq!(back.len(), SEAL_OVERHEAD);
        assert_eq!(client.open(&back).unwrap(), b"");
    }

    #[test]
    fn a_flipped_byte_anywhere_fails_authentication() {
        let (mut client, agent) = pair();
        let sealed = client.seal(b"secret input");
        for index in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert_eq!(
                agent.open(&tampered),
                Err(CryptoError::Authentication),
                "byte {index}"
            );
        }
    }

    #[test]
    fn the_wrong_key_fails_authentication() {
        let (mut client, _) = pair();
        let sealed = client.seal(b"for the agent");
        // The client's own opening key is K_agent: a payload sealed with K_client fails there.
        assert_eq!(client.open(&sealed), Err(CryptoError::Authentication));
        let mut other = data_key();
        other[40] ^= 0xff;
        let stranger = Encryption::new(
            Role::Agent,
            SessionKeys::from_data_key(&other).unwrap(),
            Box::new(CounterNonces::new([0; 3])),
        );
        assert_eq!(stranger.open(&sealed), Err(CryptoError::Authentication));
    }

    #[test]
    fn short_payloads_are_an_error_not_a_panic() {
        let (client, _) = pair();
        for len in 0..SEAL_OVERHEAD {
            assert_eq!(client.open(&vec![0; len]), Err(CryptoError::TooShort(len)));
        }
        assert_eq!(
            client.open(&[0; SEAL_OVERHEAD]),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn data_keys_must_have_64_bytes() {
        assert_eq!(
            SessionKeys::from_data_key(&[0; 32]).unwrap_err(),
            CryptoError::DataKeyLength(32)
        );
        assert!(SessionKeys::from_data_key(&[0; 65]).is_err());
    }

    #[test]
    fn the_counter_writes_little_endian_and_carries_between_words() {
        let mut nonces = CounterNonces::new([u32::MAX - 1, u32::MAX, 5]);
        assert_eq!(
            nonces.next_nonce(),
            [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0]
        );
        assert_eq!(
            nonces.next_nonce(),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0]
        );
        // Both low words wrap: the carry reaches the third word.
        assert_eq!(nonces.next_nonce(), [0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!(nonces.next_nonce(), [1, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0]);
        let mut all_ones = CounterNonces::new([u32::MAX; 3]);
        all_ones.next_nonce();
        assert_eq!(all_ones.next_nonce(), [0; NONCE_BYTES]);
    }

    #[test]
    fn keys_are_never_printed() {
        let (client, _) = pair();
        assert!(!format!("{client:?}").contains("00"));
    }
}
