//! What every request handler and agent task shares, behind one `Arc`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::EmulatorConfig;
use super::agent::AgentDirectory;
use super::authorize::Authorizer;
use super::clock::Clock;
use super::ec2::security_groups::SecurityGroups;
use super::events::delivery::Bus;
use super::events::rules::RuleStore;
use super::fleet::documents::SessionDocument;
use super::fleet::{Fleet, Place};
use super::kms::KeyStore;
use super::places::PerPlace;
use super::sessions::{Limits, SessionRegistry};
use super::sns::Topics;
use super::ssm::commands::CommandStore;
use super::sts::assumed::AssumedSessions;
use super::trail::Trail;

/// A CreateDocument document and where it was made.
struct CreatedDocument {
    account: String,
    region: String,
    document: SessionDocument,
}

impl CreatedDocument {
    fn is_in(&self, place: Place<'_>) -> bool {
        self.account == place.account && self.region == place.region
    }
}

pub struct EmulatorState {
    pub config: EmulatorConfig,
    pub sessions: SessionRegistry,
    /// The running agent task of each attached session (issue 4).
    pub agents: AgentDirectory,
    /// `http://HOST:PORT` of this emulator, as printed on the `endpoint=` line.
    pub base_url: String,
    /// One permit per data-channel websocket that has not yet passed its token check
    /// (`EmulatorConfig::max_unauthenticated_sockets`).
    pub unauthenticated: Arc<Semaphore>,
    /// Session documents made with CreateDocument while the emulator runs, each seen only in
    /// the account and region it was made in (as in SSM); the fleet's own (AWS's and the
    /// fleet file's) stay in the (immutable) fleet, seen everywhere.
    created_documents: RwLock<Vec<CreatedDocument>>,
    /// KMS keys: the fleet's `[[kms_keys]]` with secrets drawn at start, plus CreateKey's.
    pub kms: KeyStore,
    /// The CloudTrail record of every API call served (`trail/`), bounded.
    pub trail: Trail,
    /// Run Command's commands and their invocations (issue 14).
    pub commands: Arc<CommandStore>,
    /// Every user's IAM identity policies, evaluated on every call.
    pub authorizer: Authorizer,
    /// The time authorisation sees (`aws:CurrentTime`, credential expiry); tests move it.
    pub clock: Clock,
    /// EC2 security groups of each (account, region)'s default VPC (created, changed and
    /// deleted through EC2).
    pub security_groups: PerPlace<SecurityGroups>,
    /// EventBridge rules and their targets: each (account, region)'s default bus.
    pub rules: PerPlace<RuleStore>,
    /// SNS topics and the log of what was published to them.
    pub topics: Topics,
    /// The queue from the trail to the rules (`events::delivery`).
    pub bus: Bus,
    /// Role sessions STS AssumeRole issued, by their temporary access key id.
    pub sts_sessions: AssumedSessions,
}

impl EmulatorState {
    pub fn new(config: EmulatorConfig, base_url: String) -> Self {
        let unauthenticated = Arc::new(Semaphore::new(config.max_unauthenticated_sockets));
        let sessions = SessionRegistry::with_limits(Limits {
            connect_timeout: config.connect_timeout,
            max_active_per_owner: config.max_sessions_per_owner,
        });
        let kms = KeyStore::new(&config.fleet.kms_keys, super::kms::now());
        Self {
            kms,
            trail: Trail::default(),
            authorizer: Authorizer::new(&config.fleet),
            clock: Clock::default(),
            security_groups: PerPlace::default(),
            rules: PerPlace::default(),
            topics: Topics::default(),
            bus: Bus::default(),
            config,
            sessions,
            agents: AgentDirectory::default(),
            base_url,
            unauthenticated,
            created_documents: RwLock::new(Vec::new()),
            commands: Arc::default(),
            sts_sessions: AssumedSessions::default(),
        }
    }

    /// A command session document by name as a call from `place` sees it: the fleet's
    /// (AWS's own and the fleet file's), then those created there at run time. A clone: the
    /// store may change meanwhile.
    pub fn session_document(&self, name: &str, place: Place<'_>) -> Option<SessionDocument> {
        if let Some(document) = self.fleet().session_document(name) {
            return Some(document.clone());
        }
        let created = self
            .created_documents
            .read()
            .unwrap_or_else(|e| e.into_inner());
        created
            .iter()
            .find(|c| c.is_in(place) && c.document.name == name)
            .map(|c| c.document.clone())
    }

    /// Every session document but the preferences that `place` sees: the fleet's, then those
    /// created there.
    pub fn session_documents(&self, place: Place<'_>) -> Vec<SessionDocument> {
        let mut documents = self.fleet().documents.clone();
        let created = self
            .created_documents
            .read()
            .unwrap_or_else(|e| e.into_inner());
        documents.extend(
            created
                .iter()
                .filter(|c| c.is_in(place))
                .map(|c| c.document.clone()),
        );
        documents
    }

    /// Adds a document in `place` unless one of that name exists there (fleet or created);
    /// `false` then. Checked and added under one lock, so two racing CreateDocument calls
    /// make one.
    pub fn add_document(&self, document: SessionDocument, place: Place<'_>) -> bool {
        let mut created = self
            .created_documents
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let exists = self.fleet().session_document(&document.name).is_some()
            || created
                .iter()
                .any(|c| c.is_in(place) && c.document.name == document.name);
        if !exists {
            created.push(CreatedDocument {
                account: place.account.to_owned(),
                region: place.region.to_owned(),
                document,
            });
        }
        !exists
    }

    pub fn fleet(&self) -> &Fleet {
        &self.config.fleet
    }

    /// No stream data in either direction for this long ends a session (protocol.md §7.3):
    /// `--idle-timeout` seconds if given, else the fleet's `idleSessionTimeout` minutes.
    pub fn idle_timeout(&self) -> Duration {
        self.config.idle_timeout.unwrap_or_else(|| {
            let minutes = self.fleet().preferences.idle_session_timeout_minutes;
            Duration::from_secs(u64::from(minutes) * 60)
        })
    }

    /// The longest a session may last: `--max-duration` seconds if given, else the fleet's
    /// `maxSessionDuration` minutes; `None` means unlimited (AWS's default).
    pub fn max_duration(&self) -> Option<Duration> {
        self.config.max_duration.or_else(|| {
            self.fleet()
                .preferences
                .max_session_duration_minutes
                .map(|minutes| Duration::from_secs(u64::from(minutes) * 60))
        })
    }

    /// The StreamUrl for a session (protocol.md §1.1): a websocket on this same emulator.
    /// `authority` is the `HOST:PORT` the caller used to reach us, when known, so a client
    /// that came through another address dials the one that worked.
    pub fn stream_url(&self, session_id: &str, authority: Option<&str>) -> String {
        let authority = authority.unwrap_or_else(|| {
            self.base_url
                .strip_prefix("http://")
                .unwrap_or(&self.base_url)
        });
        format!("ws://{authority}/v1/data-channel/{session_id}?role=publish_subscribe")
    }
}
