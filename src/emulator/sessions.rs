//! The session registry: every Session Manager session the emulator has started, Active and
//! History, shared by the SSM API handlers and the websocket agent (issue 4).
//!
//! Life of a session:
//!
//! ```text
//!  create ──► Connecting ──mark_attached──► Connected ◄──mark_detached──► Disconnected
//!                 │   └── not attached within connect_timeout: Failed         │
//!                 │                            │                              │
//!                 └──────── request_terminate / timers / shell exit ──────────┘
//!                                              │
//!                          (agent attached: Terminating, agent ends it)
//!                                              ▼
//!                                  finish(status, reason) ──► History
//! ```
//!
//! A session that is never connected ends by itself (`Limits::connect_timeout`), and one
//! owner may hold at most `Limits::max_active_per_owner` sessions that have not ended, so
//! StartSession alone cannot make the registry grow without bound.
//!
//! Tokens are secrets (protocol.md §1.1): they live only in `SessionToken`, whose `Debug`
//! hides the value, and never in the `SessionRecord` snapshots handed out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use tokio::sync::watch;

pub use super::session_token::SessionToken;

/// The session states `DescribeSessions` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    Connecting,
    Connected,
    Disconnected,
    Terminating,
    Terminated,
    Failed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting",
            Self::Connected => "Connected",
            Self::Disconnected => "Disconnected",
            Self::Terminating => "Terminating",
            Self::Terminated => "Terminated",
            Self::Failed => "Failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Connecting,
            Self::Connected,
            Self::Disconnected,
            Self::Terminating,
            Self::Terminated,
            Self::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// What StartSession asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The user name of the caller: it prefixes the session id, as AWS does.
    pub owner: String,
    /// The owner as an IAM ARN, shown by DescribeSessions.
    pub owner_arn: String,
    /// Where StartSession was called (the caller's account, the request's region): the
    /// session's document is looked up there.
    pub account: String,
    pub region: String,
    pub target: String,
    pub document_name: String,
    pub parameters: BTreeMap<String, Vec<String>>,
    pub reason: Option<String>,
}

/// A snapshot of one session (no token).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub owner: String,
    pub owner_arn: String,
    /// As in [`NewSession`].
    pub account: String,
    pub region: String,
    pub target: String,
    pub document_name: String,
    pub parameters: BTreeMap<String, Vec<String>>,
    pub reason: Option<String>,
    pub started_at: SystemTime,
    pub ended_at: Option<SystemTime>,
    pub status: SessionStatus,
    /// Why the session ended (shell exit, idle timeout, terminated by someone…).
    pub end_reason: Option<String>,
    /// Whether an agent task currently owns the session (it then ends it itself).
    pub agent_attached: bool,
}

impl SessionRecord {
    pub fn is_active(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// A request to end a session, delivered to the agent task through `subscribe_terminate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateRequest {
    /// The user who called TerminateSession (or `emulator` on shutdown).
    pub by_user: String,
    /// Text for the channel_closed Output.
    pub reason: String,
}

impl TerminateRequest {
    /// TerminateSession called by `user`.
    pub fn by(user: &str) -> Self {
        Self {
            by_user: user.to_owned(),
            reason: format!("Session terminated by {user}."),
        }
    }
}

/// Why a websocket's OpenDataChannel token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no such session")]
    UnknownSession,
    #[error("the session has ended")]
    Ended,
    #[error("the token is not the session's current token")]
    BadToken,
}

/// Registry errors seen by the API layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("Session {0} does not exist")]
    UnknownSession(String),
    #[error("{owner} already has {limit} sessions that have not ended")]
    TooManySessions { owner: String, limit: usize },
}

