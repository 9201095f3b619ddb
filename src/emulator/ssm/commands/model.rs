//! Run Command's data: the requests the emulator accepts, the statuses an invocation and a
//! command go through, and the limits AWS puts on them. Plain data, no IO.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::emulator::fleet::Place;

/// What AWS-RunShellScript's `executionTimeout` defaults to, and what the agent falls back
/// to when the value is outside [`MIN_EXECUTION_TIMEOUT`, `MAX_EXECUTION_TIMEOUT`]
/// (agent: agent/plugins/pluginutil/pluginutil.go, func ValidateExecutionTimeout).
pub const DEFAULT_EXECUTION_TIMEOUT: u64 = 3600;
pub const MIN_EXECUTION_TIMEOUT: u64 = 5;
pub const MAX_EXECUTION_TIMEOUT: u64 = 172_800;
/// SendCommand's `TimeoutSeconds` (the delivery timeout): range and default of the API.
pub const MIN_DELIVERY_TIMEOUT: i64 = 30;
pub const MAX_DELIVERY_TIMEOUT: i64 = 2_592_000;
pub const DEFAULT_DELIVERY_TIMEOUT: i64 = 3600;
/// The API's defaults for the rate controls.
pub const DEFAULT_MAX_CONCURRENCY: &str = "50";
pub const DEFAULT_MAX_ERRORS: &str = "0";
/// SendCommand takes at most 50 `InstanceIds` and 5 `Targets`.
pub const MAX_INSTANCE_IDS: usize = 50;
pub const MAX_TARGETS: usize = 5;
/// `Comment` is at most 100 characters.
pub const MAX_COMMENT_CHARS: usize = 100;
/// The agent's cut of StandardOutputContent (agent: agent/framework/processor/executer/
/// iohandler/iohandler.go, func DefaultOutputConfig, MaxStdoutLength), with its suffix.
pub const MAX_STDOUT_BYTES: usize = 24_000;
/// The API reference's cut of StandardErrorContent ("the first 8,000 characters").
pub const MAX_STDERR_BYTES: usize = 8_000;
pub const TRUNCATED_SUFFIX: &str = "--output truncated--";
/// The `Output` of a plugin in ListCommandInvocations (agent: iohandler.go,
/// MaximumPluginOutputSize and func TruncateOutput).
pub const MAX_PLUGIN_OUTPUT_BYTES: usize = 2500;
/// The emulator's bound on what one invocation may write to its local stdout or stderr
/// file (and so to the S3 layout); what comes after is read and dropped.
pub const MAX_OUTPUT_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Commands kept for ListCommands (AWS keeps 30 days); the oldest finished ones go first.
pub const MAX_COMMANDS_KEPT: usize = 1000;
/// The plugin of both shell documents and the step id of their one `runCommand` block, as
/// AWS-RunShellScript (schema 1.2) names them.
pub const SHELL_PLUGIN: &str = "aws:runShellScript";
pub const POWERSHELL_PLUGIN: &str = "aws:runPowerShellScript";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendCommandRequest {
    pub document_name: String,
    pub document_version: Option<String>,
    #[serde(default)]
    pub instance_ids: Vec<String>,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Vec<String>>,
    pub comment: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub output_s3_bucket_name: Option<String>,
    pub output_s3_key_prefix: Option<String>,
    pub output_s3_region: Option<String>,
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
}

#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TargetSpec {
    pub key: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// ListCommands and ListCommandInvocations.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    pub command_id: Option<String>,
    pub instance_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    #[serde(default)]
    pub filters: Vec<CommandFilter>,
    #[serde(default)]
    pub details: bool,
}

