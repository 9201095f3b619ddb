//! `gangway alerts test RULE EVENT.json`: does EventBridge deliver this CloudTrail event to
//! this rule, and with which message. RULE is a generated rule's name or a file (a rule as
//! put-rule takes it, with or without `Targets`, or a bare event pattern); EVENT.json a
//! CloudTrail record, EventBridge's envelope of one, or one event of `aws cloudtrail
//! lookup-events` (its `CloudTrailEvent`). Exit 0 matched, `NO_MATCH` not, and
//! `USAGE` for input that is not what it should be, each error saying what and where.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::{Outcome, exit, generated, usage};
use crate::alerts::pattern::Pattern;
use crate::alerts::rules::{InputTransformer, rule_names};
use crate::alerts::transform::{self, Delivery};
use crate::alerts::{EventError, parse_event};
use crate::cli::AlertsTestArgs;
use crate::text::escape_for_terminal;

/// EventBridge's limit on an event (256 KB); a CloudTrail record is far smaller.
pub const MAX_EVENT_BYTES: u64 = 256 * 1024;
/// A rule file: a pattern is at most 4096 characters, a rule with its targets a few more.
pub const MAX_RULE_BYTES: u64 = 64 * 1024;

struct TestRule {
    name: String,
    pattern: Pattern,
    transformer: Option<InputTransformer>,
}

pub(super) fn run(args: &AlertsTestArgs) -> Outcome {
    let rule = load_rule(&args.rule).map_err(usage)?;
    let event = load_event(&args.event).map_err(usage)?;
    let name = escape_for_terminal(&rule.name);
    if let Some(mismatch) = rule.pattern.mismatch(&event) {
        let found = mismatch.found.map_or_else(
            || "the event has none".to_owned(),
            |value| {
                format!(
                    "the event has {}",
                    crate::text::fit(&value.to_string(), 120)
                )
            },
        );
        return Ok((
            format!(
                "not matched: {name}\n  at {}: {}\n",
                escape_for_terminal(&mismatch.path),
                escape_for_terminal(&found)
            ),
            exit::NO_MATCH,
        ));
    }
    let mut out = format!("matched: {name}\n");
    match &rule.transformer {
        Some(transformer) => {
            let delivery = Delivery {
                rule_name: Some(&rule.name),
                ..Delivery::default()
            };
            let message = transform::apply_with(transformer, &event, &delivery)
                .map_err(|e| usage(format!("{}: InputTransformer: {e}", args.rule)))?;
            out.push_str(&format!("message: {}\n", escape_for_terminal(&message)));
        }
        None => out.push_str("message: the event itself (the rule has no input transformer)\n"),
    }
    Ok((out, exit::OK))
}

/// Reads at most `limit` bytes of a file (`-`: stdin), refusing a longer one.
fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<String, String> {
    let shown = path.display();
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{shown}: larger than {limit} bytes: not {what}"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8 text: not {what}"))
}

fn parse_json(text: &str, shown: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        let reason = e.to_string();
        let reason = reason
            .rfind(" at line ")
            .map_or(reason.as_str(), |at| &reason[..at]);
        format!(
            "{shown}: not JSON: {reason} (line {}, column {})",
            e.line(),
            e.column()
        )
    })
}

fn load_rule(argument: &str) -> Result<TestRule, String> {
    if let Some(rule) = generated(argument) {
        let pattern = Pattern::parse(&rule.event_pattern)
            .map_err(|e| format!("internal error: {}: {e}", rule.name))?;
        return Ok(TestRule {
            name: rule.name,
            pattern,
            transformer: rule
                .targets
                .into_iter()
                .find_map(|target| target.input_transformer),
        });
    }
    let path = Path::new(argument);
    if !path.is_file() {
        return Err(format!(
            "unknown rule `{argument}`: neither a rule of gangway alerts new ({}) nor a file",
            rule_names().join(", ")
        ));
    }
    let text = read_bounded(path, MAX_RULE_BYTES, "a rule")?;
    let value = parse_json(&text, argument)?;
    let file_name = path
        .file_name()
        .map_or_else(|| argument.to_owned(), |n| n.to_string_lossy().into_owned());
    let Value::Object(fields) = &value else {
        if let Value::Array(items) = &value {
            return Err(format!(
                "{argument}: an array of {} rules: give one rule (or its name: {})",
                items.len(),
                rule_names().join(", ")
            ));
        }
        return Err(format!(
            "{argument}: neither a rule (an object with EventPattern) nor an event pattern (an object)"
        ));
    };
    let Some(pattern) = fields.get("EventPattern") else {
        // A bare pattern.
        let pattern = Pattern::from_value(&value).map_err(|e| format!("{argument}: {e}"))?;
        return Ok(TestRule {
            name: file_name,
            pattern,
            transformer: None,
        });
    };
    let pattern = match pattern {
        // As put-rule takes it: a JSON string.
        Value::String(text) => Pattern::parse(text),
        // As CloudFormation writes it: an object.
        other => Pattern::from_value(other),
    }
    .map_err(|e| format!("{argument}: EventPattern: {e}"))?;
    let name = fields
        .get("Name")
        .and_then(Value::as_str)
        .map_or(file_name, str::to_owned);
    let transformer = match fields.get("Targets") {
        None => None,
        Some(Value::Array(targets)) => {
            let mut found = None;
            for (at, target) in targets.iter().enumerate() {
                if let Some(t) = target.get("InputTransformer") {
                    found = Some(
                        serde_json::from_value::<InputTransformer>(t.clone()).map_err(|e| {
                            format!("{argument}: Targets[{at}].InputTransformer: {e}")
                        })?,
                    );
                    break;
                }
            }
            found
        }
        Some(_) => return Err(format!("{argument}: Targets is not an array")),
    };
    Ok(TestRule {
        name,
        pattern,
        transformer,
    })
}

fn load_event(path: &Path) -> Result<Value, String> {
    let shown = path.display().to_string();
    let text = read_bounded(path, MAX_EVENT_BYTES, "a CloudTrail event")?;
    let value = parse_json(&text, &shown)?;
    if let Some(Value::Array(records)) = value.get("Records") {
        return Err(format!(
            "{shown}: a CloudTrail log file with {} records: give one of its records",
            records.len()
        ));
    }
    if let Some(Value::Array(events)) = value.get("Events") {
        return Err(format!(
            "{shown}: aws cloudtrail lookup-events output with {} events: give one of them",
            events.len()
        ));
    }
    // One event of lookup-events' answer: the record is the JSON in `CloudTrailEvent`.
    let value = match value.get("CloudTrailEvent") {
        Some(Value::String(record)) => parse_json(record, &format!("{shown}: CloudTrailEvent"))?,
        _ => value,
    };
    parse_event(&value).map_err(|e: EventError| format!("{shown}: {e}"))
}
