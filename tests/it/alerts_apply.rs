//! `gangway alerts apply` against the emulator, end to end: the binary creates the topic and
//! the rules through EventBridge and SNS, a session started through the real SSM SDK and a
//! security-group change through the real EC2 SDK each deliver their short message to the
//! topic (read through the emulator's delivery log), a second apply changes nothing, a rule
//! someone else wrote is shown and left alone without --yes, and a user without EventBridge
//! permissions gets an error naming the IAM action.

use std::process::{Command, Output, Stdio};

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_eventbridge::types::RuleState;
use gangway::emulator::Fleet;

use crate::support::PATIENCE;
use crate::support::aws_clients::{
    ADMIN, DEV, client_at, deliveries_at, eventbridge_at, id_of, session_on, sns_at, ssm_at,
};
use crate::support::cli::aws_env;
use crate::support::emulator::{GANGWAY, spawn_with_stderr, start_fleet};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:gangway-security-alerts";

fn apply(endpoint: &str, key: &str, args: &[&str]) -> Output {
    Command::new(GANGWAY)
        .args(["alerts", "apply", "--endpoint-url", endpoint])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(aws_env(endpoint, key))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits for a delivered message containing every one of `parts`; returns it.
async fn delivered(endpoint: &str, parts: &[&str]) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let deliveries = deliveries_at(endpoint).await;
        if let Some(found) = deliveries.iter().find_map(|d| {
            let message = d["Message"].as_str()?;
            (d["Status"] == "Delivered"
                && d["TopicArn"] == TOPIC
                && parts.iter().all(|p| message.contains(p)))
            .then(|| message.to_owned())
        }) {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery with {parts:?} within {PATIENCE:?}; deliveries: {deliveries:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_rules_deliver_a_session_and_a_security_group_change_to_the_topic() {
    let log = tempfile_path("alerts-emulator.log");
    let emulator = spawn_with_stderr(&[], std::fs::File::create(&log).unwrap());
    let endpoint = emulator.endpoint.clone();

    // A dry run first: it says what it would do and does nothing.
    let dry = apply(&endpoint, ADMIN, &[]);
    let out = text(&dry.stdout);
    assert!(dry.status.success(), "{out}{}", text(&dry.stderr));
    assert!(out.contains(&format!("topic {TOPIC}: new")), "{out}");
    assert!(out.contains("rule gangway-ssm-start-session: new"), "{out}");
    assert!(
        out.contains("dry run: 1 topic, 5 rule(s) to create"),
        "{out}"
    );
    let events = eventbridge_at(&endpoint, ADMIN);
    assert!(events.list_rules().send().await.unwrap().rules().is_empty());

    let applied = apply(&endpoint, ADMIN, &["--yes"]);
    let out = text(&applied.stdout);
    assert!(applied.status.success(), "{out}{}", text(&applied.stderr));
    assert!(
        out.contains("applied: topic created, 5 rule(s) created, 0 updated"),
        "{out}"
    );
    let rules = events
        .list_rules()
        .name_prefix("gangway-")
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 5);
    // The topic it created lets EventBridge publish, as SNS requires on AWS.
    let attributes = sns_at(&endpoint, ADMIN)
        .get_topic_attributes()
        .topic_arn(TOPIC)
        .send()
        .await
        .unwrap();
    let policy = attributes
        .attributes()
        .unwrap()
        .get("Policy")
        .unwrap()
        .clone();
    assert!(policy.contains("events.amazonaws.com"), "{policy}");
    assert!(!out.contains("warning"), "{out}");

    // Applying again changes nothing.
    let again = apply(&endpoint, ADMIN, &["--yes"]);
    let out = text(&again.stdout);
    assert!(again.status.success(), "{out}");
    assert!(out.contains(&format!("topic {TOPIC}: exists")), "{out}");
    assert_eq!(out.matches(": unchanged").count(), 5, "{out}");
    assert!(out.contains("nothing to change"), "{out}");

    // A session: the short message names the call, the account, who, the region, where
    // from and the session on its instance.
    let instance = id_of(&Fleet::demo(), "api-1");
    let session = session_on(&ssm_at(&endpoint, ADMIN), &instance).await;
    let message = delivered(&endpoint, &["StartSession", &session]).await;
    for part in [
        "123456789012",
        "arn:aws:iam::123456789012:user/admin",
        "us-east-1",
        "127.0.0.1",
        instance.as_str(),
    ] {
        assert!(message.contains(part), "{part} missing from {message}");
    }

    // A security-group change through the EC2 API.
    let ec2: aws_sdk_ec2::Client = client_at(&endpoint, ADMIN);
    let group = ec2
        .create_security_group()
        .group_name("bastion-replacement")
        .description("opened by a test")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    delivered(&endpoint, &["AuthorizeSecurityGroupIngress", &group]).await;
    delivered(
        &endpoint,
        &["CreateSecurityGroup", &group, "bastion-replacement"],
    )
    .await;

    // `gangway emulator` logged each delivery at info, without the message's secrets.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("alert delivered rule=gangway-ssm-start-session"),
        "{logged}"
    );
    assert!(
        logged.contains("alert delivered rule=gangway-security-group-changes"),
        "{logged}"
    );
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_differing_rule_is_shown_and_left_alone_without_yes() {
    let emulator = start_fleet(Fleet::demo()).await;
    let events = eventbridge_at(&emulator.endpoint, ADMIN);
    let theirs = r#"{"source":["aws.ec2"]}"#;
    events
        .put_rule()
        .name("gangway-ssm-start-session")
        .event_pattern(theirs)
        .state(RuleState::Disabled)
        .send()
        .await
        .unwrap();

    // A topic made without a policy (SNS's default, no EventBridge): said, fixed with --yes.
    sns_at(&emulator.endpoint, ADMIN)
        .create_topic()
        .name("gangway-security-alerts")
        .send()
        .await
        .unwrap();

    let dry = apply(&emulator.endpoint, ADMIN, &[]);
    let out = text(&dry.stdout);
    assert!(dry.status.success(), "{out}{}", text(&dry.stderr));
    assert!(out.contains(&format!("topic {TOPIC}: exists")), "{out}");
    assert!(
        out.contains("topic policy: changed: it does not let events.amazonaws.com publish"),
        "{out}"
    );
    assert!(
        out.contains(
            "rule gangway-ssm-start-session: changed (Description, EventPattern, State, Targets[gangway-alert-topic])"
        ),
        "{out}"
    );
    assert!(out.contains(&format!("    - {theirs}")), "{out}");
    assert!(out.contains("    - DISABLED\n    + ENABLED"), "{out}");
    assert!(
        out.contains("dry run: the topic's policy, 4 rule(s) to create, 1 to update"),
        "{out}"
    );
    let kept = events
        .describe_rule()
        .name("gangway-ssm-start-session")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.event_pattern(), Some(theirs), "untouched by a dry run");
    assert_eq!(kept.state(), Some(&RuleState::Disabled));

    let sns = sns_at(&emulator.endpoint, ADMIN);
    let policy_of = || async {
        sns.get_topic_attributes()
            .topic_arn(TOPIC)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()
            .get("Policy")
            .cloned()
            .unwrap()
    };
    assert!(
        !policy_of().await.contains("events.amazonaws.com"),
        "untouched by a dry run"
    );

    let applied = apply(&emulator.endpoint, ADMIN, &["--yes"]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout)
            .contains("applied: topic policy updated, 4 rule(s) created, 1 updated"),
        "{}",
        text(&applied.stdout)
    );
    let policy = policy_of().await;
    assert!(policy.contains("AllowEventBridgeToPublish"), "{policy}");
    assert!(
        policy.contains("__default_statement_ID"),
        "the rest is kept: {policy}"
    );
    let again = apply(&emulator.endpoint, ADMIN, &[]);
    assert!(
        text(&again.stdout).contains("nothing to change"),
        "{}",
        text(&again.stdout)
    );
    let replaced = events
        .describe_rule()
        .name("gangway-ssm-start-session")
        .send()
        .await
        .unwrap();
    assert!(replaced.event_pattern().unwrap().contains("StartSession"));
    assert_eq!(replaced.state(), Some(&RuleState::Enabled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_eventbridge_permissions_the_error_names_the_action() {
    let mut fleet = Fleet::demo();
    let reader = Fleet::from_toml(
        r#"
[[users]]
name = "reader"
access_key_id = "AKIAREADER"
policies = ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["events:Describe*","events:List*","sns:*"],"Resource":"*"}]}']
"#,
        "inline",
    )
    .unwrap();
    fleet
        .users
        .extend(reader.users.into_iter().filter(|u| u.name == "reader"));
    let emulator = start_fleet(fleet).await;

    // The built-in engineer may not even read rules.
    let denied = apply(&emulator.endpoint, DEV, &[]);
    let err = text(&denied.stderr);
    assert_eq!(denied.status.code(), Some(5), "{err}");
    assert!(err.contains("access denied"), "{err}");
    assert!(err.contains("events:DescribeRule"), "{err}");

    // A reader sees the plan, then cannot write it.
    let dry = apply(&emulator.endpoint, "AKIAREADER", &[]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let denied = apply(&emulator.endpoint, "AKIAREADER", &["--yes"]);
    let err = text(&denied.stderr);
    assert_eq!(denied.status.code(), Some(5), "{err}");
    assert!(
        err.contains("is not authorized to perform: events:PutRule on resource: arn:aws:events:us-east-1:123456789012:rule/gangway-"),
        "{err}"
    );
    let listed = eventbridge_at(&emulator.endpoint, ADMIN)
        .list_rules()
        .send()
        .await
        .unwrap();
    assert!(listed.rules().is_empty(), "nothing was created");
    // The topic was created (sns:* allowed) before PutRule was refused.
    let topics = sns_at(&emulator.endpoint, ADMIN)
        .list_topics()
        .send()
        .await
        .unwrap();
    assert_eq!(topics.topics()[0].topic_arn(), Some(TOPIC));
}

/// A file under the temp directory that no other test uses.
fn tempfile_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gangway-{}-{name}", uuid::Uuid::new_v4()))
}