/// How long a session may stay `Connecting` before it ends by itself. AWS ends such
/// sessions too but documents no figure; 60 s is the emulator's choice: the same grace a
/// detached session gets to resume (`agent::DEFAULT_DETACHED_GRACE`), and far more than any
/// client needs between StartSession and dialing its StreamUrl.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Sessions one owner may hold that have not ended (Connecting, Connected, Disconnected,
/// Terminating). SSM documents no such quota; 1,000 bounds what one identity can make the
/// emulator hold (each Connected one is a process) and stays above what tests open at once.
pub const DEFAULT_MAX_ACTIVE_PER_OWNER: usize = 1000;

/// The registry's bounds (`EmulatorConfig::connect_timeout`, `max_sessions_per_owner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect_timeout: Duration,
    pub max_active_per_owner: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_active_per_owner: DEFAULT_MAX_ACTIVE_PER_OWNER,
        }
    }
}

struct Entry {
    serial: u64,
    record: SessionRecord,
    token: Option<SessionToken>,
    terminate: watch::Sender<Option<TerminateRequest>>,
    /// A data channel passed the token check: the agent task is starting, so the connect
    /// timeout no longer applies even before `mark_attached`.
    opened: bool,
}

#[derive(Default)]
struct Inner {
    next_serial: u64,
    entries: HashMap<String, Entry>,
    /// Sessions created, with the instant they must be attached by, oldest first (one
    /// timeout for all, so creation order is deadline order).
    connect_deadlines: VecDeque<(Instant, String)>,
    /// Sessions not yet ended, per owner.
    active_per_owner: HashMap<String, usize>,
}

/// All sessions, Active and History. Cheap to share behind the `EmulatorState` Arc.
#[derive(Default)]
pub struct SessionRegistry {
    inner: Mutex<Inner>,
    limits: Limits,
}

