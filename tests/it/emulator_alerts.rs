//! The emulator's side of issue 15's alerts through the real SDKs (aws-sdk-ec2,
//! aws-sdk-eventbridge, aws-sdk-sns, aws-sdk-cloudtrail) over HTTP: security-group calls with
//! EC2's errors and CloudTrail's nested record, EventBridge and SNS round trips and errors,
//! LookupEvents authorised by IAM, and a rule that delivers its message when a session starts.

use aws_sdk_cloudtrail::types::LookupAttributeKey::EventName;
use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_eventbridge::types::{InputTransformer, RuleState, Target};

use crate::support::aws_clients::{
    ADMIN, DEV, cloudtrail_at, deliveries_at, ec2, error_of, eventbridge_at, id_of, session_on,
    sns_at, ssm,
};
use crate::support::emulator::start_fleet;
use crate::support::trail::records;
use crate::support::{PATIENCE, eventually};
use gangway::emulator::Fleet;

fn ssh_from(cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).description("ssh").build())
        .build()
}

/// A policy for topic `name` of the default account that lets EventBridge publish to it.
fn events_may_publish(name: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": format!("arn:aws:sns:us-east-1:123456789012:{name}"),
        }]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_groups_answer_as_ec2_and_are_recorded_in_cloudtrails_shape() {
    let emulator = start_fleet(Fleet::demo()).await;
    let admin = ec2(&emulator, ADMIN);

    // The fleet's instances are in groups that exist.
    let instances = admin.describe_instances().send().await.unwrap();
    let in_use: Vec<String> = instances
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .flat_map(|i| i.security_groups())
        .filter_map(|g| g.group_id().map(str::to_owned))
        .collect();
    assert!(!in_use.is_empty());
    let described = admin
        .describe_security_groups()
        .set_group_ids(Some(in_use.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(described.security_groups()[0].group_name(), Some("default"));

    let created = admin
        .create_security_group()
        .group_name("web")
        .description("web servers")
        .send()
        .await
        .unwrap();
    let group_id = created.group_id().unwrap().to_owned();
    assert!(group_id.starts_with("sg-"));
    let (code, message) = error_of(
        admin
            .create_security_group()
            .group_name("web")
            .description("again")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidGroup.Duplicate");
    assert!(message.contains("'web' already exists"), "{message}");

    let authorized = admin
        .authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(ssh_from("0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.r#return(), Some(true));
    let rule = &authorized.security_group_rules()[0];
    assert_eq!(rule.cidr_ipv4(), Some("0.0.0.0/0"));
    assert_eq!(rule.from_port(), Some(22));
    assert_eq!(rule.is_egress(), Some(false));
    let (code, message) = error_of(
        admin
            .authorize_security_group_ingress()
            .group_id(&group_id)
            .ip_permissions(ssh_from("0.0.0.0/0"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidPermission.Duplicate");
    assert!(
        message.contains("peer: 0.0.0.0/0, TCP, from port: 22, to port: 22"),
        "{message}"
    );

    let group = &admin
        .describe_security_groups()
        .group_ids(&group_id)
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .clone();
    let permission = &group.ip_permissions()[0];
    assert_eq!(permission.ip_protocol(), Some("tcp"));
    assert_eq!(permission.ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
    assert_eq!(permission.ip_ranges()[0].description(), Some("ssh"));
    assert_eq!(group.ip_permissions_egress()[0].ip_protocol(), Some("-1"));

    // The record nests the permissions as CloudTrail's EC2 records do; the refused duplicate
    // is recorded too, with its error, and newer.
    let trail = cloudtrail_at(&emulator.endpoint, ADMIN);
    let records = records(&trail, EventName, "AuthorizeSecurityGroupIngress").await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["errorCode"], "InvalidPermission.Duplicate");
    assert_eq!(
        records[0]["requestParameters"]["groupId"],
        group_id.as_str()
    );
    let record = &records[1];
    assert_eq!(record["eventSource"], "ec2.amazonaws.com");
    assert_eq!(record["requestParameters"]["groupId"], group_id.as_str());
    let item = &record["requestParameters"]["ipPermissions"]["items"][0];
    assert_eq!(item["ipProtocol"], "tcp");
    assert_eq!(item["fromPort"], 22);
    assert_eq!(item["ipRanges"]["items"][0]["cidrIp"], "0.0.0.0/0");
    assert_eq!(record["responseElements"]["_return"], true);
    assert_eq!(
        record["responseElements"]["securityGroupRuleSet"]["items"][0]["cidrIpv4"],
        "0.0.0.0/0"
    );
    assert_eq!(
        record["resources"][0]["ARN"],
        format!("arn:aws:ec2:us-east-1:123456789012:security-group/{group_id}").as_str()
    );

    let (code, _) = error_of(
        admin
            .revoke_security_group_ingress()
            .group_id(&group_id)
            .ip_permissions(ssh_from("192.0.2.0/24"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidPermission.NotFound");
    admin
        .revoke_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(ssh_from("0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(
        admin
            .describe_security_groups()
            .group_ids("sg-0123456789abcdef0")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidGroup.NotFound");
    let (code, _) = error_of(
        admin
            .describe_security_groups()
            .group_ids("sg-x")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidGroupId.Malformed");
    let (code, _) = error_of(
        admin
            .delete_security_group()
            .group_id(&in_use[0])
            .send()
            .await,
    );
    assert_eq!(code, "CannotDelete");

    // IAM decides on the group's ARN: an engineer has no ec2:AuthorizeSecurityGroupIngress.
    let dev = ec2(&emulator, DEV);
    let (code, message) = error_of(
        dev.authorize_security_group_ingress()
            .group_id(&group_id)
            .ip_permissions(ssh_from("10.0.0.0/8"))
            .send()
            .await,
    );
    assert_eq!(code, "UnauthorizedOperation");
    assert!(
        message.contains(&format!(
            "ec2:AuthorizeSecurityGroupIngress on resource: arn:aws:ec2:us-east-1:123456789012:security-group/{group_id}"
        )),
        "{message}"
    );
    // Engineers may still read groups.
    dev.describe_security_groups().send().await.unwrap();

    admin
        .delete_security_group()
        .group_id(&group_id)
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(
        admin
            .delete_security_group()
            .group_id(&group_id)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidGroup.NotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_and_sns_round_trip_with_their_errors() {
    let emulator = start_fleet(Fleet::demo()).await;
    let events = eventbridge_at(&emulator.endpoint, ADMIN);
    let sns = sns_at(&emulator.endpoint, ADMIN);

    let topic = sns.create_topic().name("alerts").send().await.unwrap();
    let arn = topic.topic_arn().unwrap().to_owned();
    assert_eq!(arn, "arn:aws:sns:us-east-1:123456789012:alerts");
    let again = sns.create_topic().name("alerts").send().await.unwrap();
    assert_eq!(
        again.topic_arn(),
        Some(arn.as_str()),
        "CreateTopic is idempotent"
    );
    let listed = sns.list_topics().send().await.unwrap();
    assert_eq!(listed.topics().len(), 1);
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(attributes.attributes().unwrap().get("TopicArn"), Some(&arn));
    let (code, _) = error_of(
        sns.get_topic_attributes()
            .topic_arn("arn:aws:sns:us-east-1:123456789012:nope")
            .send()
            .await,
    );
    assert_eq!(code, "NotFound");
    let (code, _) = error_of(sns.create_topic().name("bad name!").send().await);
    assert_eq!(code, "InvalidParameter");
    sns.subscribe()
        .topic_arn(&arn)
        .protocol("email")
        .endpoint("security@example.com")
        .send()
        .await
        .unwrap();
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        subscriptions.subscriptions()[0].endpoint(),
        Some("security@example.com")
    );
    let published = sns
        .publish()
        .topic_arn(&arn)
        .message("hello")
        .send()
        .await
        .unwrap();
    assert!(published.message_id().is_some());

    let (code, message) = error_of(
        events
            .put_rule()
            .name("bad")
            .event_pattern(r#"{"source": "aws.ssm"}"#)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidEventPatternException");
    assert!(
        message.starts_with("Event pattern is not valid. Reason: "),
        "{message}"
    );
    let (code, _) = error_of(events.put_rule().name("nothing").send().await);
    assert_eq!(code, "ValidationException");
    for name in ["alert-a", "alert-b", "alert-c", "other"] {
        let put = events
            .put_rule()
            .name(name)
            .event_pattern(r#"{"source":["aws.ssm"]}"#)
            .description("d")
            .send()
            .await
            .unwrap();
        assert_eq!(
            put.rule_arn(),
            Some(format!("arn:aws:events:us-east-1:123456789012:rule/{name}").as_str())
        );
    }
    let first = events
        .list_rules()
        .name_prefix("alert-")
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.rules().len(), 2);
    let second = events
        .list_rules()
        .name_prefix("alert-")
        .limit(2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.rules().len(), 1);
    assert_eq!(second.rules()[0].name(), Some("alert-c"));
    assert!(second.next_token().is_none());

    let described = events.describe_rule().name("alert-a").send().await.unwrap();
    assert_eq!(described.event_pattern(), Some(r#"{"source":["aws.ssm"]}"#));
    assert_eq!(described.state(), Some(&RuleState::Enabled));
    assert_eq!(described.event_bus_name(), Some("default"));
    let (code, message) = error_of(events.describe_rule().name("missing").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(message, "Rule missing does not exist on EventBus default.");

    let target = Target::builder()
        .id("topic")
        .arn(&arn)
        .input_transformer(
            InputTransformer::builder()
                .input_paths_map("name", "$.detail.eventName")
                .input_template("\"<name> happened\"")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let put = events
        .put_targets()
        .rule("alert-a")
        .targets(target)
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);
    let targets = events
        .list_targets_by_rule()
        .rule("alert-a")
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets()[0].arn(), arn);
    assert_eq!(
        targets.targets()[0]
            .input_transformer()
            .unwrap()
            .input_template(),
        "\"<name> happened\""
    );
    let (code, message) = error_of(events.delete_rule().name("alert-a").send().await);
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "Rule can't be deleted since it has targets.");
    events
        .remove_targets()
        .rule("alert-a")
        .ids("topic")
        .send()
        .await
        .unwrap();
    events.delete_rule().name("alert-a").send().await.unwrap();
    events.disable_rule().name("alert-b").send().await.unwrap();
    let described = events.describe_rule().name("alert-b").send().await.unwrap();
    assert_eq!(described.state(), Some(&RuleState::Disabled));
    let (code, _) = error_of(events.enable_rule().name("alert-a").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    let (code, _) = error_of(
        events
            .put_rule()
            .name("x")
            .event_pattern(r#"{"source":["aws.ssm"]}"#)
            .event_bus_name("custom")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");

    // IAM: an engineer has no events:PutRule, sns:CreateTopic.
    let (code, message) = error_of(
        eventbridge_at(&emulator.endpoint, DEV)
            .put_rule()
            .name("mine")
            .event_pattern(r#"{"source":["aws.ssm"]}"#)
            .send()
            .await,
    );
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains(
            "events:PutRule on resource: arn:aws:events:us-east-1:123456789012:rule/mine"
        ),
        "{message}"
    );
    let (code, message) = error_of(
        sns_at(&emulator.endpoint, DEV)
            .create_topic()
            .name("t")
            .send()
            .await,
    );
    assert_eq!(code, "AuthorizationError");
    assert!(message.contains("sns:CreateTopic"), "{message}");

    sns.delete_topic().topic_arn(&arn).send().await.unwrap();
    sns.delete_topic().topic_arn(&arn).send().await.unwrap();
    assert!(sns.list_topics().send().await.unwrap().topics().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_needs_cloudtrail_lookup_events() {
    let mut fleet = Fleet::demo();
    let reader = Fleet::from_toml(
        r#"
[[users]]
name = "nosy"
access_key_id = "AKIANOSY"
policies = ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:*","Resource":"*"}]}']
"#,
        "inline",
    )
    .unwrap();
    fleet
        .users
        .extend(reader.users.into_iter().filter(|u| u.name == "nosy"));
    let emulator = start_fleet(fleet).await;
    let denied = cloudtrail_at(&emulator.endpoint, "AKIANOSY")
        .lookup_events()
        .send()
        .await;
    let (code, message) = error_of(denied);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains("is not authorized to perform: cloudtrail:LookupEvents"),
        "{message}"
    );
    // The built-in engineer and the administrator keep reading the trail.
    cloudtrail_at(&emulator.endpoint, DEV)
        .lookup_events()
        .send()
        .await
        .unwrap();
    cloudtrail_at(&emulator.endpoint, ADMIN)
        .lookup_events()
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_rule_publishes_its_message_when_a_session_starts() {
    let fleet = Fleet::demo();
    let target = id_of(&fleet, "web-1");
    let emulator = start_fleet(fleet).await;
    let events = eventbridge_at(&emulator.endpoint, ADMIN);
    let sns = sns_at(&emulator.endpoint, ADMIN);
    let arn = sns
        .create_topic()
        .name("security")
        .attributes("Policy", events_may_publish("security"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let pattern = r#"{"source":["aws.ssm"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["StartSession"]}}"#;
    for (name, state) in [("starts", RuleState::Enabled), ("off", RuleState::Disabled)] {
        events
            .put_rule()
            .name(name)
            .event_pattern(pattern)
            .state(state)
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule(name)
            .targets(
                Target::builder()
                    .id("t")
                    .arn(&arn)
                    .input_transformer(
                        InputTransformer::builder()
                            .input_paths_map("user", "$.detail.userIdentity.userName")
                            .input_paths_map("target", "$.detail.requestParameters.target")
                            .input_template(format!(
                                "\"<user> opened a session on <target> ({name})\""
                            ))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    // A read-only call matching nothing, then the session.
    ssm(&emulator, ADMIN)
        .describe_sessions()
        .state(aws_sdk_ssm::types::SessionState::Active)
        .send()
        .await
        .unwrap();
    session_on(&ssm(&emulator, ADMIN), &target).await;

    let state = emulator.state().clone();
    eventually(PATIENCE, "the StartSession alert", || {
        !state.topics.deliveries(Some(&arn)).is_empty()
    })
    .await;
    let deliveries = deliveries_at(&emulator.endpoint).await;
    let messages: Vec<&str> = deliveries
        .iter()
        .filter_map(|d| d["Message"].as_str())
        .collect();
    assert_eq!(
        messages,
        [format!("\"admin opened a session on {target} (starts)\"")],
        "one delivery, by the enabled rule only: {deliveries:?}"
    );
    let delivery = &deliveries[0];
    assert_eq!(delivery["Rule"], "starts");
    assert_eq!(delivery["EventName"], "StartSession");
    assert_eq!(delivery["TopicArn"], arn.as_str());
    assert_eq!(delivery["Status"], "Delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_whose_policy_does_not_let_eventbridge_publish_fails_the_delivery() {
    let fleet = Fleet::demo();
    let target = id_of(&fleet, "web-1");
    let emulator = start_fleet(fleet).await;
    let events = eventbridge_at(&emulator.endpoint, ADMIN);
    let sns = sns_at(&emulator.endpoint, ADMIN);
    // Created without a policy: SNS's default, the account's own principals only.
    let arn = sns
        .create_topic()
        .name("closed")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(attributes.attributes().unwrap().get("Policy").unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceOwner"],
        "123456789012"
    );
    events
        .put_rule()
        .name("starts")
        .event_pattern(r#"{"source":["aws.ssm"],"detail":{"eventName":["StartSession"]}}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("starts")
        .targets(
            Target::builder()
                .id("t")
                .arn(&arn)
                .input("\"started\"")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let state = emulator.state().clone();
    session_on(&ssm(&emulator, ADMIN), &target).await;
    eventually(PATIENCE, "the refused delivery", || {
        !state.topics.deliveries(Some(&arn)).is_empty()
    })
    .await;
    let deliveries = deliveries_at(&emulator.endpoint).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["Status"], "Failed");
    assert!(
        deliveries[0]["Reason"]
            .as_str()
            .unwrap()
            .contains("does not allow events.amazonaws.com to sns:Publish"),
        "{deliveries:?}"
    );

    // A policy that is not one is refused, saying why; a good one is kept and read back.
    let (code, message) = error_of(
        sns.set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name("Policy")
            .attribute_value(
                r#"{"Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}"#,
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameter");
    assert!(message.contains("Principal"), "{message}");
    let (code, _) = error_of(
        sns.set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name("Colour")
            .attribute_value("blue")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameter");
    sns.set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("Policy")
        .attribute_value(events_may_publish("closed"))
        .send()
        .await
        .unwrap();
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attributes.attributes().unwrap().get("Policy"),
        Some(&events_may_publish("closed"))
    );
    // An engineer may not change it (IAM), whatever the topic allows.
    let (code, message) = error_of(
        sns_at(&emulator.endpoint, DEV)
            .set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name("DisplayName")
            .attribute_value("x")
            .send()
            .await,
    );
    assert_eq!(code, "AuthorizationError");
    assert!(message.contains("sns:SetTopicAttributes"), "{message}");

    session_on(&ssm(&emulator, ADMIN), &target).await;
    eventually(PATIENCE, "the delivery the policy allows", || {
        state.topics.deliveries(Some(&arn)).len() == 2
    })
    .await;
    let deliveries = deliveries_at(&emulator.endpoint).await;
    assert_eq!(deliveries[1]["Status"], "Delivered");
    assert_eq!(deliveries[1]["Message"], "\"started\"");
}
