//! The emulated account: users (identities and their IAM-like permissions), the Session
//! Manager preferences, the AMIs and the instances. Built from a TOML file (`file.rs`),
//! generated deterministically for scale tests (`generated.rs`), or the built-in demo
//! fleet (`demo.rs`). Immutable once the emulator runs.

mod demo;
mod demo_accounts;
pub mod documents;
mod file;
mod file_schema;
mod generated;
pub mod policies;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

pub use demo::HOSTILE_TAG_VALUE;
pub use demo_accounts::{DEMO_OTHER_ACCOUNT, DEMO_REGIONS, DEMO_ROLE};
pub use file::FleetError;

/// The default account: every user, role and instance belongs to it unless the fleet file
/// says otherwise (`account = "…"`), and the ARNs of what is not per account (KMS keys,
/// documents, the trail) name it.
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
    /// IAM roles (`[[roles]]`) that STS `AssumeRole` can give temporary credentials for.
    pub roles: Vec<FleetRole>,
}

/// Where a request lands: the caller's account and the region of its SigV4 scope. Each
/// (account, region) pair sees its own fleet (issue 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

/// An IAM role of the fleet file: who may assume it (its trust policy's principals) and what
/// its sessions may do (the same `role`/`scope`/`policies` as a user's, in `identity`).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRole {
    pub name: String,
    pub account: String,
    /// The `Principal.AWS` values of the trust policy's one Allow statement for
    /// `sts:AssumeRole`: user ARNs, or `arn:aws:iam::ACCOUNT:root` for a whole account
    /// (whose principals then also need an identity policy allowing `sts:AssumeRole`).
    pub trusted: Vec<String>,
    /// The role's permissions, as a user of the role's name would have them.
    pub identity: User,
}

impl FleetRole {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account, self.name)
    }
}

/// What kind of principal a caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM user with long-term keys (the fleet file's `[[users]]`).
    IamUser,
    /// An STS session of a role (`AssumeRole`); the user's `name` is the session name.
    AssumedRole { role: String },
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
    /// The account the user (or the assumed role) belongs to: which fleet it sees.
    pub account: String,
    pub principal: Principal,
    pub role: Role,
    /// Tags an instance must carry for this user to start a session on it (values may use
    /// `*` and `?`): a `StringLike` condition on `ssm:resourceTag/KEY` in the generated
    /// policy (`policies.rs`). Empty: every instance.
    pub scope: BTreeMap<String, String>,
    /// After this instant StartSession is denied: the generated `gangway-expired-access`
    /// policy's Deny on `aws:CurrentTime`.
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

/// The authorizer's key for a role's policies (users are keyed by their name, which
/// cannot contain `/`).
pub fn role_policy_key(account: &str, role: &str) -> String {
    format!("role/{account}/{role}")
}

impl User {
    /// A user of `name` with `access_key_id` in the default account, no scope, no policies:
    /// the start of a user built in code (tests, the demo).
    pub fn new(name: &str, access_key_id: &str, role: Role) -> Self {
        Self {
            name: name.to_owned(),
            access_key_id: access_key_id.to_owned(),
            account: ACCOUNT_ID.to_owned(),
            principal: Principal::IamUser,
            role,
            scope: BTreeMap::new(),
            expires: None,
            credentials_expire: None,
            policies: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::IamUser => format!("arn:aws:iam::{}:user/{}", self.account, self.name),
            Principal::AssumedRole { role } => format!(
                "arn:aws:sts::{}:assumed-role/{role}/{}",
                self.account, self.name
            ),
        }
    }

    /// Whose policies the caller has: a user's own, or its role's.
    pub fn policy_key(&self) -> String {
        match &self.principal {
            Principal::IamUser => self.name.clone(),
            Principal::AssumedRole { role } => role_policy_key(&self.account, role),
        }
    }

    /// Where this caller's request in `region` lands.
    pub fn place<'a>(&'a self, region: &'a str) -> Place<'a> {
        Place {
            account: &self.account,
            region,
        }
    }

    pub fn credentials_expired(&self, now: SystemTime) -> bool {
        self.credentials_expire.is_some_and(|expire| now >= expire)
    }

    fn default_admin() -> Self {
        Self {
            name: "admin".to_owned(),
            access_key_id: "AKIAGANGWAYADMIN".to_owned(),
            account: ACCOUNT_ID.to_owned(),
            principal: Principal::IamUser,
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
            account: ACCOUNT_ID.to_owned(),
            principal: Principal::IamUser,
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
            account: ACCOUNT_ID.to_owned(),
            principal: Principal::IamUser,
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
    /// The account that owns the instance (`ACCOUNT_ID` unless the fleet file says).
    pub account: String,
    /// The region the instance is in; `None`: it is seen from every region (the fleet files
    /// written before accounts and regions, and the generated fleets).
    pub region: Option<String>,
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

    /// Whether a request from `place` sees this instance.
    pub fn is_in(&self, place: Place<'_>) -> bool {
        self.account == place.account && self.region.as_deref().is_none_or(|r| r == place.region)
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

    /// An instance by id, wherever it is (ids are unique across the whole fleet): for the
    /// agent, which serves a session already authorised.
    pub fn instance(&self, id: &str) -> Option<&FleetInstance> {
        self.instances.iter().find(|instance| instance.id == id)
    }

    /// An instance by id as a request from `place` sees it: another account's or region's
    /// instance does not exist there, as in AWS.
    pub fn instance_in<'a>(&'a self, id: &str, place: Place<'_>) -> Option<&'a FleetInstance> {
        self.instance(id).filter(|instance| instance.is_in(place))
    }

    pub fn role(&self, account: &str, name: &str) -> Option<&FleetRole> {
        self.roles
            .iter()
            .find(|role| role.account == account && role.name == name)
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
    pub fn ec2_instances<'a, 'p>(
        &'a self,
        place: Place<'p>,
    ) -> impl Iterator<Item = &'a FleetInstance> + use<'a, 'p> {
        self.instances
            .iter()
            .filter(move |instance| !instance.is_hybrid() && instance.is_in(place))
    }

    /// Instances with a registered SSM agent.
    pub fn managed_instances<'a, 'p>(
        &'a self,
        place: Place<'p>,
    ) -> impl Iterator<Item = &'a FleetInstance> + use<'a, 'p> {
        self.instances
            .iter()
            .filter(move |instance| instance.ping_status.is_some() && instance.is_in(place))
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
