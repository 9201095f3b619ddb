//! The rules as infrastructure code: a CloudFormation template (JSON, which CloudFormation
//! reads as it reads YAML) and a Terraform configuration. A topic given by name is created
//! with them, with the topic policy that lets EventBridge publish to it (without one, SNS
//! refuses EventBridge's deliveries); a topic given by ARN is only referred to, its policy
//! being its owner's.

use serde_json::{Value, json};

use super::Topic;
use crate::alerts::rules::Rule;

/// The ARN the rules carry when the topic's account or region is not known (only
/// `alerts test`, whose message does not depend on it).
pub const TOPIC_PLACEHOLDER: &str = "arn:aws:sns:us-east-1:000000000000:gangway-security-alerts";

/// `gangway-ssm-start-session` → `GangwaySsmStartSession` (CloudFormation logical ids are
/// alphanumeric).
fn logical_id(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// `gangway-ssm-start-session` → `gangway_ssm_start_session` (a Terraform resource name).
fn terraform_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The policy statement that lets EventBridge publish to the topic.
fn publish_statement(topic: Value) -> Value {
    json!({
        "Sid": "AllowEventBridgeToPublish",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
    })
}

const TOPIC_ID: &str = "GangwayAlertTopic";

pub fn cloudformation(rules: &[Rule], topic: &Topic) -> Value {
    let mut resources = serde_json::Map::new();
    let topic_ref = match topic {
        Topic::Arn(arn) => json!(arn),
        Topic::Named { name, .. } => {
            resources.insert(
                TOPIC_ID.to_owned(),
                json!({"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}),
            );
            resources.insert(
                "GangwayAlertTopicPolicy".to_owned(),
                json!({
                    "Type": "AWS::SNS::TopicPolicy",
                    "Properties": {
                        "Topics": [{"Ref": TOPIC_ID}],
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [publish_statement(json!({"Ref": TOPIC_ID}))],
                        }
                    }
                }),
            );
            // Ref of an AWS::SNS::Topic is its ARN.
            json!({"Ref": TOPIC_ID})
        }
    };
    for rule in rules {
        let pattern: Value = serde_json::from_str(&rule.event_pattern).unwrap_or(Value::Null);
        let targets: Vec<Value> = rule
            .targets
            .iter()
            .map(|target| {
                let mut out = json!({"Id": target.id, "Arn": topic_ref});
                if let Some(transformer) = &target.input_transformer {
                    out["InputTransformer"] = json!({
                        "InputPathsMap": transformer.input_paths_map,
                        "InputTemplate": transformer.input_template,
                    });
                }
                out
            })
            .collect();
        resources.insert(
            logical_id(&rule.name),
            json!({
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": rule.name,
                    "Description": rule.description,
                    "EventPattern": pattern,
                    "State": rule.state,
                    "Targets": targets,
                }
            }),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Security alerts on Session Manager sessions, security-group and WAF changes (gangway alerts new)",
        "Resources": resources,
    })
}

/// A string literal Terraform reads back as `text`: JSON's escapes are HCL's, and `${` and
/// `%{`, which Terraform would interpolate, are written `$${` and `%%{`.
fn hcl_string(text: &str) -> String {
    Value::String(text.to_owned())
        .to_string()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

pub fn terraform(rules: &[Rule], topic: &Topic) -> String {
    let mut out = String::new();
    let topic_arn = match topic {
        Topic::Arn(arn) => hcl_string(arn),
        Topic::Named { name, .. } => {
            let policy = json!({
                "Version": "2012-10-17",
                "Statement": [publish_statement(json!("TOPIC_ARN"))],
            });
            // The ARN is only known once the topic exists: jsonencode with a reference (JSON
            // is an HCL expression: object elements may use `:`).
            let policy = serde_json::to_string_pretty(&policy)
                .unwrap_or_default()
                .replace("\"TOPIC_ARN\"", "aws_sns_topic.gangway_alerts.arn");
            out.push_str(&format!(
                "resource \"aws_sns_topic\" \"gangway_alerts\" {{\n  name = {}\n}}\n\nresource \"aws_sns_topic_policy\" \"gangway_alerts\" {{\n  arn    = aws_sns_topic.gangway_alerts.arn\n  policy = jsonencode({})\n}}\n",
                hcl_string(name),
                indent(&policy, "  "),
            ));
            "aws_sns_topic.gangway_alerts.arn".to_owned()
        }
    };
    for rule in rules {
        let name = terraform_name(&rule.name);
        out.push_str(&format!(
            "\nresource \"aws_cloudwatch_event_rule\" \"{name}\" {{\n  name          = {}\n  description   = {}\n  event_pattern = {}\n  state         = {}\n}}\n",
            hcl_string(&rule.name),
            hcl_string(&rule.description),
            hcl_string(&rule.event_pattern),
            hcl_string(&rule.state),
        ));
        for target in &rule.targets {
            out.push_str(&format!(
                "\nresource \"aws_cloudwatch_event_target\" \"{name}\" {{\n  rule      = aws_cloudwatch_event_rule.{name}.name\n  target_id = {}\n  arn       = {topic_arn}\n",
                hcl_string(&target.id),
            ));
            if let Some(transformer) = &target.input_transformer {
                out.push_str("\n  input_transformer {\n    input_paths = {\n");
                for (variable, path) in &transformer.input_paths_map {
                    out.push_str(&format!(
                        "      {} = {}\n",
                        hcl_string(variable),
                        hcl_string(path)
                    ));
                }
                out.push_str(&format!(
                    "    }}\n    input_template = {}\n  }}\n",
                    hcl_string(&transformer.input_template)
                ));
            }
            out.push_str("}\n");
        }
    }
    out
}

/// Every line but the first indented by `by`.
fn indent(text: &str, by: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(at, line)| {
            if at == 0 {
                line.to_owned()
            } else {
                format!("{by}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_cloudformation_and_terraform() {
        assert_eq!(
            logical_id("gangway-ssm-start-session"),
            "GangwaySsmStartSession"
        );
        assert_eq!(terraform_name("gangway-waf-changes"), "gangway_waf_changes");
        assert_eq!(hcl_string("a\"${b}%{c}"), r#""a\"$${b}%%{c}""#);
    }
}