impl SessionRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        Self {
            inner: Mutex::default(),
            limits,
        }
    }

    /// The registry, with every session whose connect deadline has passed ended first. The
    /// expiry happens here rather than on a timer, so every reader (DescribeSessions, the
    /// token check, StartSession's count) sees it on time and nothing is left running.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.expire_unconnected(Instant::now(), self.limits.connect_timeout);
        inner
    }

    /// Starts a session in `Connecting` with a fresh id (`<owner>-<17 hex>`) and token, or
    /// refuses when the owner already holds `max_active_per_owner` sessions.
    pub fn create(&self, new: NewSession) -> Result<(SessionRecord, SessionToken), RegistryError> {
        let mut inner = self.lock();
        let held = inner.active_per_owner.get(&new.owner).copied().unwrap_or(0);
        if held >= self.limits.max_active_per_owner {
            return Err(RegistryError::TooManySessions {
                owner: new.owner,
                limit: self.limits.max_active_per_owner,
            });
        }
        let id = inner.fresh_id(&new.owner);
        let record = SessionRecord {
            id: id.clone(),
            owner: new.owner,
            owner_arn: new.owner_arn,
            account: new.account,
            region: new.region,
            target: new.target,
            document_name: new.document_name,
            parameters: new.parameters,
            reason: new.reason,
            started_at: SystemTime::now(),
            ended_at: None,
            status: SessionStatus::Connecting,
            end_reason: None,
            agent_attached: false,
        };
        let token = SessionToken::random();
        let serial = inner.next_serial;
        inner.next_serial += 1;
        let (terminate, _) = watch::channel(None);
        *inner
            .active_per_owner
            .entry(record.owner.clone())
            .or_default() += 1;
        inner
            .connect_deadlines
            .push_back((Instant::now() + self.limits.connect_timeout, id.clone()));
        inner.entries.insert(
            id,
            Entry {
                serial,
                record: record.clone(),
                token: Some(token.clone()),
                terminate,
                opened: false,
            },
        );
        Ok((record, token))
    }

    /// Puts a session that ended in the past straight into History, as the agent would
    /// have left it: `gangway demo` starts with a little history this way, so the history
    /// view can be tried before any shell was opened. Nothing runs and no token exists.
    pub fn record_past(
        &self,
        new: NewSession,
        started_at: SystemTime,
        ended_at: SystemTime,
        status: SessionStatus,
        end_reason: String,
    ) -> SessionRecord {
        let mut inner = self.lock();
        let id = inner.fresh_id(&new.owner);
        let record = SessionRecord {
            id: id.clone(),
            owner: new.owner,
            owner_arn: new.owner_arn,
            account: new.account,
            region: new.region,
            target: new.target,
            document_name: new.document_name,
            parameters: new.parameters,
            reason: new.reason,
            started_at,
            ended_at: Some(ended_at.max(started_at)),
            status,
            end_reason: Some(end_reason),
            agent_attached: false,
        };
        let serial = inner.next_serial;
        inner.next_serial += 1;
        let (terminate, _) = watch::channel(None);
        inner.entries.insert(
            id,
            Entry {
                serial,
                record: record.clone(),
                token: None,
                terminate,
                opened: false,
            },
        );
        record
    }

    pub fn get(&self, session_id: &str) -> Option<SessionRecord> {
        self.lock()
            .entries
            .get(session_id)
            .map(|entry| entry.record.clone())
    }

    /// ResumeSession: a new token replaces the old one, or `None` once the session has ended
    /// (the API then answers with an empty TokenValue, which clients read as "timed out").
    pub fn resume(&self, session_id: &str) -> Result<Option<SessionToken>, RegistryError> {
        let mut inner = self.lock();
        let entry = inner
            .entries
            .get_mut(session_id)
            .ok_or_else(|| RegistryError::UnknownSession(session_id.to_owned()))?;
        if !entry.record.is_active() {
            return Ok(None);
        }
        let token = SessionToken::random();
        entry.token = Some(token.clone());
        Ok(Some(token))
    }

    /// Checks the OpenDataChannel token (protocol.md §1.4) against the current one.
    pub fn authenticate(&self, session_id: &str, token: &str) -> Result<SessionRecord, AuthError> {
        let mut inner = self.lock();
        let entry = inner
            .entries
            .get_mut(session_id)
            .ok_or(AuthError::UnknownSession)?;
        if !entry.record.is_active() {
            return Err(AuthError::Ended);
        }
        match &entry.token {
            Some(current) if current.matches(token) => {
                entry.opened = true;
                Ok(entry.record.clone())
            }
            _ => Err(AuthError::BadToken),
        }
    }

    /// The agent task's way to hear TerminateSession (and emulator shutdown). The value
    /// turns from `None` to `Some(request)` once.
    pub fn subscribe_terminate(
        &self,
        session_id: &str,
    ) -> Option<watch::Receiver<Option<TerminateRequest>>> {
        self.lock()
            .entries
            .get(session_id)
            .map(|entry| entry.terminate.subscribe())
    }

    /// An agent task now owns the session and a client socket is bound: `Connected`.
    pub fn mark_attached(&self, session_id: &str) {
        self.update_active(session_id, |record| {
            record.agent_attached = true;
            if record.status != SessionStatus::Terminating {
                record.status = SessionStatus::Connected;
            }
        });
    }

    /// The client's socket dropped but the agent task keeps the session: `Disconnected`.
    pub fn mark_detached(&self, session_id: &str) {
        self.update_active(session_id, |record| {
            if record.status != SessionStatus::Terminating {
                record.status = SessionStatus::Disconnected;
            }
        });
    }

    fn update_active(&self, session_id: &str, change: impl FnOnce(&mut SessionRecord)) {
        let mut inner = self.lock();
        if let Some(entry) = inner.entries.get_mut(session_id)
            && entry.record.is_active()
        {
            change(&mut entry.record);
        }
    }

    /// Asks for the session to end. With an agent attached the agent is signalled and ends
    /// it (channel_closed, then `finish`); otherwise the session ends at once. Ending an
    /// ended session is a no-op, as TerminateSession is idempotent in AWS.
    /// Authorization (own session unless admin) is the caller's job.
    pub fn request_terminate(&self, session_id: &str, by_user: &str) -> Result<(), RegistryError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let entry = inner
            .entries
            .get_mut(session_id)
            .ok_or_else(|| RegistryError::UnknownSession(session_id.to_owned()))?;
        if !entry.record.is_active() {
            return Ok(());
        }
        let request = TerminateRequest::by(by_user);
        let reason = request.reason.clone();
        if entry.record.agent_attached {
            entry.record.status = SessionStatus::Terminating;
            entry.terminate.send_replace(Some(request));
        } else {
            entry.terminate.send_replace(Some(request));
            end(
                &mut inner.active_per_owner,
                entry,
                SessionStatus::Terminated,
                reason,
                SystemTime::now(),
            );
        }
        Ok(())
    }

    /// Moves a session to History with its end time, status and reason. Only the first call
    /// counts: the reason a session ended does not change afterwards.
    pub fn finish(&self, session_id: &str, status: SessionStatus, reason: impl Into<String>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if let Some(entry) = inner.entries.get_mut(session_id)
            && entry.record.is_active()
        {
            end(
                &mut inner.active_per_owner,
                entry,
                status,
                reason.into(),
                SystemTime::now(),
            );
        }
    }

    /// Sessions not yet ended, oldest first.
    pub fn active(&self) -> Vec<SessionRecord> {
        self.collect(|record| record.is_active())
    }

    /// Ended sessions, oldest first.
    pub fn history(&self) -> Vec<SessionRecord> {
        self.collect(|record| !record.is_active())
    }

    fn collect(&self, keep: impl Fn(&SessionRecord) -> bool) -> Vec<SessionRecord> {
        let inner = self.lock();
        let mut entries: Vec<&Entry> = inner
            .entries
            .values()
            .filter(|entry| keep(&entry.record))
            .collect();
        entries.sort_by_key(|entry| entry.serial);
        entries.iter().map(|entry| entry.record.clone()).collect()
    }
}

