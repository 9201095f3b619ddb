//! Domain types at the AWS boundary. SDK types stop in `src/aws/`; everything above
//! (connect, tui) sees only these plain-data values, which keeps the TUI testable
//! with emulator-shaped fixtures and no SDK in sight.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// An EC2 instance id (`i-…`) or a hybrid managed node id (`mi-…`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct InstanceId(Box<str>);

impl InstanceId {
    /// Accepts `i-` or `mi-` followed by 8 to 17 lower-case hex digits, as AWS issues them.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text
            .strip_prefix("i-")
            .or_else(|| text.strip_prefix("mi-"))?;
        let hex_ok = (8..=17).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        hex_ok.then(|| Self(text.into()))
    }

    /// For ids that come straight from an AWS response: kept as AWS spelled them.
    pub fn from_aws(text: impl Into<String>) -> Self {
        Self(text.into().into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag as filters and targets name it: `KEY=VALUE`. The one parser for `--tag`, a
/// `tag:KEY=VALUE` target and `--parameter KEY=VALUE`: the key may not be empty, the value may
/// (AWS allows empty tag values) and may itself contain `=`.
pub fn parse_key_value(text: &str) -> Result<(String, String), KeyValueError> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(KeyValueError(
            crate::text::escape_for_terminal(text).into_owned(),
        )),
    }
}

/// A `KEY=VALUE` argument without `=` or without a key; holds the escaped text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected KEY=VALUE, got `{0}`")]
pub struct KeyValueError(String);

/// The SSM agent's ping status, plus "not managed" for instances SSM does not know.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum PingStatus {
    Online,
    ConnectionLost,
    Inactive,
    NotManaged,
}

impl PingStatus {
    pub fn from_aws(text: &str) -> Self {
        match text {
            "Online" => Self::Online,
            "ConnectionLost" => Self::ConnectionLost,
            "Inactive" => Self::Inactive,
            _ => Self::NotManaged,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::ConnectionLost => "ConnectionLost",
            Self::Inactive => "Inactive",
            Self::NotManaged => "not managed",
        }
    }
}

/// EC2 instance state name (`running`, `stopped`, …); hybrid nodes have none.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
    /// A hybrid (`mi-`) node: not an EC2 instance, so it has no EC2 state.
    Hybrid,
    Other(Box<str>),
}

impl InstanceState {
    pub fn from_aws(text: &str) -> Self {
        match text {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "shutting-down" => Self::ShuttingDown,
            "terminated" => Self::Terminated,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            other => Self::Other(other.into()),
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Hybrid => "hybrid",
            Self::Other(text) => text,
        }
    }
}

/// One row of the fleet: EC2 facts joined with the SSM agent's view of the instance.
///
/// Compact, since the UI holds 100,000 of them (issue 13: under 300 MB across 20 account ×
/// region pairs): text is `Arc<str>`, and a listing hands the same allocation to every row
/// whose field says the same thing (region, account, image, platform, agent version, instance
/// type, VPC, tag keys and values…: `aws::inventory` interns them per load); the name is the
/// `Name` tag's own value, not a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: InstanceId,
    /// The `Name` tag, if any.
    pub name: Option<Arc<str>>,
    pub tags: Tags,
    pub state: InstanceState,
    pub ping_status: PingStatus,
    pub agent_version: Option<Arc<str>>,
    /// `Linux`, `Windows`, `MacOS` from SSM; the EC2 platform details otherwise.
    pub platform: Option<Arc<str>>,
    /// e.g. `Amazon Linux 2023`, from SSM `PlatformName` + `PlatformVersion`.
    pub platform_name: Option<Arc<str>>,
    pub private_ip: Option<Arc<str>>,
    pub image_id: Option<Arc<str>>,
    /// Human-readable image name from DescribeImages, when known.
    pub image_name: Option<Arc<str>>,
    pub region: Arc<str>,
    /// The account's display name when several accounts are shown (`--profile a,b`, the
    /// config's `[[accounts]]`); `None` in the one account of the default chain.
    pub account: Option<Arc<str>>,
    /// The 12-digit account id EC2 names as the reservation's owner (`None` for hybrid nodes).
    pub account_id: Option<Arc<str>>,
    pub last_ping: Option<SystemTime>,
    /// What EC2 says about the machine (empty for hybrid nodes).
    pub ec2: Ec2Facts,
}

