//! `gangway alerts new` and `gangway alerts test` as a user runs them: the rules in all three
//! outputs (JSON read back as put-rule/put-targets input, CloudFormation parsed as JSON,
//! Terraform checked for its structure and its strings read back), the topic ARN from the
//! caller's identity (STS in the emulator), `alerts test` on CloudTrail records shaped like
//! AWS's and on the emulator's own records, and each kind of bad input with its error.

use std::io::Write;
use std::process::{Output, Stdio};

use aws_sdk_cloudtrail::types::LookupAttributeKey::EventName;
use gangway::alerts::Pattern;
use gangway::emulator::Fleet;
use gangway::emulator::fleet::ACCOUNT_ID;
use serde_json::{Value, json};

use crate::support::aws_clients::{ADMIN, cloudtrail_at, id_of, session_on, ssm};
use crate::support::cli::{aws_env, run_gangway, stderr, stdout, temp_file};
use crate::support::emulator::{gangway, start_fleet};
use crate::support::trail::records;

const NAMES: [&str; 5] = [
    "gangway-ssm-start-session",
    "gangway-ssm-resume-session",
    "gangway-ssm-terminate-session",
    "gangway-security-group-changes",
    "gangway-waf-changes",
];
const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:gangway-security-alerts";

fn json_rules() -> Vec<Value> {
    let out = run_gangway(&[
        "alerts",
        "new",
        "--account",
        "111122223333",
        "--region",
        "eu-west-1",
    ]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn alerts_new_prints_put_rule_and_put_targets_input() {
    let rules = json_rules();
    let names: Vec<&str> = rules.iter().map(|r| r["Name"].as_str().unwrap()).collect();
    assert_eq!(names, NAMES);
    for rule in &rules {
        let keys: Vec<&String> = rule.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["Description", "EventPattern", "Name", "State", "Targets"],
            "{rule}"
        );
        assert_eq!(rule["State"], "ENABLED");
        // EventPattern is a JSON string, as put-rule takes it, and a valid pattern.
        let pattern: Value = serde_json::from_str(rule["EventPattern"].as_str().unwrap()).unwrap();
        assert_eq!(
            pattern["detail-type"],
            json!(["AWS API Call via CloudTrail"])
        );
        assert!(Pattern::parse(rule["EventPattern"].as_str().unwrap()).is_ok());
        let target = &rule["Targets"][0];
        assert_eq!(target["Arn"], TOPIC);
        assert_eq!(target["Id"], "gangway-alert-topic");
        let transformer = &target["InputTransformer"];
        let template = transformer["InputTemplate"].as_str().unwrap();
        for variable in ["eventName", "account", "user", "region", "sourceIp"] {
            assert!(transformer["InputPathsMap"][variable].is_string(), "{rule}");
            assert!(template.contains(&format!("<{variable}>")), "{template}");
        }
    }
    let waf: Value = serde_json::from_str(rules[4]["EventPattern"].as_str().unwrap()).unwrap();
    assert_eq!(
        waf["source"],
        json!(["aws.waf", "aws.waf-regional", "aws.wafv2"])
    );
    assert_eq!(
        waf["detail"]["eventName"],
        json!([
            "UpdateWebACL",
            "CreateWebACL",
            "DeleteWebACL",
            "UpdateIPSet"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_new_takes_the_account_from_the_callers_identity() {
    let emulator = start_fleet(Fleet::demo()).await;
    let out = gangway()
        .args(["alerts", "new"])
        .envs(aws_env(&emulator.endpoint, ADMIN))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rules: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rules[0]["Targets"][0]["Arn"],
        format!("arn:aws:sns:us-east-1:{ACCOUNT_ID}:gangway-security-alerts")
    );
    // A topic ARN is taken as is, and needs no AWS at all.
    let out = run_gangway(&[
        "alerts",
        "new",
        "--topic",
        "arn:aws:sns:ap-south-1:444455556666:secops",
    ]);
    assert!(out.status.success(), "{out:?}");
    let rules: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rules[0]["Targets"][0]["Arn"],
        "arn:aws:sns:ap-south-1:444455556666:secops"
    );
    // Without credentials nor --account, it says what to give.
    let out = run_gangway(&[
        "alerts",
        "new",
        "--region",
        "eu-west-1",
        "--endpoint-url",
        &crate::support::unreachable_endpoint(),
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("give --account ID"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn alerts_new_cloudformation_creates_the_topic_and_the_rules() {
    let out = run_gangway(&["alerts", "new", "--output", "cloudformation"]);
    assert!(out.status.success(), "{out:?}");
    let template: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
    let resources = template["Resources"].as_object().unwrap();
    assert_eq!(resources["GangwayAlertTopic"]["Type"], "AWS::SNS::Topic");
    let policy = &resources["GangwayAlertTopicPolicy"];
    assert_eq!(policy["Type"], "AWS::SNS::TopicPolicy");
    let statement = &policy["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Action"], "sns:Publish");
    let json = json_rules();
    let rules: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Events::Rule")
        .collect();
    assert_eq!(rules.len(), NAMES.len());
    for rule in rules {
        let properties = &rule["Properties"];
        let same = json
            .iter()
            .find(|r| r["Name"] == properties["Name"])
            .unwrap();
        // The same pattern, as an object (CloudFormation's form), and the same message.
        let pattern: Value = serde_json::from_str(same["EventPattern"].as_str().unwrap()).unwrap();
        assert_eq!(properties["EventPattern"], pattern);
        assert!(Pattern::from_value(&properties["EventPattern"]).is_ok());
        let target = &properties["Targets"][0];
        assert_eq!(target["Arn"], json!({"Ref": "GangwayAlertTopic"}));
        assert_eq!(
            target["InputTransformer"],
            same["Targets"][0]["InputTransformer"]
        );
    }
    // An existing topic is referred to, not created.
    let out = run_gangway(&[
        "alerts",
        "new",
        "--output",
        "cloudformation",
        "--topic",
        TOPIC,
    ]);
    let template: Value = serde_json::from_slice(&out.stdout).unwrap();
    let resources = template["Resources"].as_object().unwrap();
    assert_eq!(resources.len(), NAMES.len());
    assert!(
        resources
            .values()
            .all(|r| r["Properties"]["Targets"][0]["Arn"] == TOPIC)
    );
}

/// The string literals of an HCL text, read back (JSON's escapes, `$${` for `${`), and
/// whether its braces and brackets balance outside them.
fn hcl_strings(text: &str) -> (Vec<String>, bool) {
    let mut strings = Vec::new();
    let mut depth: i64 = 0;
    let mut balanced = true;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let mut end = at + 1;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = i;
                        break;
                    }
                }
                let literal = &text[at..=end];
                let decoded: String =
                    serde_json::from_str(literal).unwrap_or_else(|e| panic!("{literal}: {e}"));
                strings.push(decoded.replace("$${", "${").replace("%%{", "%{"));
            }
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                depth -= 1;
                balanced &= depth >= 0;
            }
            _ => {}
        }
    }
    (strings, balanced && depth == 0)
}

