//! Session tokens: the secret that lets a websocket join a session (protocol.md §1.4).
//! Held only in this type, whose `Debug` hides the value; `expose()` is for the one place
//! that must write it, the StartSession/ResumeSession response body.

use std::fmt;

use rand::Rng;

/// A session token (the `TokenValue` of StartSession/ResumeSession). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub(super) fn random() -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        Self(hex::encode(bytes))
    }

    /// The value for the API response body: the only place it may be written.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub(super) fn matches(&self, candidate: &str) -> bool {
        let ours = self.0.as_bytes();
        let theirs = candidate.as_bytes();
        if ours.len() != theirs.len() {
            return false;
        }
        ours.iter()
            .zip(theirs)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}