impl Instance {
    /// Which client serves this instance: its region, or `ACCOUNT/REGION` when several
    /// accounts are shown. The UI keys its loads and its clients by it
    /// (`AwsClient::location`).
    pub fn location(&self) -> String {
        location(self.account.as_deref(), &self.region)
    }
}

/// `REGION`, or `ACCOUNT/REGION` for a named account: one client's key.
pub fn location(account: Option<&str>, region: &str) -> String {
    match account {
        Some(account) => format!("{account}/{region}"),
        None => region.to_owned(),
    }
}

/// An instance's tags: one value per key, sorted by key (the order a `BTreeMap` gave, which
/// the detail pane, the filter's text and `list --json` keep), in one boxed slice instead of
/// a map whose first node alone is about 550 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Box<[(Arc<str>, Arc<str>)]>);

impl Tags {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_shared(key).map(|value| &**value)
    }

    /// The value itself, for a field that shares it (the instance's name is its `Name`).
    pub fn get_shared(&self, key: &str) -> Option<&Arc<str>> {
        let at = self.0.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.0[at].1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(key, value)` by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Sets `key` to `value`, replacing a value it had.
    pub fn insert(&mut self, key: impl Into<Arc<str>>, value: impl Into<Arc<str>>) {
        let mut pairs = std::mem::take(&mut self.0).into_vec();
        pairs.push((key.into(), value.into()));
        *self = Self::from_pairs(pairs);
    }

    /// From pairs in any order; of one key given twice the last value stays, as a map's
    /// `insert` would leave it.
    pub fn from_pairs(mut pairs: Vec<(Arc<str>, Arc<str>)>) -> Self {
        // Stable: equal keys keep their order, so the last of them is the one given last.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(Arc<str>, Arc<str>)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match kept.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => kept.push(pair),
            }
        }
        Self(kept.into_boxed_slice())
    }
}

impl<K: Into<Arc<str>>, V: Into<Arc<str>>> FromIterator<(K, V)> for Tags {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Self::from_pairs(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// As a JSON object, key by key (`list --json`'s `tags`).
impl serde::Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// The EC2 facts the detail pane shows; each is `None` when EC2 did not give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ec2Facts {
    pub instance_type: Option<Arc<str>>,
    pub availability_zone: Option<Arc<str>>,
    pub launch_time: Option<SystemTime>,
    pub vpc_id: Option<Arc<str>>,
    pub subnet_id: Option<Arc<str>>,
    /// The instance profile's ARN.
    pub instance_profile: Option<Arc<str>>,
    pub public_ip: Option<Arc<str>>,
}

/// State of a Session Manager session as `DescribeSessions` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SessionStatus {
    Connected,
    Connecting,
    Disconnected,
    Terminated,
    Terminating,
    Failed,
}

impl SessionStatus {
    pub fn from_aws(text: &str) -> Option<Self> {
        Some(match text {
            "Connected" => Self::Connected,
            "Connecting" => Self::Connecting,
            "Disconnected" => Self::Disconnected,
            "Terminated" => Self::Terminated,
            "Terminating" => Self::Terminating,
            "Failed" => Self::Failed,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Connected => "Connected",
            Self::Connecting => "Connecting",
            Self::Disconnected => "Disconnected",
            Self::Terminated => "Terminated",
            Self::Terminating => "Terminating",
            Self::Failed => "Failed",
        }
    }
}

/// One session from `DescribeSessions` (Active or History).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub target: String,
    pub status: SessionStatus,
    /// The IAM ARN or user name that started the session.
    pub owner: String,
    pub start: Option<SystemTime>,
    pub end: Option<SystemTime>,
    pub reason: Option<String>,
    /// Why it ended, when the service says: DescribeSessions' `Details` (AWS documents the
    /// field as reserved; the emulator puts the agent's end reason there).
    pub end_reason: Option<String>,
    pub document_name: Option<String>,
    pub region: String,
}

/// What happened to a session, as CloudTrail recorded the API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionEventKind {
    Start,
    Resume,
    Terminate,
}

impl SessionEventKind {
    /// The SSM API call (CloudTrail `eventName`) of each kind.
    pub fn event_name(self) -> &'static str {
        match self {
            SessionEventKind::Start => "StartSession",
            SessionEventKind::Resume => "ResumeSession",
            SessionEventKind::Terminate => "TerminateSession",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SessionEventKind::Start => "start",
            SessionEventKind::Resume => "resume",
            SessionEventKind::Terminate => "terminate",
        }
    }
}

/// One session event from CloudTrail `LookupEvents` (`gangway audit`). Every string is AWS's
/// text, unescaped: it goes through `text.rs` before a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    pub event_id: String,
    pub kind: SessionEventKind,
    pub time: SystemTime,
    /// `userIdentity.userName`, else the ARN, else the principal id.
    pub user: String,
    pub user_arn: Option<String>,
    pub session_id: Option<String>,
    /// The instance (StartSession's target; for resume and terminate, the target of the
    /// session's start when it is among the events read).
    pub target: Option<String>,
    pub source_ip: Option<String>,
    /// StartSession's `Reason`, when given.
    pub reason: Option<String>,
    /// `errorCode` of a refused call; `None` when it succeeded.
    pub error_code: Option<String>,
    pub region: String,
}

/// The account's Session Manager preferences (`SSM-SessionManagerRunShell` inputs).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionPreferences {
    pub idle_session_timeout_minutes: Option<u32>,
    pub max_session_duration_minutes: Option<u32>,
    pub s3_bucket_name: Option<String>,
    pub cloudwatch_log_group_name: Option<String>,
    pub kms_key_id: Option<String>,
    pub run_as_enabled: bool,
}

impl SessionPreferences {
    pub fn logging_enabled(&self) -> bool {
        self.s3_bucket_name
            .as_deref()
            .is_some_and(|s| !s.is_empty())
            || self
                .cloudwatch_log_group_name
                .as_deref()
                .is_some_and(|s| !s.is_empty())
    }
}

/// SendCommand's request as gangway makes it: one shell document, the instances by id or by
/// tag, the rate controls and where AWS should put the whole output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendCommandRequest {
    pub document_name: String,
    /// Instances by id (at most 50, AWS's limit), or empty when `tag_targets` select them.
    pub instance_ids: Vec<String>,
    /// `tag:KEY` targets: every key must match one of its values.
    pub tag_targets: Vec<(String, Vec<String>)>,
    /// The script's lines (`commands`).
    pub commands: Vec<String>,
    pub comment: Option<String>,
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
    /// The document's `executionTimeout`, in seconds.
    pub execution_timeout: Option<u64>,
    pub output_s3: Option<S3Location>,
}

/// `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]`; the bucket may not be empty.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// [`S3Location::parse`], or the error line for a command-line value that is not one.
    pub fn from_url(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| {
            format!(
                "`{}` is not an s3://BUCKET/PREFIX URL",
                crate::text::escape_for_terminal(text)
            )
        })
    }
}

/// A Run Command command (ListCommands, SendCommand).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandInfo {
    pub command_id: String,
    pub document_name: String,
    pub comment: String,
    #[serde(skip)]
    pub requested: Option<SystemTime>,
    pub status: String,
    pub status_details: String,
    pub target_count: i32,
    pub completed_count: i32,
    pub error_count: i32,
    pub delivery_timed_out_count: i32,
    pub max_concurrency: String,
    pub max_errors: String,
    pub instance_ids: Vec<String>,
    /// `KEY=VALUE[,VALUE]` per target, as the console shows them.
    pub targets: Vec<String>,
    pub output_s3: Option<S3Location>,
}

impl CommandInfo {
    /// Pending, InProgress and Cancelling are still moving.
    pub fn is_finished(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "Pending" | "InProgress" | "Cancelling" | "Delayed"
        )
    }
}

/// One instance's run of a command (ListCommandInvocations with details, GetCommandInvocation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvocationInfo {
    pub command_id: String,
    pub instance_id: String,
    /// The host name SSM reports (`InstanceName`).
    pub instance_name: String,
    pub status: String,
    pub status_details: String,
    /// `None` until the script ended (AWS says -1).
    pub response_code: Option<i32>,
    /// The plugin's `Output`: stdout and stderr within 2,500 characters.
    pub output: String,
    pub stdout_url: Option<String>,
    pub stderr_url: Option<String>,
}

impl InvocationInfo {
    /// Pending, InProgress, Delayed and Cancelling may still change.
    pub fn is_finished(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "Pending" | "InProgress" | "Cancelling" | "Delayed"
        )
    }
}

/// GetCommandInvocation's output: stdout (first 24,000 characters) and stderr (8,000) apart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvocationOutput {
    pub status: String,
    pub status_details: String,
    pub response_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_url: Option<String>,
    pub stderr_url: Option<String>,
}

/// What AWS appends to StandardOutputContent it cut (the agent's `OutputTruncatedSuffix`).
pub const OUTPUT_TRUNCATED_SUFFIX: &str = "--output truncated--";
/// How much of stdout the API returns.
pub const MAX_API_STDOUT_CHARS: usize = 24_000;

impl InvocationOutput {
    /// AWS returned only the first 24,000 characters of stdout.
    pub fn stdout_truncated(&self) -> bool {
        self.stdout.ends_with(OUTPUT_TRUNCATED_SUFFIX)
    }

    pub fn stderr_truncated(&self) -> bool {
        self.stderr.ends_with(OUTPUT_TRUNCATED_SUFFIX)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_validated() {
        assert!(InstanceId::parse("i-0123456789abcdef0").is_some());
        assert!(InstanceId::parse("mi-0123456789abcdef0").is_some());
        assert!(InstanceId::parse("i-XYZ").is_none());
        assert!(InstanceId::parse("web-1").is_none());
        assert!(InstanceId::parse("i-0123456789abcdef01234").is_none());
    }

    #[test]
    fn key_value_pairs_split_on_the_first_equals() {
        let pair = |k: &str, v: &str| Ok((k.to_owned(), v.to_owned()));
        assert_eq!(parse_key_value("Env=dev"), pair("Env", "dev"));
        assert_eq!(parse_key_value("cmd=a=b"), pair("cmd", "a=b"));
        assert_eq!(parse_key_value("Owner="), pair("Owner", ""));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
        let error = parse_key_value("a\u{1b}[2J").expect_err("no equals sign");
        assert!(!error.to_string().contains('\u{1b}'));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn s3_locations_need_the_scheme_and_a_bucket() {
        let parsed = S3Location::parse("s3://bucket/security/results/").unwrap();
        assert_eq!(
            (parsed.bucket.as_str(), parsed.prefix.as_str()),
            ("bucket", "security/results")
        );
        assert_eq!(S3Location::parse("s3://bucket").unwrap().prefix, "");
        assert!(S3Location::parse("https://bucket/x").is_none());
        assert!(S3Location::parse("s3:///x").is_none());
        assert!(S3Location::parse("bucket/x").is_none());
    }

    #[test]
    fn tags_are_sorted_by_key_and_the_last_value_of_a_key_stays() {
        let mut tags: Tags = [
            ("Name", "web-1"),
            ("Env", "dev"),
            ("Team", "a"),
            ("Env", "prod"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            tags.iter().collect::<Vec<_>>(),
            [("Env", "prod"), ("Name", "web-1"), ("Team", "a")]
        );
        assert_eq!(tags.get("Env"), Some("prod"));
        assert_eq!(tags.get("Owner"), None);
        tags.insert("Env", "stg");
        tags.insert("Aaa", "");
        assert_eq!(tags.len(), 4);
        assert_eq!(tags.iter().next(), Some(("Aaa", "")));
        assert_eq!(tags.get("Env"), Some("stg"));
        assert_eq!(
            serde_json::to_string(&tags).unwrap(),
            r#"{"Aaa":"","Env":"stg","Name":"web-1","Team":"a"}"#
        );
        assert!(Tags::default().is_empty());
    }

    #[test]
    fn unknown_ping_status_is_not_managed() {
        assert_eq!(PingStatus::from_aws("Online"), PingStatus::Online);
        assert_eq!(PingStatus::from_aws(""), PingStatus::NotManaged);
    }
}