impl Inner {
    /// A session id nobody holds: `<owner>-<17 hex>`, as AWS forms them.
    fn fresh_id(&self, owner: &str) -> String {
        loop {
            let suffix: u128 = rand::rng().random::<u128>() & ((1u128 << 68) - 1);
            let id = format!("{owner}-{suffix:017x}");
            if !self.entries.contains_key(&id) {
                return id;
            }
        }
    }

    /// Ends, as `Failed`, every session still `Connecting` (no agent ever attached) whose
    /// connect deadline is before `now`; its end time is its deadline.
    fn expire_unconnected(&mut self, now: Instant, timeout: Duration) {
        while let Some((deadline, _)) = self.connect_deadlines.front() {
            if *deadline > now {
                return;
            }
            let Some((_, id)) = self.connect_deadlines.pop_front() else {
                return;
            };
            if let Some(entry) = self.entries.get_mut(&id)
                && entry.record.is_active()
                && entry.record.status == SessionStatus::Connecting
                && !entry.record.agent_attached
                && !entry.opened
            {
                let ended_at = entry.record.started_at + timeout;
                let reason = format!(
                    "The session was not connected within {} s.",
                    timeout.as_secs()
                );
                end(
                    &mut self.active_per_owner,
                    entry,
                    SessionStatus::Failed,
                    reason,
                    ended_at,
                );
            }
        }
    }
}

fn end(
    active_per_owner: &mut HashMap<String, usize>,
    entry: &mut Entry,
    status: SessionStatus,
    reason: String,
    ended_at: SystemTime,
) {
    if let Some(count) = active_per_owner.get_mut(&entry.record.owner) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            active_per_owner.remove(&entry.record.owner);
        }
    }
    entry.record.status = status;
    entry.record.ended_at = Some(ended_at);
    entry.record.end_reason = Some(reason);
    entry.record.agent_attached = false;
    entry.token = None;
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