/// `{"key": "Status", "value": "Success"}`: lower-case, one value, as SSM spells them.
#[derive(Deserialize)]
pub struct CommandFilter {
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetInvocationRequest {
    pub command_id: String,
    pub instance_id: String,
    pub plugin_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelRequest {
    pub command_id: String,
    #[serde(default)]
    pub instance_ids: Vec<String>,
}

/// Where an invocation is: the detailed status AWS reports as `StatusDetails`; `Status` is
/// derived from it ([`Detail::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Pending,
    InProgress,
    /// CancelCommand reached a running invocation; its process is being killed.
    Cancelling,
    Success,
    Failed,
    DeliveryTimedOut,
    ExecutionTimedOut,
    Cancelled,
    /// The instance's agent is registered but no longer answers (ping Inactive).
    Undeliverable,
    /// Not started because the command went past MaxErrors.
    Terminated,
    /// The document is not for the instance's platform.
    InvalidPlatform,
    /// The caller's scope does not reach the instance (targets by tag only).
    AccessDenied,
}

impl Detail {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Cancelling => "Cancelling",
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::DeliveryTimedOut => "DeliveryTimedOut",
            Self::ExecutionTimedOut => "ExecutionTimedOut",
            Self::Cancelled => "Cancelled",
            Self::Undeliverable => "Undeliverable",
            Self::Terminated => "Terminated",
            Self::InvalidPlatform => "InvalidPlatform",
            Self::AccessDenied => "AccessDenied",
        }
    }

    /// The `Status` enum value (CommandInvocationStatus) that goes with the detail.
    pub fn status(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Cancelling => "Cancelling",
            Self::Success => "Success",
            Self::DeliveryTimedOut | Self::ExecutionTimedOut => "TimedOut",
            Self::Cancelled | Self::Terminated => "Cancelled",
            Self::Failed | Self::Undeliverable | Self::InvalidPlatform | Self::AccessDenied => {
                "Failed"
            }
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::InProgress | Self::Cancelling)
    }

    /// What counts against MaxErrors and in `ErrorCount`.
    pub fn is_error(self) -> bool {
        matches!(self, Self::Failed | Self::ExecutionTimedOut)
    }

    /// The outcomes that do not count against MaxErrors and leave the command's status to
    /// the others (the user guide, "Understanding command statuses").
    pub fn is_neutral(self) -> bool {
        matches!(
            self,
            Self::Undeliverable | Self::InvalidPlatform | Self::AccessDenied
        )
    }
}

/// A rate control: an absolute number or a percentage of the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Count(usize),
    Percent(u8),
}

impl Rate {
    /// MaxConcurrency: `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`; MaxErrors also takes 0
    /// and `0%`: `^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$` (the service model).
    pub fn parse(text: &str, zero_allowed: bool) -> Option<Self> {
        let (digits, percent) = match text.strip_suffix('%') {
            Some(digits) => (digits, true),
            None => (text, false),
        };
        if digits.is_empty()
            || digits.len() > 9
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        let value: usize = digits.parse().ok()?;
        if value == 0 && !zero_allowed {
            return None;
        }
        if percent {
            let value = u8::try_from(value).ok().filter(|v| *v <= 100)?;
            Some(Self::Percent(value))
        } else {
            Some(Self::Count(value))
        }
    }

    /// The number this rate allows for `targets` targets: a percentage rounds down (the
    /// concurrency never below one).
    pub fn of(self, targets: usize, at_least_one: bool) -> usize {
        let value = match self {
            Self::Count(count) => count,
            Self::Percent(percent) => targets * usize::from(percent) / 100,
        };
        if at_least_one { value.max(1) } else { value }
    }
}

/// The S3 location of an invocation's output, when the command asked for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLocation {
    pub bucket: String,
    /// As given (may be empty).
    pub prefix: String,
    pub region: String,
}

impl OutputLocation {
    /// `PREFIX/COMMAND-ID/INSTANCE-ID/PLUGIN-WITHOUT-COLONS`: the plugin's key prefix
    /// (agent: agent/runcommand/utils.go, func parseSendCommandMessage, joins prefix,
    /// command id and instance id; agent/framework/runpluginutil/runpluginutil.go, func
    /// RunPlugins, adds the plugin name through fileutil.BuildS3Path, which drops colons).
    pub fn plugin_prefix(&self, command_id: &str, instance_id: &str, plugin: &str) -> String {
        s3_join(&[
            &self.prefix,
            command_id,
            instance_id,
            &plugin.replace(':', ""),
        ])
    }

    /// The object key of one stream (`stdout` or `stderr`): the plugin prefix, the step id
    /// without colons, the file name (agent: agent/framework/processor/executer/iohandler/
    /// iohandler.go, func Init, called as Init(pluginName, stepName) by runpluginutil.go,
    /// func executePlugin; the file name from iomodule/fileS3.go, func Read).
    pub fn key(&self, command_id: &str, instance_id: &str, plugin: &str, stream: &str) -> String {
        s3_join(&[
            &self.plugin_prefix(command_id, instance_id, plugin),
            &step_id(plugin).replace(':', ""),
            stream,
        ])
    }

    /// The virtual-hosted-less URL AWS puts in `StandardOutputUrl`.
    pub fn url(&self, key: &str) -> String {
        format!(
            "https://s3.{}.amazonaws.com/{}/{}",
            self.region, self.bucket, key
        )
    }
}

/// The id of the one `runCommand` block of a schema 1.2 shell document: `0.aws:runShellScript`.
pub fn step_id(plugin: &str) -> String {
    format!("0.{plugin}")
}

