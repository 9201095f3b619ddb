//! Issue 15's alerts per (account, region), through the real SDKs: security groups, event
//! buses, SNS topics and the trail of one account are not another's; a rule in account A
//! never sees account B's calls, ARNs name the account, and a role session in B (STS
//! AssumeRole from A) is recorded in B as an `AssumedRole`.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_eventbridge::types::{InputTransformer, Target};
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use serde_json::{Value, json};

use crate::support::accounts::{ACCOUNT_A, ACCOUNT_B, ALICE, BOB, OPS_ROLE, fleet};
use crate::support::aws_clients::{
    ADMIN, cloudtrail_at, ec2, eventbridge_at, session_on, sns_at, ssm,
};
use crate::support::emulator::start_fleet;
use crate::support::{PATIENCE, eventually};

const A_WEB: &str = "i-0a00000000000a001";
const B_DB: &str = "i-0b00000000000b001";

/// A topic policy letting EventBridge publish (what `gangway alerts apply` writes).
fn events_may_publish(arn_prefix: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowEventBridgeToPublish",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": format!("{arn_prefix}security"),
        }]
    })
    .to_string()
}

/// A topic `security` and a rule `starts` (every StartSession, its user and target as the
/// message) in the caller's account; the topic's ARN.
async fn alert_on_starts(endpoint: &str, key: &str, account: &str) -> String {
    let sns = sns_at(endpoint, key);
    let prefix = format!("arn:aws:sns:us-east-1:{account}:");
    let topic = sns
        .create_topic()
        .name("security")
        .attributes("Policy", events_may_publish(&prefix))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    assert_eq!(
        topic,
        format!("{prefix}security"),
        "the ARN names the account"
    );
    let events = eventbridge_at(endpoint, key);
    let rule = events
        .put_rule()
        .name("starts")
        .event_pattern(r#"{"source":["aws.ssm"],"detail":{"eventName":["StartSession"]}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rule.rule_arn(),
        Some(format!("arn:aws:events:us-east-1:{account}:rule/starts").as_str())
    );
    let described = events.describe_rule().name("starts").send().await.unwrap();
    assert_eq!(described.created_by(), Some(account));
    events
        .put_targets()
        .rule("starts")
        .targets(
            Target::builder()
                .id("topic")
                .arn(&topic)
                .input_transformer(
                    InputTransformer::builder()
                        .input_paths_map("account", "$.account")
                        .input_paths_map("target", "$.detail.requestParameters.target")
                        .input_template("\"<account> <target>\"")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    topic
}

fn messages(state: &gangway::emulator::EmulatorState, topic: &str) -> Vec<String> {
    state
        .topics
        .deliveries(Some(topic))
        .into_iter()
        .map(|d| d.message)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_has_its_own_groups_rules_topics_and_trail() {
    let emulator = start_fleet(fleet()).await;
    let endpoint = emulator.endpoint.clone();
    let state = emulator.state().clone();

    // The same names in both accounts are different resources.
    let topic_a = alert_on_starts(&endpoint, ADMIN, ACCOUNT_A).await;
    let topic_b = alert_on_starts(&endpoint, BOB, ACCOUNT_B).await;
    let listed = sns_at(&endpoint, BOB).list_topics().send().await.unwrap();
    let arns: Vec<&str> = listed
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .collect();
    assert_eq!(arns, [topic_b.as_str()], "B lists its own topics only");
    let rules = eventbridge_at(&endpoint, ADMIN)
        .list_rules()
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 1);
    assert_eq!(
        rules.rules()[0].arn(),
        Some(format!("arn:aws:events:us-east-1:{ACCOUNT_A}:rule/starts").as_str())
    );

    // Another account's topic is reached only through its policy, which does not name A.
    let denied = sns_at(&endpoint, ADMIN)
        .get_topic_attributes()
        .topic_arn(&topic_b)
        .send()
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some("AuthorizationError"), "{denied:?}");
    let owner = sns_at(&endpoint, BOB)
        .get_topic_attributes()
        .topic_arn(&topic_b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        owner.attributes().unwrap().get("Owner").map(String::as_str),
        Some(ACCOUNT_B)
    );

    // B's session alerts B only.
    session_on(&ssm(&emulator, BOB), B_DB).await;
    eventually(PATIENCE, "B's StartSession alert", || {
        !messages(&state, &topic_b).is_empty()
    })
    .await;
    assert_eq!(
        messages(&state, &topic_b),
        [format!("\"{ACCOUNT_B} {B_DB}\"")]
    );
    // Then A's session alerts A only (and B's rule saw nothing more).
    session_on(&ssm(&emulator, ADMIN), A_WEB).await;
    eventually(PATIENCE, "A's StartSession alert", || {
        !messages(&state, &topic_a).is_empty()
    })
    .await;
    assert_eq!(
        messages(&state, &topic_a),
        [format!("\"{ACCOUNT_A} {A_WEB}\"")]
    );
    assert_eq!(messages(&state, &topic_b).len(), 1);

    // Security groups: B's group is not in A, and A may use the same name.
    let created = ec2(&emulator, BOB)
        .create_security_group()
        .group_name("web")
        .description("web servers")
        .send()
        .await
        .unwrap();
    let b_group = created.group_id().unwrap().to_owned();
    assert_eq!(
        created.security_group_arn(),
        Some(format!("arn:aws:ec2:us-east-1:{ACCOUNT_B}:security-group/{b_group}").as_str())
    );
    let in_a = ec2(&emulator, ADMIN)
        .describe_security_groups()
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = in_a
        .security_groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    assert_eq!(names, ["default"]);
    assert_eq!(in_a.security_groups()[0].owner_id(), Some(ACCOUNT_A));
    let missing = ec2(&emulator, ADMIN)
        .delete_security_group()
        .group_id(&b_group)
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("InvalidGroup.NotFound"));
    ec2(&emulator, ADMIN)
        .create_security_group()
        .group_name("web")
        .description("A's own")
        .send()
        .await
        .unwrap();
    let in_b = ec2(&emulator, BOB)
        .describe_security_groups()
        .group_ids(&b_group)
        .send()
        .await
        .unwrap();
    assert_eq!(in_b.security_groups()[0].owner_id(), Some(ACCOUNT_B));

    // A role session in B (alice, from A, assumes ops) is B's caller in B's trail.
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(ALICE, "gangway", None, None, "test"))
            .endpoint_url(&endpoint)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let assumed = sts
        .assume_role()
        .role_arn(OPS_ROLE)
        .role_session_name("oncall")
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap();
    let as_ops = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_owned()),
                None,
                "test",
            ))
            .endpoint_url(&endpoint)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    as_ops.describe_instance_information().send().await.unwrap();

    // Each account's LookupEvents shows its own calls, recorded in its account.
    let trail = |key: &str| {
        let client = cloudtrail_at(&endpoint, key);
        async move {
            let page = client.lookup_events().max_results(50).send().await.unwrap();
            page.events()
                .iter()
                .map(|e| serde_json::from_str::<Value>(e.cloud_trail_event().unwrap()).unwrap())
                .collect::<Vec<Value>>()
        }
    };
    let b_events = trail(BOB).await;
    assert!(
        b_events
            .iter()
            .all(|e| e["recipientAccountId"] == ACCOUNT_B)
    );
    let starts: Vec<&Value> = b_events
        .iter()
        .filter(|e| e["eventName"] == "StartSession")
        .collect();
    assert_eq!(starts.len(), 1, "B's trail has B's session only");
    assert_eq!(starts[0]["userIdentity"]["accountId"], ACCOUNT_B);
    let by_role = b_events
        .iter()
        .find(|e| e["eventName"] == "DescribeInstanceInformation")
        .expect("the role session's call is in B's trail");
    let identity = &by_role["userIdentity"];
    assert_eq!(identity["type"], "AssumedRole");
    assert_eq!(
        identity["arn"],
        format!("arn:aws:sts::{ACCOUNT_B}:assumed-role/ops/oncall").as_str()
    );
    assert_eq!(
        identity["sessionContext"]["sessionIssuer"]["arn"],
        format!("arn:aws:iam::{ACCOUNT_B}:role/ops").as_str()
    );
    let a_events = trail(ADMIN).await;
    assert!(
        a_events
            .iter()
            .all(|e| e["recipientAccountId"] == ACCOUNT_A)
    );
    assert!(
        a_events
            .iter()
            .filter(|e| e["eventName"] == "StartSession")
            .all(|e| e["requestParameters"]["target"] == A_WEB),
        "A's trail has no B session"
    );
}
