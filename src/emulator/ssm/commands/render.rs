//! Commands and invocations as the SSM API shapes them (Command, CommandInvocation,
//! CommandPlugin, GetCommandInvocation's output).

use std::time::SystemTime;

use serde_json::{Value, json};

use super::model::{CommandRecord, Invocation, OutputLocation, plugin_output, step_id};
use crate::emulator::ssm::epoch_seconds;

fn notification_config() -> Value {
    json!({ "NotificationArn": "", "NotificationEvents": [], "NotificationType": "" })
}

fn cloudwatch_config() -> Value {
    json!({ "CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false })
}

fn targets(record: &CommandRecord) -> Value {
    record
        .targets
        .iter()
        .map(|t| json!({ "Key": t.key, "Values": t.values }))
        .collect()
}

pub fn command(record: &CommandRecord) -> Value {
    let summary = record.summary();
    let (bucket, prefix, region) = match &record.output {
        Some(location) => (
            location.bucket.as_str(),
            location.prefix.as_str(),
            location.region.as_str(),
        ),
        None => ("", "", "us-east-1"),
    };
    json!({
        "CommandId": record.id,
        "DocumentName": record.document_name,
        "DocumentVersion": "$DEFAULT",
        "Comment": record.comment,
        "ExpiresAfter": epoch_seconds(record.expires_after()),
        "Parameters": record.parameters,
        "InstanceIds": record.instance_ids,
        "Targets": targets(record),
        "RequestedDateTime": epoch_seconds(record.requested),
        "Status": summary.status,
        "StatusDetails": summary.detail,
        "OutputS3Region": region,
        "OutputS3BucketName": bucket,
        "OutputS3KeyPrefix": prefix,
        "MaxConcurrency": record.max_concurrency,
        "MaxErrors": record.max_errors,
        "TargetCount": summary.target_count,
        "CompletedCount": summary.completed_count,
        "ErrorCount": summary.error_count,
        "DeliveryTimedOutCount": summary.delivery_timed_out_count,
        "ServiceRole": "",
        "NotificationConfig": notification_config(),
        "CloudWatchOutputConfig": cloudwatch_config(),
        "TimeoutSeconds": record.delivery_timeout.as_secs(),
        "TriggeredAlarms": [],
    })
}

/// The S3 URLs of an invocation's two streams (empty without an output location).
fn urls(record: &CommandRecord, invocation: &Invocation) -> (String, String) {
    match &record.output {
        Some(location) => {
            let url = |stream| {
                location.url(&location.key(
                    &record.id,
                    &invocation.instance_id,
                    record.plugin,
                    stream,
                ))
            };
            (url("stdout"), url("stderr"))
        }
        None => (String::new(), String::new()),
    }
}

pub fn invocation(record: &CommandRecord, invocation: &Invocation, details: bool) -> Value {
    let (stdout_url, stderr_url) = urls(record, invocation);
    let plugins: Vec<Value> = if details {
        vec![plugin(record, invocation, &stdout_url, &stderr_url)]
    } else {
        Vec::new()
    };
    json!({
        "CommandId": record.id,
        "InstanceId": invocation.instance_id,
        "InstanceName": invocation.instance_name,
        "Comment": record.comment,
        "DocumentName": record.document_name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": epoch_seconds(record.requested),
        "Status": invocation.detail.status(),
        "StatusDetails": invocation.detail.as_str(),
        "TraceOutput": "",
        "StandardOutputUrl": stdout_url,
        "StandardErrorUrl": stderr_url,
        "CommandPlugins": plugins,
        "ServiceRole": "",
        "NotificationConfig": notification_config(),
        "CloudWatchOutputConfig": cloudwatch_config(),
    })
}

fn plugin(
    record: &CommandRecord,
    invocation: &Invocation,
    stdout_url: &str,
    stderr_url: &str,
) -> Value {
    let (bucket, prefix, region) = match &record.output {
        Some(OutputLocation { bucket, region, .. }) => (
            bucket.as_str(),
            record
                .output
                .as_ref()
                .map(|l| l.plugin_prefix(&record.id, &invocation.instance_id, record.plugin))
                .unwrap_or_default(),
            region.as_str(),
        ),
        None => ("", String::new(), "us-east-1"),
    };
    let mut value = json!({
        "Name": record.plugin,
        "Status": invocation.detail.status(),
        "StatusDetails": invocation.detail.as_str(),
        "ResponseCode": invocation.response_code,
        "Output": plugin_output(&invocation.stdout, &invocation.stderr),
        "StandardOutputUrl": stdout_url,
        "StandardErrorUrl": stderr_url,
        "OutputS3Region": region,
        "OutputS3BucketName": bucket,
        "OutputS3KeyPrefix": prefix,
    });
    if let Some(started) = invocation.started {
        value["ResponseStartDateTime"] = json!(epoch_seconds(started));
    }
    if let Some(ended) = invocation.ended.filter(|_| invocation.started.is_some()) {
        value["ResponseFinishDateTime"] = json!(epoch_seconds(ended));
    }
    value
}

/// GetCommandInvocation: its dates are strings, unlike the list operations' numbers.
pub fn get_invocation(record: &CommandRecord, invocation: &Invocation) -> Value {
    let (stdout_url, stderr_url) = urls(record, invocation);
    let started = invocation.started;
    let ended = invocation.ended.filter(|_| started.is_some());
    let elapsed = match (started, ended) {
        (Some(start), Some(end)) => {
            let elapsed = end.duration_since(start).unwrap_or_default();
            format!("PT{}.{:03}S", elapsed.as_secs(), elapsed.subsec_millis())
        }
        _ => String::new(),
    };
    json!({
        "CommandId": record.id,
        "InstanceId": invocation.instance_id,
        "Comment": record.comment,
        "DocumentName": record.document_name,
        "DocumentVersion": "$DEFAULT",
        "PluginName": step_id(record.plugin),
        "ResponseCode": invocation.response_code,
        "ExecutionStartDateTime": started.map(iso8601).unwrap_or_default(),
        "ExecutionElapsedTime": elapsed,
        "ExecutionEndDateTime": ended.map(iso8601).unwrap_or_default(),
        "Status": invocation.detail.status(),
        "StatusDetails": invocation.detail.as_str(),
        "StandardOutputContent": invocation.stdout,
        "StandardOutputUrl": stdout_url,
        "StandardErrorContent": invocation.stderr,
        "StandardErrorUrl": stderr_url,
        "CloudWatchOutputConfig": cloudwatch_config(),
    })
}

/// `2026-01-02T03:04:05.678Z`, the form GetCommandInvocation's dates take.
fn iso8601(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}
