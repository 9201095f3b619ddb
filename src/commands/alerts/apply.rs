//! `gangway alerts apply`: the rules of `alerts new`, their SNS target and the topic, created
//! or updated through EventBridge and SNS (`aws::alerts`). It reads what exists first and
//! prints the difference rule by rule (new, unchanged, or changed with the fields that
//! differ, old and new), and changes nothing unless `--yes` is given: a rule of the same name
//! that someone else wrote is shown, never overwritten silently. Applying twice changes
//! nothing the second time. Targets other than gangway's own on an existing rule are left
//! alone (PutTargets replaces by `Id`).

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use super::{Outcome, account_of, check_topic_arn, check_topic_name, usage};
use crate::alerts::rules::{self, Rule};
use crate::aws::AwsClient;
use crate::aws::alerts::{AlertRule, AlertTarget};
use crate::cli::AlertsApplyArgs;
use crate::commands::exit;
use crate::text::escape_for_terminal;

pub fn run(args: &AlertsApplyArgs) -> Outcome {
    let topic = if args.topic.starts_with("arn:") {
        check_topic_arn(&args.topic).map_err(usage)?;
        TopicGiven::Arn(args.topic.clone())
    } else {
        check_topic_name(&args.topic).map_err(usage)?;
        TopicGiven::Name(args.topic.clone())
    };
    if args.aws.options().regions.len() > 1 {
        return Err(usage(
            "alerts apply works on one region at a time: give one --region".to_owned(),
        ));
    }
    let runtime = super::super::command_runtime()
        .map_err(|_| ("cannot start the async runtime".to_owned(), exit::OTHER))?;
    runtime.block_on(apply(args, topic))
}

enum TopicGiven {
    Arn(String),
    Name(String),
}

/// What became of one rule.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    New,
    Unchanged,
    /// Each differing field with its old and new value.
    Changed(Vec<(String, String, String)>),
}

/// An AWS error, saying which call failed (its message names the IAM action when access
/// was denied).
fn failed(call: &str, error: &crate::aws::AwsError) -> (String, u8) {
    let mut text = format!("{call}: {}", error.to_line());
    if error.is_credentials_error() {
        text.push_str("\nno AWS call was made");
    }
    (text, exit::for_aws(error))
}