/// Go's `path.Join` for keys: empty parts dropped, single slashes.
fn s3_join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|part| part.split('/'))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The agent's cut (agent: agent/plugins/pluginutil/pluginutil.go, func StringPrefix): text
/// of `max` bytes or more becomes its first `max - suffix` bytes and the suffix. Go slices
/// bytes; a UTF-8 sequence split there becomes U+FFFD, as Go's JSON encoder writes it.
pub fn string_prefix(text: &[u8], max: usize) -> (String, bool) {
    if text.len() < max {
        return (String::from_utf8_lossy(text).into_owned(), false);
    }
    let keep = max - TRUNCATED_SUFFIX.len();
    let mut cut = String::from_utf8_lossy(&text[..keep]).into_owned();
    cut.push_str(TRUNCATED_SUFFIX);
    (cut, true)
}

/// The plugin `Output` in ListCommandInvocations: stdout, an error title and stderr within
/// 2500 bytes (agent: iohandler.go, func TruncateOutput; its cut points copied).
pub fn plugin_output(stdout: &str, stderr: &str) -> String {
    const ERROR_TITLE: &str = "\n----------ERROR-------\n";
    const OUT_CUT: &str = "\n---Output truncated---";
    const ERR_CUT: &str = "\n---Error truncated----";
    let title = if stderr.is_empty() { "" } else { ERROR_TITLE };
    let available = MAX_PLUGIN_OUTPUT_BYTES - title.len();
    let (out, err) = (stdout.as_bytes(), stderr.as_bytes());
    let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    if out.len() + err.len() < available {
        return format!("{stdout}{title}{stderr}");
    }
    if out.len() > available / 2 && err.len() > available / 2 {
        let half = (available - ERR_CUT.len() - OUT_CUT.len()) / 2;
        return format!(
            "{}{OUT_CUT}{title}{}{ERR_CUT}",
            lossy(&out[..half]),
            lossy(&err[..half])
        );
    }
    if out.len() <= available / 2 {
        let keep = available - ERR_CUT.len() - out.len();
        return format!("{stdout}{title}{}{ERR_CUT}", lossy(&err[..keep]));
    }
    let keep = available - OUT_CUT.len() - err.len();
    format!("{}{OUT_CUT}{title}{stderr}", lossy(&out[..keep]))
}

/// One instance's run of a command.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub instance_id: String,
    /// `InstanceName`: the instance's host name as the agent reports it.
    pub instance_name: String,
    pub detail: Detail,
    pub response_code: i32,
    pub started: Option<SystemTime>,
    pub ended: Option<SystemTime>,
    /// What the API shows (already cut); the whole is in the local files and the S3 layout.
    pub stdout: String,
    pub stderr: String,
    /// Whether the full output was longer than what the API shows.
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
}

impl Invocation {
    pub fn new(instance_id: String, instance_name: String, detail: Detail) -> Self {
        Self {
            instance_id,
            instance_name,
            detail,
            response_code: -1,
            started: None,
            ended: None,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
        }
    }
}

/// A command as SendCommand made it; its invocations change as they run.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    pub id: String,
    /// Where SendCommand was called (the caller's account, the request's region): only
    /// calls from there see the command, as each account and region has its own commands.
    pub account: String,
    pub region: String,
    pub owner: String,
    pub requested: SystemTime,
    pub document_name: String,
    pub plugin: &'static str,
    pub comment: String,
    pub parameters: BTreeMap<String, Vec<String>>,
    pub instance_ids: Vec<String>,
    pub targets: Vec<TargetSpec>,
    pub delivery_timeout: Duration,
    pub execution_timeout: Duration,
    pub output: Option<OutputLocation>,
    pub max_concurrency: String,
    pub max_errors: String,
    /// The numbers the rate controls come to for this command's targets.
    pub concurrency_limit: usize,
    pub error_limit: usize,
    /// CancelCommand for the whole command arrived.
    pub cancelled: bool,
    pub invocations: Vec<Invocation>,
}

/// The command's `Status`, `StatusDetails` and counts, computed from its invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub status: &'static str,
    pub detail: &'static str,
    pub target_count: usize,
    pub completed_count: usize,
    pub error_count: usize,
    pub delivery_timed_out_count: usize,
}

impl CommandRecord {
    /// Whether a call from `place` sees this command.
    pub fn is_in(&self, place: Place<'_>) -> bool {
        self.account == place.account && self.region == place.region
    }

    pub fn expires_after(&self) -> SystemTime {
        self.requested + self.delivery_timeout
    }

    pub fn is_finished(&self) -> bool {
        self.invocations.iter().all(|i| i.detail.is_terminal())
    }

    pub fn invocation(&self, instance_id: &str) -> Option<&Invocation> {
        self.invocations
            .iter()
            .find(|i| i.instance_id == instance_id)
    }

    pub fn summary(&self) -> Summary {
        let count = |f: fn(Detail) -> bool| {
            self.invocations
                .iter()
                .filter(|invocation| f(invocation.detail))
                .count()
        };
        let target_count = self.invocations.len();
        let completed_count = count(Detail::is_terminal);
        let error_count = count(Detail::is_error);
        let delivery_timed_out_count = count(|d| d == Detail::DeliveryTimedOut);
        let (status, detail) = self.status(completed_count, error_count, delivery_timed_out_count);
        Summary {
            status,
            detail,
            target_count,
            completed_count,
            error_count,
            delivery_timed_out_count,
        }
    }

