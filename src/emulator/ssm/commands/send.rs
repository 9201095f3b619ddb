//! SendCommand: the checks AWS makes, the instances the request selects, who may run there,
//! and the command handed to its runner.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::model::{
    CommandRecord, DEFAULT_DELIVERY_TIMEOUT, DEFAULT_EXECUTION_TIMEOUT, DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_ERRORS, Detail, Invocation, MAX_COMMENT_CHARS, MAX_DELIVERY_TIMEOUT,
    MAX_EXECUTION_TIMEOUT, MAX_INSTANCE_IDS, MAX_TARGETS, MIN_DELIVERY_TIMEOUT,
    MIN_EXECUTION_TIMEOUT, OutputLocation, POWERSHELL_PLUGIN, Rate, SHELL_PLUGIN,
    SendCommandRequest, TargetSpec,
};
use super::runner::{self, Job, Planned};
use super::{printable, render};
use crate::emulator::authorize::{Ask, arn};
use crate::emulator::fleet::{FleetInstance, PingStatus};
use crate::emulator::ssm::{Call, SsmError};
use crate::emulator::{agent, ids};

/// The commands of one request, joined: bounded so a request cannot make the emulator
/// write an arbitrarily large script per instance.
pub const MAX_SCRIPT_BYTES: usize = 100 * 1024;

/// A command document the emulator can run: its plugin and the platform it is for.
struct CommandDocument {
    plugin: &'static str,
    platform: &'static str,
}

fn command_document(name: &str) -> Result<CommandDocument, SsmError> {
    match name {
        "AWS-RunShellScript" => Ok(CommandDocument {
            plugin: SHELL_PLUGIN,
            platform: "Linux",
        }),
        "AWS-RunPowerShellScript" => Ok(CommandDocument {
            plugin: POWERSHELL_PLUGIN,
            platform: "Windows",
        }),
        other => Err(SsmError::new(
            "InvalidDocument",
            format!("Document with name {} does not exist.", printable(other)),
        )),
    }
}

fn invalid_parameters(message: impl Into<String>) -> SsmError {
    SsmError::new("InvalidParameters", message)
}

/// `commands` (required), `workingDirectory` and `executionTimeout`, as both shell
/// documents declare them; the script and the execution timeout they come to.
fn check_parameters(
    parameters: &BTreeMap<String, Vec<String>>,
) -> Result<(String, Duration), SsmError> {
    const KNOWN: [&str; 3] = ["commands", "workingDirectory", "executionTimeout"];
    if let Some(unknown) = parameters.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid_parameters(format!(
            "Parameter \"{}\" is not defined by the document.",
            printable(unknown)
        )));
    }
    let commands = parameters
        .get("commands")
        .filter(|lines| lines.iter().any(|line| !line.trim().is_empty()))
        .ok_or_else(|| invalid_parameters("The document requires the parameter commands."))?;
    let script = commands.join("\n");
    if script.len() > MAX_SCRIPT_BYTES {
        return Err(invalid_parameters(format!(
            "The commands are {} bytes; the emulator takes at most {MAX_SCRIPT_BYTES}.",
            script.len()
        )));
    }
    let timeout = match parameters.get("executionTimeout").map(Vec::as_slice) {
        None | Some([]) => DEFAULT_EXECUTION_TIMEOUT,
        Some([one]) => execution_timeout(one)?,
        Some(_) => {
            return Err(invalid_parameters(
                "Parameter executionTimeout takes one value.",
            ));
        }
    };
    Ok((script, Duration::from_secs(timeout)))
}

/// The document's allowedPattern takes 1..=172800; the agent then runs anything under 5 s
/// with its default instead (agent: pluginutil.go, func ValidateExecutionTimeout).
fn execution_timeout(text: &str) -> Result<u64, SsmError> {
    let value = text
        .parse::<u64>()
        .ok()
        .filter(|v| (1..=MAX_EXECUTION_TIMEOUT).contains(v) && !text.starts_with('0'))
        .ok_or_else(|| {
            invalid_parameters(format!(
                "Parameter executionTimeout value {} does not match the allowed pattern.",
                printable(text)
            ))
        })?;
    Ok(if value < MIN_EXECUTION_TIMEOUT {
        DEFAULT_EXECUTION_TIMEOUT
    } else {
        value
    })
}

