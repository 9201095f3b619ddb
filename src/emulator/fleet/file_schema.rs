//! The fleet file's schema as serde reads it. Kept apart from the conversion in `file.rs`;
//! `deny_unknown_fields` everywhere, so a typo is an error with a line, not a silent default.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Deserialize;
use toml::Spanned;

use crate::emulator::ids;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FleetFile {
    /// Fault injection on the data channel, in the `--faults` syntax (issue 4).
    pub(super) faults: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) preferences: PreferencesFile,
    #[serde(default)]
    pub(super) users: Vec<UserFile>,
    #[serde(default)]
    pub(super) images: Vec<ImageFile>,
    #[serde(default)]
    pub(super) instances: Vec<InstanceFile>,
    #[serde(default)]
    pub(super) documents: Vec<DocumentFile>,
    /// KMS keys for encrypted sessions (`preferences.kms_key_id` names one).
    #[serde(default)]
    pub(super) kms_keys: Vec<KmsKeyFile>,
    /// IAM roles STS AssumeRole can give credentials for (issue 13).
    #[serde(default)]
    pub(super) roles: Vec<RoleDefFile>,
}

/// `[[roles]]`: a role in an account, who may assume it, and what it may do (the same
/// `role`/`scope`/`policies` as a user).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleDefFile {
    pub(super) name: Spanned<String>,
    pub(super) account: Option<Spanned<String>>,
    /// The trust policy's principals (`Principal.AWS`): user ARNs or `arn:aws:iam::ACCOUNT:root`.
    pub(super) trust: Spanned<Vec<String>>,
    pub(super) role: Option<Spanned<RoleFile>>,
    #[serde(default)]
    pub(super) scope: Option<Spanned<BTreeMap<String, String>>>,
    pub(super) policies: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KmsKeyFile {
    pub(super) id: Spanned<String>,
    pub(super) alias: Option<Spanned<String>>,
    /// Names of the users the key policy allows; nobody else may use the key.
    #[serde(default)]
    pub(super) users: Vec<String>,
    #[serde(default = "default_enabled")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) description: String,
}

fn default_enabled() -> bool {
    true
}

/// A custom session document, with the keys of the SSM document schema (protocol.md §8).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DocumentFile {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    #[serde(rename = "sessionType")]
    pub(super) session_type: Spanned<String>,
    #[serde(default)]
    pub(super) parameters: toml::Table,
    pub(super) properties: Spanned<toml::Table>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreferencesFile {
    pub(super) idle_session_timeout_minutes: Option<Spanned<u32>>,
    pub(super) max_session_duration_minutes: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) s3_bucket_name: String,
    #[serde(default)]
    pub(super) s3_key_prefix: String,
    #[serde(default)]
    pub(super) cloudwatch_log_group_name: String,
    #[serde(default)]
    pub(super) kms_key_id: String,
    #[serde(default)]
    pub(super) run_as_enabled: bool,
    #[serde(default)]
    pub(super) run_as_default_user: String,
    #[serde(default)]
    pub(super) shell_profile_linux: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserFile {
    pub(super) name: Spanned<String>,
    pub(super) access_key_id: Spanned<String>,
    /// The 12-digit account the user is in; the default account when absent.
    pub(super) account: Option<Spanned<String>>,
    /// Optional only with `policies`, which replace it.
    pub(super) role: Option<Spanned<RoleFile>>,
    #[serde(default)]
    pub(super) scope: Option<Spanned<BTreeMap<String, String>>>,
    /// IAM identity policies as JSON documents; they replace role, scope and expires.
    pub(super) policies: Option<Vec<Spanned<String>>>,
    /// Principal tags (`aws:PrincipalTag/KEY` in policies).
    #[serde(default)]
    pub(super) tags: BTreeMap<String, String>,
    pub(super) expires: Option<Spanned<toml::value::Datetime>>,
    pub(super) credentials_expire: Option<Spanned<toml::value::Datetime>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RoleFile {
    Engineer,
    Admin,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImageFile {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default = "default_platform_details")]
    pub(super) platform_details: String,
    #[serde(default = "default_architecture")]
    pub(super) architecture: String,
    #[serde(default = "default_creation_date")]
    pub(super) creation_date: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InstanceFile {
    pub(super) id: Spanned<InstanceIdField>,
    /// Shorthand for the `Name` tag.
    pub(super) name: Option<String>,
    /// The 12-digit account that owns it; the default account when absent.
    pub(super) account: Option<Spanned<String>>,
    /// The region it is in; absent: seen from every region.
    pub(super) region: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, String>,
    #[serde(default = "default_state")]
    pub(super) state: StateFile,
    pub(super) image_id: Option<Spanned<String>>,
    #[serde(default = "default_instance_type")]
    pub(super) instance_type: String,
    #[serde(default = "default_zone")]
    pub(super) availability_zone: String,
    #[serde(default = "default_platform")]
    pub(super) platform: String,
    #[serde(default = "default_platform_name")]
    pub(super) platform_name: String,
    #[serde(default = "default_platform_version")]
    pub(super) platform_version: String,
    pub(super) private_ip: Option<Ipv4Addr>,
    #[serde(default = "default_ping")]
    pub(super) ping_status: PingFile,
    #[serde(default = "default_agent_version")]
    pub(super) agent_version: String,
    pub(super) reservation_id: Option<String>,
    #[serde(default = "default_shell")]
    pub(super) shell: ShellFile,
    /// Port sessions: the instance's TCP port → `IP:PORT` on the emulator's loopback.
    pub(super) ports: Option<Spanned<BTreeMap<String, String>>>,
    /// Remote hosts for AWS-StartPortForwardingSessionToRemoteHost: `"name:port"` →
    /// `IP:PORT` on the emulator's loopback.
    pub(super) hosts: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct InstanceIdField(pub(super) String);

impl TryFrom<String> for InstanceIdField {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if ids::is_ssm_instance_id(&text) {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not an instance id (i- and 8 or 17 lower-case hex digits, or mi- and 17)"
            ))
        }
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum StateFile {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

#[derive(Clone, Copy, Deserialize)]
pub(super) enum PingFile {
    Online,
    ConnectionLost,
    Inactive,
    /// No SSM agent registered: EC2 lists the instance, SSM does not.
    NotManaged,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ShellFile {
    #[serde(rename = "/bin/sh", alias = "sh")]
    Sh,
    #[serde(alias = "/bin/bash")]
    Bash,
}

fn default_platform_details() -> String {
    "Linux/UNIX".to_owned()
}
fn default_architecture() -> String {
    "x86_64".to_owned()
}
fn default_creation_date() -> String {
    "2025-01-01T00:00:00.000Z".to_owned()
}
fn default_state() -> StateFile {
    StateFile::Running
}
fn default_instance_type() -> String {
    "t3.micro".to_owned()
}
fn default_zone() -> String {
    "us-east-1a".to_owned()
}
fn default_platform() -> String {
    "Linux".to_owned()
}
fn default_platform_name() -> String {
    "Amazon Linux".to_owned()
}
fn default_platform_version() -> String {
    "2023".to_owned()
}
fn default_ping() -> PingFile {
    PingFile::Online
}
fn default_agent_version() -> String {
    "3.3.1142.0".to_owned()
}
fn default_shell() -> ShellFile {
    ShellFile::Sh
}
