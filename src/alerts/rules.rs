//! The EventBridge rules a security team writes by hand when Session Manager replaces a
//! bastion (issue 15): a mail on every session started, resumed or terminated, on every
//! security-group change and on every WAF change, each matched on CloudTrail's
//! "AWS API Call via CloudTrail" events from the service's `source` and `eventSource`, and
//! each delivered to an SNS topic through an input transformer that writes one short line:
//! the call, the account, who, the region, the source IP and what changed.
//!
//! A [`Rule`] serialises as the input of `aws events put-rule` (`Name`, `Description`,
//! `EventPattern` as a JSON string, `State`) with `Targets` shaped like the input of
//! `aws events put-targets` (`Id`, `Arn`, `InputTransformer`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use super::transform::InputTransformer;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub name: String,
    pub description: String,
    /// The pattern as a JSON string, as PutRule takes it.
    pub event_pattern: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub id: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformer>,
}

/// The `Id` of the SNS target of every generated rule.
pub const TARGET_ID: &str = "gangway-alert-topic";
/// The default topic name of `gangway alerts new`.
pub const DEFAULT_TOPIC: &str = "gangway-security-alerts";

/// One family of alerts: the events it matches and what its message names.
struct Spec {
    name: &'static str,
    description: &'static str,
    sources: &'static [(&'static str, &'static str)],
    event_names: &'static [&'static str],
    /// The end of the message naming the changed resource, and its variables (paths into
    /// the event); a path missing from a given call leaves nothing, so variables that
    /// stand for the same thing in different calls sit side by side.
    resource: (&'static str, &'static [(&'static str, &'static str)]),
}

/// `source` and `eventSource` pairs.
const SSM: &[(&str, &str)] = &[("aws.ssm", "ssm.amazonaws.com")];
const EC2: &[(&str, &str)] = &[("aws.ec2", "ec2.amazonaws.com")];
/// AWS WAF Classic (global), AWS WAF Classic Regional and AWS WAF (v2).
const WAF: &[(&str, &str)] = &[
    ("aws.waf", "waf.amazonaws.com"),
    ("aws.waf-regional", "waf-regional.amazonaws.com"),
    ("aws.wafv2", "wafv2.amazonaws.com"),
];

/// StartSession's record names the instance in `requestParameters.target` and the new
/// session in `responseElements.sessionId`; ResumeSession and TerminateSession name the
/// session in `requestParameters.sessionId`.
const SPECS: &[Spec] = &[
    Spec {
        name: "gangway-ssm-start-session",
        description: "Session Manager: a session was started (gangway alerts)",
        sources: SSM,
        event_names: &["StartSession"],
        resource: (
            "session <sessionId> on <target>",
            &[
                ("sessionId", "$.detail.responseElements.sessionId"),
                ("target", "$.detail.requestParameters.target"),
            ],
        ),
    },
    Spec {
        name: "gangway-ssm-resume-session",
        description: "Session Manager: a session was resumed (gangway alerts)",
        sources: SSM,
        event_names: &["ResumeSession"],
        resource: (
            "session <sessionId>",
            &[("sessionId", "$.detail.requestParameters.sessionId")],
        ),
    },
    Spec {
        name: "gangway-ssm-terminate-session",
        description: "Session Manager: a session was terminated (gangway alerts)",
        sources: SSM,
        event_names: &["TerminateSession"],
        resource: (
            "session <sessionId>",
            &[("sessionId", "$.detail.requestParameters.sessionId")],
        ),
    },
    // Changes name the group by id (`groupId`), CreateSecurityGroup by name, its new id in
    // the response.
    Spec {
        name: "gangway-security-group-changes",
        description: "EC2: a security group or its rules changed (gangway alerts)",
        sources: EC2,
        event_names: &[
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupEgress",
        ],
        resource: (
            "security group <groupId><createdGroupId> <groupName>",
            &[
                ("groupId", "$.detail.requestParameters.groupId"),
                ("createdGroupId", "$.detail.responseElements.groupId"),
                ("groupName", "$.detail.requestParameters.groupName"),
            ],
        ),
    },
    // WAF v2 names the web ACL or IP set in `name` (and `id`); WAF Classic names it on
    // creation and by id afterwards (`webACLId`, `iPSetId`: CloudTrail's lower-camel form of
    // WebACLId and IPSetId).
    Spec {
        name: "gangway-waf-changes",
        description: "WAF: a web ACL or IP set changed (gangway alerts)",
        sources: WAF,
        event_names: &[
            "UpdateWebACL",
            "CreateWebACL",
            "DeleteWebACL",
            "UpdateIPSet",
        ],
        resource: (
            "web ACL or IP set <name> <id><webAclId><ipSetId>",
            &[
                ("name", "$.detail.requestParameters.name"),
                ("id", "$.detail.requestParameters.id"),
                ("webAclId", "$.detail.requestParameters.webACLId"),
                ("ipSetId", "$.detail.requestParameters.iPSetId"),
            ],
        ),
    },
];

/// The variables every message has.
const COMMON: &[(&str, &str)] = &[
    ("eventName", "$.detail.eventName"),
    ("account", "$.account"),
    ("user", "$.detail.userIdentity.arn"),
    ("region", "$.detail.awsRegion"),
    ("sourceIp", "$.detail.sourceIPAddress"),
];

/// The names of the generated rules, in order.
pub fn rule_names() -> Vec<&'static str> {
    SPECS.iter().map(|spec| spec.name).collect()
}

/// The security team's rules, each delivering to `topic_arn`.
pub fn security_rules(topic_arn: &str) -> Vec<Rule> {
    SPECS.iter().map(|spec| rule(spec, topic_arn)).collect()
}

fn rule(spec: &Spec, topic_arn: &str) -> Rule {
    let sources: Vec<&str> = spec.sources.iter().map(|(source, _)| *source).collect();
    let event_sources: Vec<&str> = spec.sources.iter().map(|(_, es)| *es).collect();
    // Written by hand rather than through a map so the keys keep the order people read
    // them in (serde_json's map sorts them).
    let pattern = format!(
        "{{\"source\":{},\"detail-type\":[\"AWS API Call via CloudTrail\"],\"detail\":{{\"eventSource\":{},\"eventName\":{}}}}}",
        json!(sources),
        json!(event_sources),
        json!(spec.event_names),
    );
    let (resource, names) = spec.resource;
    let paths: BTreeMap<String, String> = COMMON
        .iter()
        .chain(names.iter())
        .map(|(name, path)| ((*name).to_owned(), (*path).to_owned()))
        .collect();
    // A quoted string template: SNS mails it as one line.
    let template = format!(
        "\"gangway alert: <eventName> in account <account> by <user> in <region> from <sourceIp>: {resource} ({})\"",
        spec.name
    );
    Rule {
        name: spec.name.to_owned(),
        description: spec.description.to_owned(),
        event_pattern: pattern,
        state: "ENABLED".to_owned(),
        targets: vec![Target {
            id: TARGET_ID.to_owned(),
            arn: topic_arn.to_owned(),
            input_transformer: Some(InputTransformer {
                input_paths_map: paths,
                input_template: template,
            }),
        }],
    }
}

/// The rules as the JSON array `gangway alerts new` prints.
pub fn to_json(rules: &[Rule]) -> Value {
    serde_json::to_value(rules).unwrap_or(Value::Null)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