fn validation(field: &str, constraint: &str) -> SsmError {
    SsmError::validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// The rate controls and output location, checked as the service model constrains them.
struct Settings {
    concurrency: Rate,
    errors: Rate,
    delivery_timeout: i64,
    output: Option<OutputLocation>,
}

fn check_settings(request: &SendCommandRequest) -> Result<Settings, SsmError> {
    let concurrency_text = request
        .max_concurrency
        .as_deref()
        .unwrap_or(DEFAULT_MAX_CONCURRENCY);
    let concurrency = Rate::parse(concurrency_text, false).ok_or_else(|| {
        validation("maxConcurrency", "Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
    })?;
    let errors_text = request.max_errors.as_deref().unwrap_or(DEFAULT_MAX_ERRORS);
    let errors = Rate::parse(errors_text, true).ok_or_else(|| {
        validation("maxErrors", "Member must satisfy regular expression pattern: ^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$")
    })?;
    let delivery_timeout = request.timeout_seconds.unwrap_or(DEFAULT_DELIVERY_TIMEOUT);
    if !(MIN_DELIVERY_TIMEOUT..=MAX_DELIVERY_TIMEOUT).contains(&delivery_timeout) {
        return Err(validation(
            "timeoutSeconds",
            "Member must have value between 30 and 2592000",
        ));
    }
    if request
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(validation(
            "comment",
            "Member must have length less than or equal to 100",
        ));
    }
    let output = match request.output_s3_bucket_name.as_deref() {
        None | Some("") => None,
        Some(bucket) => {
            if !is_bucket_name(bucket) {
                return Err(validation(
                    "outputS3BucketName",
                    "Member must be a bucket name of 3 to 63 lower-case letters, digits, dots and hyphens",
                ));
            }
            let prefix = request.output_s3_key_prefix.clone().unwrap_or_default();
            if prefix.chars().count() > 500 || prefix.chars().any(char::is_control) {
                return Err(validation(
                    "outputS3KeyPrefix",
                    "Member must have length less than or equal to 500",
                ));
            }
            Some(OutputLocation {
                bucket: bucket.to_owned(),
                prefix,
                region: request
                    .output_s3_region
                    .clone()
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "us-east-1".to_owned()),
            })
        }
    };
    Ok(Settings {
        concurrency,
        errors,
        delivery_timeout,
        output,
    })
}

/// S3's rules for bucket names: 3–63 of `a-z 0-9 . -`, starting and ending alphanumeric.
fn is_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

/// IAM's answer for `ssm:SendCommand` on one instance (its tags in `ssm:resourceTag/*`; an
/// unknown instance has none, so a tag condition cannot hold), as StartSession asks it.
fn may_send_to(
    call: &Call<'_>,
    id: &str,
    instance: Option<&FleetInstance>,
) -> Result<(), SsmError> {
    let mut ask = Ask::new(
        "ssm:SendCommand",
        arn::instance(&call.caller.account, &call.region, id),
    );
    if let Some(instance) = instance {
        ask = ask.tagged(&instance.tags);
    }
    call.authorize(&ask).map(|_| ())
}

/// The instances named by `InstanceIds` (the parameter or a target key): every one must be
/// a well-formed id, reachable by the caller's scope, and a managed instance.
fn named_instances<'f>(
    call: &Call<'f>,
    wanted: &[String],
) -> Result<Vec<&'f FleetInstance>, SsmError> {
    if wanted.len() > MAX_INSTANCE_IDS {
        return Err(validation(
            "instanceIds",
            "Member must have length less than or equal to 50",
        ));
    }
    if let Some(bad) = wanted.iter().find(|id| !ids::is_ssm_instance_id(id)) {
        return Err(SsmError::new(
            "InvalidInstanceId",
            format!("Instance Id {} is not valid.", printable(bad)),
        ));
    }
    for (index, id) in wanted.iter().enumerate() {
        if wanted[..index].contains(id) {
            return Err(SsmError::new(
                "DuplicateInstanceId",
                format!("Instance Id {id} is given more than once."),
            ));
        }
    }
    let fleet = call.state.fleet();
    // IAM first (as StartSession does): a user learns nothing about instances they may not
    // use. IAM names the first resource it refused.
    for id in wanted {
        may_send_to(call, id, fleet.instance_in(id, call.place()))?;
    }
    let invalid: Vec<&str> = wanted
        .iter()
        .filter(|id| {
            fleet
                .instance_in(id, call.place())
                .is_none_or(|i| i.ping_status.is_none())
        })
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(SsmError::new(
            "InvalidInstanceId",
            format!(
                "Instances [[{}]] not in a valid state for account {}",
                invalid.join(", "),
                call.caller.account
            ),
        ));
    }
    Ok(wanted
        .iter()
        .filter_map(|id| fleet.instance_in(id, call.place()))
        .collect())
}

/// Managed instances matching every target (`tag:KEY` values or `tag-key` keys); the
/// values of one target are alternatives.
fn tagged_instances<'f>(
    call: &Call<'f>,
    targets: &[TargetSpec],
) -> Result<Vec<&'f FleetInstance>, SsmError> {
    for target in targets {
        let known = target.key == "tag-key"
            || target
                .key
                .strip_prefix("tag:")
                .is_some_and(|k| !k.is_empty());
        if !known {
            return Err(SsmError::new(
                "InvalidTarget",
                format!(
                    "Target key {} is not supported by the gangway emulator (use InstanceIds, tag:KEY or tag-key).",
                    printable(&target.key)
                ),
            ));
        }
        if target.values.is_empty() || target.values.len() > 50 {
            return Err(SsmError::new(
                "InvalidTarget",
                format!("Target {} needs 1 to 50 values.", printable(&target.key)),
            ));
        }
    }
    let matches = |instance: &FleetInstance| {
        targets
            .iter()
            .all(|target| match target.key.strip_prefix("tag:") {
                Some(key) => instance
                    .tags
                    .get(key)
                    .is_some_and(|value| target.values.contains(value)),
                None => target
                    .values
                    .iter()
                    .any(|key| instance.tags.contains_key(key)),
            })
    };
    Ok(call
        .state
        .fleet()
        .managed_instances(call.place())
        .filter(|instance| matches(instance))
        .collect())
}