async fn apply(args: &AlertsApplyArgs, given: TopicGiven) -> Outcome {
    let clients = AwsClient::from_options(&args.aws.options())
        .await
        .map_err(|e| failed("AWS configuration", &e))?;
    let Some(client) = clients.first() else {
        return Err(usage("no region".to_owned()));
    };
    let (mut topic_arn, name_to_create) = match given {
        TopicGiven::Arn(arn) => (arn, None),
        TopicGiven::Name(name) => {
            let caller = client
                .caller_arn()
                .await
                .map_err(|e| failed("GetCallerIdentity", &e))?;
            let account = account_of(&caller).ok_or_else(|| {
                (
                    format!("GetCallerIdentity answered an ARN without an account: {caller}"),
                    exit::OTHER,
                )
            })?;
            (
                format!("arn:aws:sns:{}:{account}:{name}", client.region()),
                Some(name),
            )
        }
    };

    let mut desired: Vec<AlertRule> = rules::security_rules(&topic_arn)
        .iter()
        .map(to_aws)
        .collect();
    let mut changes = Vec::new();
    for rule in &desired {
        let existing = client
            .alert_rule(&rule.name)
            .await
            .map_err(|e| failed(&format!("DescribeRule {}", rule.name), &e))?;
        changes.push(compare(rule, existing.as_ref()));
    }
    let topic_attributes = client
        .topic_attributes(&topic_arn)
        .await
        .map_err(|e| failed("GetTopicAttributes", &e))?;
    let topic_exists = topic_attributes.is_some();
    if !topic_exists && name_to_create.is_none() {
        return Err((
            format!(
                "the topic {} does not exist: give its name (--topic NAME) to have it created",
                escape_for_terminal(&topic_arn)
            ),
            exit::NOT_FOUND,
        ));
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "topic {}: {}",
        escape_for_terminal(&topic_arn),
        if topic_exists { "exists" } else { "new" }
    );
    // SNS refuses EventBridge's deliveries unless the topic's policy lets the service publish;
    // a topic gangway creates gets that statement, an existing one without it gets it added.
    let policy_fix = topic_attributes.as_ref().and_then(|attributes| {
        let current = attributes.get("Policy").map(String::as_str);
        (!current.is_some_and(|policy| lets_eventbridge_publish(policy, &topic_arn)))
            .then(|| with_eventbridge(current, &topic_arn))
    });
    if policy_fix.is_some() {
        let _ = writeln!(
            out,
            "topic policy: changed: it does not let {EVENTS_PRINCIPAL} publish (sns:Publish), so \
             EventBridge's deliveries to the topic fail; the statement {EVENTS_SID} will be added"
        );
    }
    for (rule, change) in desired.iter().zip(&changes) {
        describe(&mut out, &rule.name, change);
    }
    let new = changes.iter().filter(|c| **c == Change::New).count();
    let changed = changes
        .iter()
        .filter(|c| matches!(c, Change::Changed(_)))
        .count();
    let nothing = new == 0 && changed == 0 && topic_exists && policy_fix.is_none();
    if nothing {
        let _ = writeln!(
            out,
            "nothing to change: the topic and the {} rules are as generated",
            desired.len()
        );
        return Ok((out, exit::OK));
    }
    let plan = format!(
        "{}{}{new} rule(s) to create, {changed} to update",
        if topic_exists { "" } else { "1 topic, " },
        if policy_fix.is_some() {
            "the topic's policy, "
        } else {
            ""
        }
    );
    if !args.yes {
        let _ = writeln!(
            out,
            "dry run: {plan}; nothing was changed (run again with --yes to apply)"
        );
        return Ok((out, exit::OK));
    }
    // The differences are on the screen before anything changes, whatever happens next.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if let Some(name) = name_to_create.as_deref().filter(|_| !topic_exists) {
        let attributes = [("Policy".to_owned(), topic_policy(&topic_arn))].into();
        let created = client
            .create_topic(name, &attributes)
            .await
            .map_err(|e| failed("CreateTopic", &e))?;
        if created != topic_arn {
            // SNS's answer is the truth: point the targets at it.
            topic_arn = created;
            desired = rules::security_rules(&topic_arn)
                .iter()
                .map(to_aws)
                .collect();
        }
    }
    if let Some(policy) = &policy_fix {
        client
            .set_topic_attribute(&topic_arn, "Policy", policy)
            .await
            .map_err(|e| failed("SetTopicAttributes", &e))?;
    }
    for (rule, change) in desired.iter().zip(&changes) {
        if *change == Change::Unchanged {
            continue;
        }
        client
            .put_alert_rule(rule)
            .await
            .map_err(|e| failed(&format!("PutRule/PutTargets {}", rule.name), &e))?;
    }
    Ok((
        format!(
            "applied: {}{}{new} rule(s) created, {changed} updated\n",
            if topic_exists { "" } else { "topic created, " },
            if policy_fix.is_some() {
                "topic policy updated, "
            } else {
                ""
            }
        ),
        exit::OK,
    ))
}

/// The service EventBridge publishes to SNS as.
const EVENTS_PRINCIPAL: &str = "events.amazonaws.com";

/// The Sid of the statement that lets EventBridge publish.
const EVENTS_SID: &str = "AllowEventBridgeToPublish";

/// That statement, for the topic `arn`.
fn eventbridge_statement(arn: &str) -> Value {
    serde_json::json!({
        "Sid": EVENTS_SID,
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": "sns:Publish",
        "Resource": arn,
    })
}

/// Whether a topic policy has an Allow statement for EventBridge's service principal (or
/// everyone, unconditionally) with `sns:Publish` (or a wildcard covering it) on the topic (or `*`). Its
/// conditions are not judged: a statement limited to some rules counts as allowing, since
/// gangway cannot know which rules the author meant.
pub fn lets_eventbridge_publish(policy: &str, arn: &str) -> bool {
    let Ok(Value::Object(document)) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let list = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match document.get("Statement") {
        Some(Value::Array(many)) => many.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return false,
    };
    statements.iter().any(|statement| {
        let principal = statement.get("Principal");
        // Everyone covers the service only without conditions: SNS's default policy is for
        // everyone whose `AWS:SourceOwner` is the account, which EventBridge is not.
        let everyone = principal.and_then(Value::as_str) == Some("*")
            || list(principal.and_then(|p| p.get("AWS")))
                .iter()
                .any(|s| s == "*");
        let for_events = list(principal.and_then(|p| p.get("Service")))
            .iter()
            .any(|s| s == EVENTS_PRINCIPAL)
            || (everyone && statement.get("Condition").is_none());
        let publish = list(statement.get("Action")).iter().any(|action| {
            let action = action.to_ascii_lowercase();
            action == "sns:publish" || action == "sns:*" || action == "*"
        });
        let on_topic = list(statement.get("Resource")).iter().any(|resource| {
            resource == arn
                || resource
                    .strip_suffix('*')
                    .is_some_and(|prefix| arn.starts_with(prefix))
        });
        statement.get("Effect").and_then(Value::as_str) == Some("Allow")
            && for_events
            && publish
            && on_topic
    })
}

