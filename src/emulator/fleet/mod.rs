//! The emulated account: users (identities and their IAM-like permissions), the Session
//! Manager preferences, the AMIs and the instances. Built from a TOML file (`file.rs`),
//! generated deterministically for scale tests (`generated.rs`), or the built-in demo
//! fleet (`demo.rs`). Immutable once the emulator runs.

mod demo;
pub mod documents;
mod file;
mod file_schema;
mod generated;
pub mod policies;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

pub use demo::HOSTILE_TAG_VALUE;
pub use file::FleetError;

use crate::emulator::wildcard::matches_wildcard;

/// The account id in every ARN the emulator prints.
pub const ACCOUNT_ID: &str = "123456789012";
/// The secret access key of the default identities (not checked: signatures are not verified).
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "gangway";

#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub users: Vec<User>,
    pub preferences: Preferences,
    pub images: Vec<Image>,
    pub instances: Vec<FleetInstance>,
    /// Command session documents: AWS's own and the fleet file's `[[documents]]`.
    pub documents: Vec<documents::SessionDocument>,
    /// Fault injection from the fleet file; `--faults` replaces it.
    pub faults: crate::emulator::faults::FaultSpec,
    /// KMS keys (`[[kms_keys]]`), the emulator's KMS starts with these.
    pub kms_keys: Vec<KmsKey>,
}

/// A symmetric KMS key of the fleet file. Its secret is drawn when the emulator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKey {
    pub id: String,
    /// `alias/NAME`, at most one from the file; CreateAlias adds more at run time.
    pub aliases: Vec<String>,
    /// User names the key policy allows (kms:GenerateDataKey, Decrypt, DescribeKey).
    pub users: Vec<String>,
    pub enabled: bool,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May start sessions on instances in scope and end only their own sessions.
    Engineer,
    /// No tag scope; may end anyone's session.
    Admin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub access_key_id: String,
    pub role: Role,
    /// Tags an instance must carry for this user to start a session on it (values may use
    /// `*` and `?`), like an IAM condition on `ssm:resourceTag/KEY`. Empty: every instance.
    pub scope: BTreeMap<String, String>,
    /// After this instant StartSession is denied, like an expiring IAM grant.
    pub expires: Option<SystemTime>,
    /// The user's credentials are temporary (an STS session) and stop working at this
    /// instant: every call then fails with ExpiredToken(Exception), as AWS answers.
    pub credentials_expire: Option<SystemTime>,
    /// IAM identity policies (the fleet file's `policies`). Empty: the policies generated
    /// from `role`, `scope` and `expires` (`policies.rs`) apply instead.
    pub policies: Vec<crate::iam::Policy>,
    /// Principal tags: `aws:PrincipalTag/KEY` in policies.
    pub tags: BTreeMap<String, String>,
}