#[test]
fn alerts_new_terraform_is_well_formed_and_says_the_same() {
    let out = run_gangway(&["alerts", "new", "--output", "terraform"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let (strings, balanced) = hcl_strings(&text);
    assert!(balanced, "{text}");
    for kind in [
        "resource \"aws_sns_topic\" \"gangway_alerts\" {",
        "resource \"aws_sns_topic_policy\" \"gangway_alerts\" {",
    ] {
        assert_eq!(text.matches(kind).count(), 1, "{kind}");
    }
    assert_eq!(
        text.matches("resource \"aws_cloudwatch_event_rule\"")
            .count(),
        NAMES.len()
    );
    assert_eq!(
        text.matches("resource \"aws_cloudwatch_event_target\"")
            .count(),
        NAMES.len()
    );
    assert_eq!(
        text.matches("arn       = aws_sns_topic.gangway_alerts.arn")
            .count(),
        NAMES.len()
    );
    // Each rule's pattern and template, read back from the HCL strings, are the JSON output's.
    for rule in json_rules() {
        for field in [
            rule["EventPattern"].as_str().unwrap(),
            rule["Targets"][0]["InputTransformer"]["InputTemplate"]
                .as_str()
                .unwrap(),
            rule["Name"].as_str().unwrap(),
        ] {
            assert!(strings.iter().any(|s| s == field), "{field} in {text}");
        }
    }
}

/// A record shaped like the StartSession records in AWS's Session Manager auditing
/// examples: an assumed role, the token hidden, the stream URL kept.
fn start_session_record() -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEROLEID:maria",
            "arn": "arn:aws:sts::111122223333:assumed-role/Operators/maria",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLEKEYID",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEROLEID",
                    "arn": "arn:aws:iam::111122223333:role/Operators",
                    "accountId": "111122223333",
                    "userName": "Operators"
                },
                "attributes": {"creationDate": "2026-12-07T09:58:00Z", "mfaAuthenticated": "false"}
            }
        },
        "eventTime": "2026-12-07T10:02:11Z",
        "eventSource": "ssm.amazonaws.com",
        "eventName": "StartSession",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.15.0 Python/3.11 Linux/6.1 exe/x86_64",
        "requestParameters": {"target": "i-0a1b2c3d4e5f60718"},
        "responseElements": {
            "sessionId": "maria-07e6f8a9b0c1d2e3f",
            "tokenValue": "Value hidden due to security reasons.",
            "streamUrl": "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/maria-07e6f8a9b0c1d2e3f?role=publish_subscribe"
        },
        "requestID": "5a6b7c8d-0000-4e5f-8a9b-0c1d2e3f4a5b",
        "eventID": "9f8e7d6c-0000-4b5a-9c8d-7e6f5a4b3c2d",
        "readOnly": false,
        "resources": [{
            "accountId": "111122223333",
            "ARN": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60718"
        }],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