    /// The aggregate status, after the user guide's table ("Understanding command
    /// statuses"): MaxErrors decides Failed/TimedOut; neutral outcomes only matter when
    /// nothing else happened.
    fn status(
        &self,
        completed: usize,
        errors: usize,
        delivery_timed_out: usize,
    ) -> (&'static str, &'static str) {
        let total = self.invocations.len();
        if total == 0 {
            return ("Failed", "NoInstancesInTag");
        }
        let started = self.invocations.iter().any(|i| i.detail != Detail::Pending);
        if completed < total {
            if self.cancelled {
                return ("Cancelling", "Cancelling");
            }
            return if started {
                ("InProgress", "InProgress")
            } else {
                ("Pending", "Pending")
            };
        }
        if self.cancelled {
            return ("Cancelled", "Cancelled");
        }
        let all = |detail: Detail| self.invocations.iter().all(|i| i.detail == detail);
        if errors > self.error_limit {
            let timeouts = self
                .invocations
                .iter()
                .filter(|i| i.detail == Detail::ExecutionTimedOut)
                .count();
            return if timeouts == errors {
                ("TimedOut", "ExecutionTimedOut")
            } else {
                ("Failed", "Failed")
            };
        }
        if delivery_timed_out > self.error_limit {
            return ("TimedOut", "DeliveryTimedOut");
        }
        let settled_well = |i: &Invocation| i.detail == Detail::Success || i.detail.is_neutral();
        if self.invocations.iter().all(settled_well) {
            if self.invocations.iter().any(|i| i.detail == Detail::Success) {
                return ("Success", "Success");
            }
            if all(Detail::AccessDenied) {
                return ("Failed", "AccessDenied");
            }
            return ("Failed", "Failed");
        }
        ("Failed", "Incomplete")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_service_patterns() {
        assert_eq!(Rate::parse("50", false), Some(Rate::Count(50)));
        assert_eq!(Rate::parse("10%", false), Some(Rate::Percent(10)));
        assert_eq!(Rate::parse("100%", false), Some(Rate::Percent(100)));
        assert_eq!(Rate::parse("0", true), Some(Rate::Count(0)));
        for bad in ["0", "", "%", "101%", "07", "-1", "1.5", "ten"] {
            assert_eq!(Rate::parse(bad, false), None, "{bad}");
        }
        assert_eq!(Rate::Percent(10).of(50, false), 5);
        assert_eq!(Rate::Percent(1).of(50, true), 1);
    }

    #[test]
    fn stdout_is_cut_like_the_agent_cuts_it() {
        let short = vec![b'a'; MAX_STDOUT_BYTES - 1];
        assert_eq!(
            string_prefix(&short, MAX_STDOUT_BYTES),
            ("a".repeat(MAX_STDOUT_BYTES - 1), false)
        );
        // Exactly the limit is cut too: the agent compares with `<`.
        let (cut, truncated) = string_prefix(&vec![b'a'; MAX_STDOUT_BYTES], MAX_STDOUT_BYTES);
        assert!(truncated);
        assert_eq!(cut.len(), MAX_STDOUT_BYTES);
        assert!(cut.ends_with(TRUNCATED_SUFFIX));
    }

    #[test]
    fn plugin_output_stays_within_2500_bytes() {
        let long = "o".repeat(5000);
        let err = "e".repeat(5000);
        for (out, err) in [
            (&long, &err),
            (&long, &String::new()),
            (&"x".to_owned(), &err),
        ] {
            let text = plugin_output(out, err);
            assert!(text.len() <= MAX_PLUGIN_OUTPUT_BYTES, "{}", text.len());
        }
        assert_eq!(plugin_output("hi\n", ""), "hi\n");
        assert_eq!(
            plugin_output("hi\n", "oops"),
            "hi\n\n----------ERROR-------\noops"
        );
    }

    #[test]
    fn keys_follow_the_agent_layout() {
        let location = OutputLocation {
            bucket: "b".into(),
            prefix: "security/check_result/".into(),
            region: "us-east-1".into(),
        };
        assert_eq!(
            location.key("c-1", "i-0123", SHELL_PLUGIN, "stdout"),
            "security/check_result/c-1/i-0123/awsrunShellScript/0.awsrunShellScript/stdout"
        );
        let bare = OutputLocation {
            prefix: String::new(),
            ..location
        };
        assert_eq!(
            bare.key("c-1", "i-0123", SHELL_PLUGIN, "stderr"),
            "c-1/i-0123/awsrunShellScript/0.awsrunShellScript/stderr"
        );
    }
}