pub fn send_command(call: &Call<'_>, request: SendCommandRequest) -> Result<Value, SsmError> {
    let document = command_document(&request.document_name)?;
    if let Some(version) = request.document_version.as_deref()
        && !matches!(version, "" | "$DEFAULT" | "$LATEST" | "1")
    {
        return Err(SsmError::new(
            "InvalidDocumentVersion",
            format!("Document version {} does not exist.", printable(version)),
        ));
    }
    let (script, execution_timeout) = check_parameters(&request.parameters)?;
    let settings = check_settings(&request)?;
    let caller = call.caller;
    // The document is a resource of SendCommand too (AWS's own documents have no account).
    call.authorize(&Ask::new(
        "ssm:SendCommand",
        arn::document(&call.caller.account, &call.region, &request.document_name),
    ))?;
    let id_target = request.targets.iter().find(|t| t.key == "InstanceIds");
    let instances = match (request.instance_ids.is_empty(), request.targets.is_empty()) {
        (false, false) => {
            return Err(SsmError::validation(
                "InstanceIds and Targets cannot both be given.",
            ));
        }
        (true, true) => {
            return Err(SsmError::validation(
                "Either InstanceIds or Targets must be given.",
            ));
        }
        (false, true) => named_instances(call, &request.instance_ids)?,
        (true, false) if request.targets.len() > MAX_TARGETS => {
            return Err(validation(
                "targets",
                "Member must have length less than or equal to 5",
            ));
        }
        (true, false) => match id_target {
            Some(target) if request.targets.len() == 1 => named_instances(call, &target.values)?,
            Some(_) => {
                return Err(SsmError::new(
                    "InvalidTarget",
                    "An InstanceIds target cannot be combined with other targets.",
                ));
            }
            None => tagged_instances(call, &request.targets)?,
        },
    };
    let now = SystemTime::now();
    let id = uuid::Uuid::new_v4().to_string();
    let mut plan = Vec::new();
    let invocations: Vec<Invocation> = instances
        .iter()
        .map(|instance| {
            let detail = if may_send_to(call, &instance.id, Some(instance)).is_err() {
                Detail::AccessDenied
            } else if instance.platform_type != document.platform
                && !(document.platform == "Linux" && instance.platform_type == "MacOS")
            {
                Detail::InvalidPlatform
            } else if instance.ping_status == Some(PingStatus::Inactive) {
                Detail::Undeliverable
            } else {
                plan.push(Planned {
                    instance_id: instance.id.clone(),
                    host_name: agent::host_name(instance.name(), &instance.id),
                    home: agent::homes_root().join(agent::file_name_safe(&instance.id)),
                    reachable: instance.is_connectable(),
                });
                Detail::Pending
            };
            let mut invocation =
                Invocation::new(instance.id.clone(), instance.computer_name(), detail);
            if detail.is_terminal() {
                invocation.ended = Some(now);
            }
            invocation
        })
        .collect();
    let target_count = invocations.len();
    let record = CommandRecord {
        id: id.clone(),
        account: caller.account.clone(),
        region: call.region.clone(),
        owner: caller.name.clone(),
        requested: now,
        document_name: request.document_name.clone(),
        plugin: document.plugin,
        comment: request.comment.clone().unwrap_or_default(),
        parameters: request.parameters.clone(),
        instance_ids: if request.instance_ids.is_empty() {
            id_target.map(|t| t.values.clone()).unwrap_or_default()
        } else {
            request.instance_ids.clone()
        },
        targets: request.targets.clone(),
        delivery_timeout: Duration::from_secs(settings.delivery_timeout.unsigned_abs()),
        execution_timeout,
        output: settings.output.clone(),
        max_concurrency: request
            .max_concurrency
            .clone()
            .unwrap_or_else(|| DEFAULT_MAX_CONCURRENCY.to_owned()),
        max_errors: request
            .max_errors
            .clone()
            .unwrap_or_else(|| DEFAULT_MAX_ERRORS.to_owned()),
        concurrency_limit: settings.concurrency.of(target_count, true),
        error_limit: settings.errors.of(target_count, false),
        cancelled: false,
        invocations,
    };
    let shown = render::command(&record);
    let job_concurrency = record.concurrency_limit;
    let delivery_timeout = record.delivery_timeout;
    let store = Arc::clone(&call.state.commands);
    let cancel = store.insert(record);
    tracing::info!(
        "command {id} sent by {} to {target_count} instances",
        caller.name
    );
    tokio::spawn(runner::run(Job {
        store,
        command_id: id,
        plan,
        concurrency: job_concurrency,
        delivery_deadline: tokio::time::Instant::now() + delivery_timeout,
        execution_timeout,
        plugin: document.plugin,
        script,
        output: settings.output,
        cancel,
    }));
    Ok(json!({ "Command": shown }))
}