/// EC2's record of an ingress rule added (CloudTrail's EC2 examples: nested `items`).
fn authorize_ingress_record() -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEUSERID",
            "arn": "arn:aws:iam::111122223333:user/devon",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLEKEYID",
            "userName": "devon"
        },
        "eventTime": "2026-12-07T11:15:40Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": "us-east-2",
        "sourceIPAddress": "192.0.2.44",
        "userAgent": "console.ec2.amazonaws.com",
        "requestParameters": {
            "groupId": "sg-0123456789abcdef0",
            "ipPermissions": {"items": [{
                "ipProtocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
                "groups": {},
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                "ipv6Ranges": {},
                "prefixListIds": {}
            }]}
        },
        "responseElements": {
            "requestId": "0f1e2d3c-0000-4a5b-8c7d-6e5f4a3b2c1d",
            "_return": true,
            "securityGroupRuleSet": {"items": [{
                "groupId": "sg-0123456789abcdef0",
                "securityGroupRuleId": "sgr-0fedcba9876543210",
                "isEgress": false,
                "ipProtocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
                "cidrIpv4": "0.0.0.0/0"
            }]}
        },
        "requestID": "0f1e2d3c-0000-4a5b-8c7d-6e5f4a3b2c1d",
        "eventID": "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

/// A WAF (v2) web ACL updated, in EventBridge's envelope.
fn update_web_acl_event() -> Value {
    json!({
        "version": "0",
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.wafv2",
        "account": "111122223333",
        "time": "2026-12-07T12:00:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEUSERID2",
                "arn": "arn:aws:iam::111122223333:user/sam",
                "accountId": "111122223333",
                "userName": "sam"
            },
            "eventTime": "2026-12-07T12:00:05Z",
            "eventSource": "wafv2.amazonaws.com",
            "eventName": "UpdateWebACL",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.99",
            "userAgent": "aws-sdk-go-v2/1.24",
            "requestParameters": {
                "name": "storefront-acl",
                "scope": "REGIONAL",
                "id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
                "defaultAction": {"allow": {}},
                "rules": [],
                "visibilityConfig": {
                    "sampledRequestsEnabled": true,
                    "cloudWatchMetricsEnabled": true,
                    "metricName": "storefront-acl"
                },
                "lockToken": "6f5e4d3c-0000-4b2a-9c8d-EXAMPLE22222"
            },
            "responseElements": {"nextLockToken": "7a6b5c4d-0000-4e3f-8a2b-EXAMPLE33333"},
            "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333"
        }
    })
}

fn test_rule(rule: &str, event: &Value) -> Output {
    let file = temp_file("event.json", &serde_json::to_string_pretty(event).unwrap());
    run_gangway(&["alerts", "test", rule, file.to_str().unwrap()])
}