/// `current` (the topic's policy, if it has one gangway can read) with the EventBridge
/// statement added; gangway's own policy when there is nothing to add to.
fn with_eventbridge(current: Option<&str>, arn: &str) -> String {
    let parsed = current.and_then(|text| serde_json::from_str::<Value>(text).ok());
    let Some(Value::Object(mut document)) = parsed else {
        return topic_policy(arn);
    };
    let statements = match document.remove("Statement") {
        Some(Value::Array(many)) => many,
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut statements: Vec<Value> = statements
        .into_iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(EVENTS_SID))
        .collect();
    statements.push(eventbridge_statement(arn));
    document.insert("Statement".to_owned(), Value::Array(statements));
    Value::Object(document).to_string()
}

/// The policy of a topic gangway creates: the account manages and uses it (what SNS's default
/// policy allows), and EventBridge may publish to it.
fn topic_policy(arn: &str) -> String {
    let account = arn.split(':').nth(4).unwrap_or_default();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManagesTheTopic",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": [
                    "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
                    "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic", "sns:Publish"
                ],
                "Resource": arn,
            },
            eventbridge_statement(arn),
        ]
    })
    .to_string()
}

fn to_aws(rule: &Rule) -> AlertRule {
    AlertRule {
        name: rule.name.clone(),
        description: Some(rule.description.clone()),
        event_pattern: Some(rule.event_pattern.clone()),
        state: rule.state.clone(),
        targets: rule
            .targets
            .iter()
            .map(|target| AlertTarget {
                id: target.id.clone(),
                arn: target.arn.clone(),
                input: None,
                input_path: None,
                input_transformer: target
                    .input_transformer
                    .as_ref()
                    .map(|t| (t.input_paths_map.clone(), t.input_template.clone())),
            })
            .collect(),
    }
}

/// How `existing` differs from `wanted`: the rule's fields, and gangway's own target.
pub fn compare(wanted: &AlertRule, existing: Option<&AlertRule>) -> Change {
    let Some(existing) = existing else {
        return Change::New;
    };
    let mut fields = Vec::new();
    fn differ(fields: &mut Vec<(String, String, String)>, name: &str, old: String, new: String) {
        if old != new {
            fields.push((name.to_owned(), old, new));
        }
    }
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    differ(
        &mut fields,
        "Description",
        text(&existing.description),
        text(&wanted.description),
    );
    // Patterns are compared as JSON: EventBridge returns one as it was given.
    let same_pattern = match (&existing.event_pattern, &wanted.event_pattern) {
        (Some(old), Some(new)) => {
            match (
                serde_json::from_str::<Value>(old),
                serde_json::from_str::<Value>(new),
            ) {
                (Ok(old), Ok(new)) => old == new,
                _ => old == new,
            }
        }
        (old, new) => old == new,
    };
    if !same_pattern {
        fields.push((
            "EventPattern".to_owned(),
            text(&existing.event_pattern),
            text(&wanted.event_pattern),
        ));
    }
    differ(
        &mut fields,
        "State",
        existing.state.clone(),
        wanted.state.clone(),
    );
    for target in &wanted.targets {
        let label = format!("Targets[{}]", target.id);
        match existing.targets.iter().find(|t| t.id == target.id) {
            None => fields.push((label, "(none)".to_owned(), target.arn.clone())),
            Some(old) => {
                differ(
                    &mut fields,
                    &format!("{label}.Arn"),
                    old.arn.clone(),
                    target.arn.clone(),
                );
                differ(
                    &mut fields,
                    &format!("{label}.Input"),
                    text(&old.input),
                    text(&target.input),
                );
                differ(
                    &mut fields,
                    &format!("{label}.InputPath"),
                    text(&old.input_path),
                    text(&target.input_path),
                );
                let transformer =
                    |t: &Option<(std::collections::BTreeMap<String, String>, String)>| {
                        t.as_ref().map_or_else(String::new, |(paths, template)| {
                            serde_json::json!({"InputPathsMap": paths, "InputTemplate": template})
                                .to_string()
                        })
                    };
                differ(
                    &mut fields,
                    &format!("{label}.InputTransformer"),
                    transformer(&old.input_transformer),
                    transformer(&target.input_transformer),
                );
            }
        }
    }
    if fields.is_empty() {
        Change::Unchanged
    } else {
        Change::Changed(fields)
    }
}