impl User {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT_ID}:user/{}", self.name)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }

    pub fn credentials_expired(&self, now: SystemTime) -> bool {
        self.credentials_expire.is_some_and(|expire| now >= expire)
    }

    pub fn may_reach(&self, instance: &FleetInstance) -> bool {
        self.scope.iter().all(|(key, pattern)| {
            instance
                .tags
                .get(key)
                .is_some_and(|value| matches_wildcard(pattern, value))
        })
    }

    fn default_admin() -> Self {
        Self {
            name: "admin".to_owned(),
            access_key_id: "AKIAGANGWAYADMIN".to_owned(),
            role: Role::Admin,
            scope: BTreeMap::new(),
            expires: None,
            credentials_expire: None,
            policies: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    /// Temporary credentials that ran out long ago: shows what an expired session token
    /// looks like (`ASIA` is the prefix AWS gives temporary access key ids).
    fn default_expired() -> Self {
        Self {
            name: "expired".to_owned(),
            access_key_id: "ASIAGANGWAYEXPIRED".to_owned(),
            role: Role::Engineer,
            scope: BTreeMap::new(),
            expires: None,
            credentials_expire: Some(SystemTime::UNIX_EPOCH),
            policies: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    fn default_dev() -> Self {
        Self {
            name: "dev".to_owned(),
            access_key_id: "AKIAGANGWAYDEV".to_owned(),
            role: Role::Engineer,
            scope: BTreeMap::from([("Env".to_owned(), "dev".to_owned())]),
            expires: None,
            credentials_expire: None,
            policies: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// Session Manager preferences (protocol.md §8), served by GetDocument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub idle_session_timeout_minutes: u32,
    pub max_session_duration_minutes: Option<u32>,
    pub s3_bucket_name: String,
    pub s3_key_prefix: String,
    pub cloudwatch_log_group_name: String,
    pub kms_key_id: String,
    pub run_as_enabled: bool,
    pub run_as_default_user: String,
    pub shell_profile_linux: String,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            idle_session_timeout_minutes: 20,
            max_session_duration_minutes: None,
            s3_bucket_name: String::new(),
            s3_key_prefix: String::new(),
            cloudwatch_log_group_name: String::new(),
            kms_key_id: String::new(),
            run_as_enabled: false,
            run_as_default_user: String::new(),
            shell_profile_linux: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub description: String,
    pub platform_details: String,
    pub architecture: String,
    pub creation_date: String,
}

/// The SSM agent's view of an instance; `None` on the instance means SSM does not manage it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingStatus {
    Online,
    ConnectionLost,
    Inactive,
}

impl PingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::ConnectionLost => "ConnectionLost",
            Self::Inactive => "Inactive",
        }
    }
}

/// EC2 instance states with their numeric codes (the low byte AWS reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::ShuttingDown,
        Self::Terminated,
        Self::Stopping,
        Self::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Self::Pending => 0,
            Self::Running => 16,
            Self::ShuttingDown => 32,
            Self::Terminated => 48,
            Self::Stopping => 64,
            Self::Stopped => 80,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// One instance: an EC2 instance (`i-…`) or a hybrid managed node (`mi-…`, SSM only).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInstance {
    pub id: String,
    pub reservation_id: String,
    pub tags: BTreeMap<String, String>,
    pub state: InstanceState,
    pub image_id: String,
    pub instance_type: String,
    pub availability_zone: String,
    pub launch_time: SystemTime,
    /// `Linux`, `Windows` or `MacOS` (SSM PlatformType).
    pub platform_type: String,
    pub platform_name: String,
    pub platform_version: String,
    pub private_ip: String,
    /// `None`: no SSM agent registered, so the instance is not managed.
    pub ping_status: Option<PingStatus>,
    pub agent_version: String,
    /// How long before "now" the agent last pinged (so Online nodes always look fresh).
    pub last_ping_age: Duration,
    /// The shell the agent runs for this instance (`/bin/sh` unless the fleet says `bash`).
    pub shell: String,
    /// Where a port session to one of the instance's own TCP ports connects (fleet file
    /// `ports`, protocol.md §6.3): port → a loopback address on the emulator's machine, so a
    /// test can put its own server "on" the instance. Unmapped ports are dialed on
    /// 127.0.0.1 itself, the agent's `localhost`.
    pub ports: BTreeMap<u16, SocketAddr>,
    /// The remote hosts the instance reaches (fleet file `hosts`), for
    /// AWS-StartPortForwardingSessionToRemoteHost: `"name:port"` → a loopback address.
    pub hosts: BTreeMap<String, SocketAddr>,
}

impl FleetInstance {
    pub fn name(&self) -> Option<&str> {
        self.tags.get("Name").map(String::as_str)
    }

    pub fn is_hybrid(&self) -> bool {
        self.id.starts_with("mi-")
    }

    /// What StartSession needs: a registered agent that is Online on a running machine.
    pub fn is_connectable(&self) -> bool {
        self.ping_status == Some(PingStatus::Online)
            && (self.is_hybrid() || self.state == InstanceState::Running)
    }

    /// The `hosts` key of a remote host and port, as the fleet file writes it.
    pub fn host_key(host: &str, port: u16) -> String {
        format!("{}:{port}", host.to_ascii_lowercase())
    }

    pub fn computer_name(&self) -> String {
        format!("ip-{}.ec2.internal", self.private_ip.replace('.', "-"))
    }
}

impl Fleet {
    /// Adds the documented default identities (`admin`, `dev`) unless the fleet defines
    /// users of those names itself.
    fn with_default_users(mut self) -> Self {
        for user in [
            User::default_admin(),
            User::default_dev(),
            User::default_expired(),
        ] {
            if !self.users.iter().any(|existing| existing.name == user.name) {
                self.users.push(user);
            }
        }
        self
    }

    pub fn user_by_access_key(&self, access_key_id: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|user| user.access_key_id == access_key_id)
    }

    pub fn instance(&self, id: &str) -> Option<&FleetInstance> {
        self.instances.iter().find(|instance| instance.id == id)
    }

    /// A command session document by name (not SSM-SessionManagerRunShell, whose content
    /// is the preferences).
    pub fn session_document(&self, name: &str) -> Option<&documents::SessionDocument> {
        self.documents.iter().find(|document| document.name == name)
    }

    pub fn image(&self, id: &str) -> Option<&Image> {
        self.images.iter().find(|image| image.id == id)
    }

    /// EC2 knows only `i-` instances; `mi-` nodes exist for SSM alone.
    pub fn ec2_instances(&self) -> impl Iterator<Item = &FleetInstance> {
        self.instances
            .iter()
            .filter(|instance| !instance.is_hybrid())
    }

    /// Instances with a registered SSM agent.
    pub fn managed_instances(&self) -> impl Iterator<Item = &FleetInstance> {
        self.instances
            .iter()
            .filter(|instance| instance.ping_status.is_some())
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