#[test]
fn alerts_test_matches_cloudtrail_events_and_prints_the_message() {
    let out = test_rule("gangway-ssm-start-session", &start_session_record());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        "matched: gangway-ssm-start-session\nmessage: \"gangway alert: StartSession in account 111122223333 by arn:aws:sts::111122223333:assumed-role/Operators/maria in eu-west-1 from 198.51.100.23: session maria-07e6f8a9b0c1d2e3f on i-0a1b2c3d4e5f60718 (gangway-ssm-start-session)\"\n"
    );
    let out = test_rule(
        "gangway-security-group-changes",
        &authorize_ingress_record(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout(&out).contains(
            "AuthorizeSecurityGroupIngress in account 111122223333 by arn:aws:iam::111122223333:user/devon in us-east-2 from 192.0.2.44: security group sg-0123456789abcdef0 "
        ),
        "{}",
        stdout(&out)
    );
    let out = test_rule("gangway-waf-changes", &update_web_acl_event());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout(&out).contains(
            "UpdateWebACL in account 111122223333 by arn:aws:iam::111122223333:user/sam in us-east-1 from 203.0.113.99: web ACL or IP set storefront-acl a1b2c3d4-5678-90ab-cdef-EXAMPLE11111 "
        ),
        "{}",
        stdout(&out)
    );
    // Not matched: exit 21, and the first field that failed with the event's value.
    let out = test_rule("gangway-waf-changes", &start_session_record());
    assert_eq!(out.status.code(), Some(21), "{out:?}");
    assert_eq!(
        stdout(&out),
        "not matched: gangway-waf-changes\n  at detail.eventName: the event has \"StartSession\"\n"
    );
    let mut describe = authorize_ingress_record();
    describe["eventName"] = json!("DescribeSecurityGroups");
    let out = test_rule("gangway-security-group-changes", &describe);
    assert_eq!(out.status.code(), Some(21), "{out:?}");
    assert!(
        stdout(&out).contains("at detail.eventName"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn alerts_test_takes_a_rule_file_a_pattern_file_and_stdin() {
    // A rule as put-rule takes it, with the put-targets input beside it.
    let rules = json_rules();
    let rule_file = temp_file("rule.json", &rules[0].to_string());
    let event = temp_file("event.json", &start_session_record().to_string());
    let out = run_gangway(&[
        "alerts",
        "test",
        rule_file.to_str().unwrap(),
        event.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).contains("session maria-07e6f8a9b0c1d2e3f on i-0a1b2c3d4e5f60718"));
    // A bare pattern from the guide's operators (prefix, anything-but, cidr, $or).
    let pattern = temp_file(
        "pattern.json",
        r#"{"source":[{"prefix":"aws."}],"detail":{"eventName":[{"anything-but":{"prefix":"Describe"}}],"$or":[{"sourceIPAddress":[{"cidr":"198.51.100.0/24"}]},{"userIdentity":{"type":["Root"]}}]}}"#,
    );
    let mut child = gangway()
        .args(["alerts", "test", pattern.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(start_session_record().to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        "matched: pattern.json\nmessage: the event itself (the rule has no input transformer)\n"
    );
}

#[test]
fn alerts_test_refuses_bad_input_saying_what_and_where() {
    let good_event = temp_file("good.json", &start_session_record().to_string());
    let good_event = good_event.to_str().unwrap();
    let mut no_name = start_session_record();
    no_name.as_object_mut().unwrap().remove("eventName");
    let mut envelope_without_source = update_web_acl_event();
    envelope_without_source["detail"]
        .as_object_mut()
        .unwrap()
        .remove("eventSource");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                NAMES[0].into(),
                temp_file(
                    "broken.json",
                    "{\n  \"eventVersion\": \"1.08\",\n  \"eventName\" \"StartSession\"\n}",
                )
                .to_str()
                .unwrap()
                .into(),
            ],
            "not JSON: expected `:` (line 3, column",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file("noname.json", &no_name.to_string())
                    .to_str()
                    .unwrap()
                    .into(),
            ],
            "not a CloudTrail event: the required field `eventName` is missing",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file("envelope.json", &envelope_without_source.to_string())
                    .to_str()
                    .unwrap()
                    .into(),
            ],
            "the required field `detail.eventSource` is missing",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file(
                    "other.json",
                    r#"{"detail-type":"EC2 Instance State-change Notification","detail":{}}"#,
                )
                .to_str()
                .unwrap()
                .into(),
            ],
            "detail-type is `EC2 Instance State-change Notification`",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file("log.json", r#"{"Records":[{},{}]}"#)
                    .to_str()
                    .unwrap()
                    .into(),
            ],
            "a CloudTrail log file with 2 records: give one of its records",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file("lookup.json", r#"{"Events":[{},{},{}]}"#)
                    .to_str()
                    .unwrap()
                    .into(),
            ],
            "aws cloudtrail lookup-events output with 3 events: give one of them",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file(
                    "lookup-one.json",
                    r#"{"EventId":"x","CloudTrailEvent":"{\"eventVersion\":"}"#,
                )
                .to_str()
                .unwrap()
                .into(),
            ],
            "CloudTrailEvent: not JSON: EOF while parsing a value (line 1, column 16)",
        ),
        (
            vec![NAMES[0].into(), "/nonexistent/event.json".into()],
            "cannot read /nonexistent/event.json",
        ),
        (
            vec!["gangway-start".into(), good_event.into()],
            "unknown rule `gangway-start`: neither a rule of gangway alerts new (gangway-ssm-start-session, gangway-ssm-resume-session, gangway-ssm-terminate-session, gangway-security-group-changes, gangway-waf-changes) nor a file",
        ),
        (
            vec![
                temp_file("bad-pattern.json", r#"{"detail":{"eventName":[]}}"#)
                    .to_str()
                    .unwrap()
                    .into(),
                good_event.into(),
            ],
            "Event pattern is not valid. Reason: Empty arrays are not allowed (at detail.eventName)",
        ),
        (
            vec![
                temp_file(
                    "bad-rule.json",
                    r#"{"Name":"r","EventPattern":"{\"source\":[{\"wildcard\":\"aws.**\"}]}"}"#,
                )
                .to_str()
                .unwrap()
                .into(),
                good_event.into(),
            ],
            "EventPattern: Event pattern is not valid. Reason: Consecutive wildcard characters at pos 5 (at source[0].wildcard)",
        ),
        (
            vec![
                temp_file("all.json", &serde_json::to_string(&json_rules()).unwrap())
                    .to_str()
                    .unwrap()
                    .into(),
                good_event.into(),
            ],
            "an array of 5 rules: give one rule",
        ),
        (
            vec![
                NAMES[0].into(),
                temp_file(
                    "huge.json",
                    &format!("{{\"x\":\"{}\"}}", "a".repeat(300_000)),
                )
                .to_str()
                .unwrap()
                .into(),
            ],
            "larger than 262144 bytes: not a CloudTrail event",
        ),
    ];
    for (args, expected) in cases {
        let mut argv = vec!["alerts".to_owned(), "test".to_owned()];
        argv.extend(args);
        let out = gangway().args(&argv).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {out:?}");
        assert!(stdout(&out).is_empty(), "{argv:?}: {out:?}");
        assert!(
            stderr(&out).contains(expected),
            "{argv:?}: expected {expected:?} in {}",
            stderr(&out)
        );
    }
    // `alerts test` calls no AWS: AWS options are refused.
    let out = run_gangway(&[
        "alerts",
        "test",
        "--region",
        "eu-west-1",
        NAMES[0],
        good_event,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// The emulator's own CloudTrail records of a StartSession and a TerminateSession reach the
/// generated rules, with the message naming the session, the instance, the user and the IP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulators_records_match_the_generated_rules() {
    let fleet = Fleet::demo();
    let web = id_of(&fleet, "web-1");
    let emulator = start_fleet(fleet).await;
    let admin = ssm(&emulator, ADMIN);
    let session = session_on(&admin, &web).await;
    admin
        .terminate_session()
        .session_id(&session)
        .send()
        .await
        .unwrap();
    let trail = cloudtrail_at(&emulator.endpoint, ADMIN);
    // The newest record of each: this session's.
    let record = |name: &'static str| {
        let trail = trail.clone();
        async move { records(&trail, EventName, name).await.swap_remove(0) }
    };
    let start = record("StartSession").await;
    // As `aws cloudtrail lookup-events` prints one event: the record as a JSON string.
    let out = test_rule(
        "gangway-ssm-start-session",
        &json!({"EventId": "x", "EventName": "StartSession", "CloudTrailEvent": start.to_string()}),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = test_rule("gangway-ssm-start-session", &start);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let message = stdout(&out);
    let user = start["userIdentity"]["arn"].as_str().unwrap();
    for part in [
        format!("StartSession in account {ACCOUNT_ID} by {user} in us-east-1 from 127.0.0.1"),
        format!("session {session} on {web}"),
    ] {
        assert!(message.contains(&part), "{part} in {message}");
    }
    let terminate = record("TerminateSession").await;
    let out = test_rule("gangway-ssm-terminate-session", &terminate);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout(&out).contains(&format!(": session {session} (")),
        "{}",
        stdout(&out)
    );
    // And only there.
    let out = test_rule("gangway-ssm-start-session", &terminate);
    assert_eq!(out.status.code(), Some(21), "{out:?}");
}

