//! The temporary credentials STS `AssumeRole` handed out: access key id → the session's
//! identity, so later calls signed with them are that role's, in the role's account.
//! Bounded: an emulator that runs for days with a script assuming roles in a loop must not
//! grow without end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::emulator::fleet::User;

/// At most this many live role sessions; expired ones are dropped first, then AssumeRole
/// answers a throttling error (docs/emulator.md).
pub const MAX_ASSUMED_SESSIONS: usize = 10_000;

#[derive(Debug, Default)]
pub struct AssumedSessions {
    by_access_key: Mutex<HashMap<String, User>>,
}

impl AssumedSessions {
    /// The session signed with `access_key_id`, if STS issued it (expired or not: the caller
    /// decides what an expired one gets).
    pub fn get(&self, access_key_id: &str) -> Option<User> {
        self.lock().get(access_key_id).cloned()
    }

    /// Keeps a new session; `false` when the table is full of live ones.
    pub fn insert(&self, user: User, now: SystemTime) -> bool {
        let mut sessions = self.lock();
        if sessions.len() >= MAX_ASSUMED_SESSIONS {
            sessions.retain(|_, session| !session.credentials_expired(now));
        }
        if sessions.len() >= MAX_ASSUMED_SESSIONS {
            return false;
        }
        sessions.insert(user.access_key_id.clone(), user);
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, User>> {
        // Plain data: a panic elsewhere cannot leave it half-written.
        self.by_access_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
