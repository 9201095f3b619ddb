use serde_json::{Value, json};

use super::{rule_names, security_rules};
use crate::alerts::pattern::{DEFAULT_QUOTA_CHARS, Pattern};
use crate::alerts::{envelope, transform};

const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:gangway-security-alerts";

fn record(source: &str, name: &str, request: Value, response: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "userName": "alice"
        },
        "eventTime": "2026-12-07T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2",
        "requestParameters": request,
        "responseElements": response,
        "eventID": "0c9b2f7e-1111-4a6a-9d3c-000000000001",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
}

/// The rules that match an event, with the message each delivers.
fn deliveries(event: &Value) -> Vec<(String, String)> {
    security_rules(TOPIC)
        .into_iter()
        .filter(|rule| {
            Pattern::parse(&rule.event_pattern)
                .map(|p| p.matches(event))
                .unwrap_or(false)
        })
        .map(|rule| {
            let t = rule.targets[0]
                .input_transformer
                .clone()
                .unwrap_or_else(|| panic!("{} has no transformer", rule.name));
            (rule.name, transform::apply(&t, event).unwrap_or_default())
        })
        .collect()
}

#[test]
fn every_rule_is_valid_and_within_the_default_quota() {
    let rules = security_rules(TOPIC);
    assert_eq!(
        rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        rule_names()
    );
    for rule in &rules {
        assert!(Pattern::parse(&rule.event_pattern).is_ok(), "{}", rule.name);
        assert!(rule.event_pattern.len() <= DEFAULT_QUOTA_CHARS);
        assert_eq!(rule.state, "ENABLED");
        assert_eq!(rule.targets.len(), 1);
        assert_eq!(rule.targets[0].arn, TOPIC);
    }
    // Shaped like put-rule and put-targets input.
    let json = serde_json::to_value(&rules[0]).unwrap_or_default();
    for key in ["Name", "Description", "EventPattern", "State", "Targets"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    let target = &json["Targets"][0];
    assert!(target["Id"].is_string() && target["Arn"].is_string());
    assert!(target["InputTransformer"]["InputPathsMap"].is_object());
    assert!(target["InputTransformer"]["InputTemplate"].is_string());
}

#[test]
fn a_start_session_mails_one_short_line() {
    let event = envelope(&record(
        "ssm.amazonaws.com",
        "StartSession",
        json!({"target": "i-0123456789abcdef0"}),
        json!({"sessionId": "alice-0a1b2c3d4e5f67890", "tokenValue": "Value hidden due to security reasons.", "streamUrl": "wss://x"}),
    ))
    .unwrap_or_default();
    assert_eq!(
        deliveries(&event),
        [(
            "gangway-ssm-start-session".to_owned(),
            "\"gangway alert: StartSession in account 111122223333 by arn:aws:iam::111122223333:user/alice in eu-west-1 from 203.0.113.7: session alice-0a1b2c3d4e5f67890 on i-0123456789abcdef0 (gangway-ssm-start-session)\"".to_owned()
        )]
    );
}

#[test]
fn each_call_reaches_its_rule_only() {
    let cases = [
        (
            "ssm.amazonaws.com",
            "ResumeSession",
            json!({"sessionId": "alice-1"}),
            "gangway-ssm-resume-session",
            "session alice-1",
        ),
        (
            "ssm.amazonaws.com",
            "TerminateSession",
            json!({"sessionId": "alice-1"}),
            "gangway-ssm-terminate-session",
            "session alice-1",
        ),
        (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": "sg-0abc"}),
            "gangway-security-group-changes",
            "security group sg-0abc ",
        ),
        (
            "ec2.amazonaws.com",
            "RevokeSecurityGroupEgress",
            json!({"groupId": "sg-0abc"}),
            "gangway-security-group-changes",
            "security group sg-0abc ",
        ),
        (
            "ec2.amazonaws.com",
            "DeleteSecurityGroup",
            json!({"groupId": "sg-0abc"}),
            "gangway-security-group-changes",
            "security group sg-0abc ",
        ),
        (
            "wafv2.amazonaws.com",
            "UpdateWebACL",
            json!({"name": "edge", "id": "1234"}),
            "gangway-waf-changes",
            "web ACL or IP set edge 1234",
        ),
        (
            "waf-regional.amazonaws.com",
            "UpdateIPSet",
            json!({"iPSetId": "ipset-1"}),
            "gangway-waf-changes",
            "web ACL or IP set  ipset-1",
        ),
        (
            "waf.amazonaws.com",
            "CreateWebACL",
            json!({"name": "classic"}),
            "gangway-waf-changes",
            "web ACL or IP set classic ",
        ),
    ];
    for (source, name, request, rule, resource) in cases {
        let event = envelope(&record(source, name, request, Value::Null)).unwrap_or_default();
        let got = deliveries(&event);
        assert_eq!(got.len(), 1, "{name}: {got:?}");
        assert_eq!(got[0].0, rule);
        assert!(
            got[0].1.contains(&format!(": {resource} (")),
            "{name}: {}",
            got[0].1
        );
        assert!(got[0].1.contains(name));
    }
    let created = envelope(&record(
        "ec2.amazonaws.com",
        "CreateSecurityGroup",
        json!({"groupName": "web", "groupDescription": "d"}),
        json!({"_return": true, "groupId": "sg-0new"}),
    ))
    .unwrap_or_default();
    assert!(
        deliveries(&created)[0]
            .1
            .contains("security group sg-0new web (")
    );
    // Calls no rule is about.
    for (source, name) in [
        ("ssm.amazonaws.com", "DescribeSessions"),
        ("ec2.amazonaws.com", "DescribeSecurityGroups"),
        ("s3.amazonaws.com", "UpdateWebACL"),
    ] {
        let event = envelope(&record(source, name, Value::Null, Value::Null)).unwrap_or_default();
        assert!(deliveries(&event).is_empty(), "{name}");
    }
}