/// The operator examples of the EventBridge user guide as pattern files, on one
/// CloudTrail event through the CLI: exit 0 where the guide's pattern matches, 21 where not.
#[test]
fn alerts_test_applies_the_documented_operators() {
    let event = temp_file("start.json", &start_session_record().to_string());
    let event = event.to_str().unwrap();
    let rows: &[(&str, i32)] = &[
        (r#"{"time":[{"prefix":"2026-12-07"}]}"#, 0),
        (r#"{"time":[{"prefix":"2017-10-02"}]}"#, 21),
        (r#"{"detail":{"eventName":[{"suffix":"Session"}]}}"#, 0),
        (
            r#"{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"startsess"}}]}}"#,
            0,
        ),
        (
            r#"{"detail":{"eventName":[{"anything-but":["StartSession","ResumeSession"]}]}}"#,
            21,
        ),
        (
            r#"{"detail":{"eventName":[{"anything-but":{"prefix":"Describe"}}]}}"#,
            0,
        ),
        (
            r#"{"detail":{"eventName":[{"equals-ignore-case":"STARTSESSION"}]}}"#,
            0,
        ),
        (
            r#"{"detail":{"sourceIPAddress":[{"cidr":"198.51.100.0/24"}]}}"#,
            0,
        ),
        (
            r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}"#,
            21,
        ),
        (r#"{"detail":{"errorCode":[{"exists":false}]}}"#, 0),
        (
            r#"{"detail":{"requestParameters":{"target":[{"wildcard":"i-0a1b*"}]}}}"#,
            0,
        ),
        (
            r#"{"detail":{"resources":{"ARN":[{"wildcard":"arn:aws:ec2:*:instance/*"}]}}}"#,
            0,
        ),
        (
            r#"{"detail":{"readOnly":[false],"managementEvent":[true]}}"#,
            0,
        ),
        (
            r#"{"$or":[{"detail":{"eventName":["TerminateSession"]}},{"source":["aws.ssm"]}]}"#,
            0,
        ),
        (
            r#"{"detail":{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":["true"]}}}}}"#,
            21,
        ),
    ];
    for (pattern, status) in rows {
        let file = temp_file("pattern.json", pattern);
        let out = run_gangway(&["alerts", "test", file.to_str().unwrap(), event]);
        assert_eq!(out.status.code(), Some(*status), "{pattern}: {out:?}");
    }
    // A numeric range on a record's number (a port of the ingress rule).
    let ingress = temp_file("ingress.json", &authorize_ingress_record().to_string());
    for (pattern, status) in [
        (
            r#"{"detail":{"requestParameters":{"ipPermissions":{"items":{"fromPort":[{"numeric":[">=",0,"<",1024]}]}}}}}"#,
            0,
        ),
        (
            r#"{"detail":{"requestParameters":{"ipPermissions":{"items":{"fromPort":[{"numeric":[">",1024]}]}}}}}"#,
            21,
        ),
    ] {
        let file = temp_file("numeric.json", pattern);
        let out = run_gangway(&[
            "alerts",
            "test",
            file.to_str().unwrap(),
            ingress.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(status), "{pattern}: {out:?}");
    }
}