fn describe(out: &mut String, name: &str, change: &Change) {
    match change {
        Change::New => {
            let _ = writeln!(out, "rule {name}: new");
        }
        Change::Unchanged => {
            let _ = writeln!(out, "rule {name}: unchanged");
        }
        Change::Changed(fields) => {
            let names: Vec<&str> = fields.iter().map(|(field, _, _)| field.as_str()).collect();
            let _ = writeln!(out, "rule {name}: changed ({})", names.join(", "));
            for (field, old, new) in fields {
                let _ = writeln!(out, "  {field}");
                // What AWS holds may have been written by anyone: escaped for the terminal.
                let _ = writeln!(out, "    - {}", escape_for_terminal(old));
                let _ = writeln!(out, "    + {}", escape_for_terminal(new));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::alerts::rules::TARGET_ID;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:t";

    #[test]
    fn an_existing_policy_gets_the_eventbridge_statement_and_keeps_the_rest() {
        // SNS's default policy (what a topic created without one has) does not allow it.
        let default = r#"{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Publish"],"Resource":"arn:aws:sns:us-east-1:123456789012:t","Condition":{"StringEquals":{"AWS:SourceOwner":"123456789012"}}}]}"#;
        assert!(!lets_eventbridge_publish(default, TOPIC));
        let everyone = default.replace(
            r#","Condition":{"StringEquals":{"AWS:SourceOwner":"123456789012"}}"#,
            "",
        );
        assert!(lets_eventbridge_publish(&everyone, TOPIC));
        let fixed = with_eventbridge(Some(default), TOPIC);
        assert!(lets_eventbridge_publish(&fixed, TOPIC));
        let value: Value = serde_json::from_str(&fixed).unwrap();
        assert_eq!(value["Id"], "__default_policy_ID");
        assert_eq!(value["Statement"].as_array().unwrap().len(), 2);
        // Applying twice adds it once.
        let again: Value = serde_json::from_str(&with_eventbridge(Some(&fixed), TOPIC)).unwrap();
        assert_eq!(again["Statement"].as_array().unwrap().len(), 2);
        // No policy, or one that is not JSON: gangway's own.
        assert_eq!(with_eventbridge(None, TOPIC), topic_policy(TOPIC));
        assert!(lets_eventbridge_publish(
            &with_eventbridge(Some("{"), TOPIC),
            TOPIC
        ));
        // A statement for another topic, or a Deny, does not count.
        let other_topic = topic_policy("arn:aws:sns:us-east-1:123456789012:u");
        assert!(!lets_eventbridge_publish(&other_topic, TOPIC));
        let deny = topic_policy(TOPIC).replace("\"Allow\"", "\"Deny\"");
        assert!(!lets_eventbridge_publish(&deny, TOPIC));
    }

    fn generated() -> AlertRule {
        to_aws(&rules::security_rules("arn:aws:sns:us-east-1:123456789012:t")[0])
    }

    #[test]
    fn the_same_rule_is_unchanged_whatever_the_pattern_s_key_order() {
        let wanted = generated();
        let mut existing = wanted.clone();
        let value: Value = serde_json::from_str(wanted.event_pattern.as_deref().unwrap()).unwrap();
        // serde_json sorts keys: the same pattern, written differently.
        existing.event_pattern = Some(value.to_string());
        assert_ne!(existing.event_pattern, wanted.event_pattern);
        assert_eq!(compare(&wanted, Some(&existing)), Change::Unchanged);
        assert_eq!(compare(&wanted, None), Change::New);
    }

    #[test]
    fn differences_name_each_field_with_old_and_new() {
        let wanted = generated();
        let mut existing = wanted.clone();
        existing.state = "DISABLED".to_owned();
        existing.event_pattern = Some(r#"{"source":["aws.ec2"]}"#.to_owned());
        existing.targets[0].arn = "arn:aws:sns:us-east-1:123456789012:other".to_owned();
        let Change::Changed(fields) = compare(&wanted, Some(&existing)) else {
            panic!("a changed rule");
        };
        let names: Vec<&str> = fields.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "EventPattern",
                "State",
                &format!("Targets[{TARGET_ID}].Arn")
            ]
        );
        assert_eq!(fields[1].1, "DISABLED");
        assert_eq!(fields[1].2, "ENABLED");
        existing.targets.clear();
        let Change::Changed(fields) = compare(&wanted, Some(&existing)) else {
            panic!("a changed rule");
        };
        assert!(
            fields
                .iter()
                .any(|(f, old, _)| f == &format!("Targets[{TARGET_ID}]") && old == "(none)")
        );
    }
}
