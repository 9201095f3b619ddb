//! IAM identity policies in the emulator, through the real aws-sdk-ssm and aws-sdk-ec2
//! clients: the issue's time-boxed, tag-scoped policy pasted into a fleet file, the clock
//! moved past its end, own-session termination, explicit Deny, the document access check,
//! principal tags, and a policy refused at load.

use std::time::{Duration, SystemTime};

use aws_sdk_ssm::error::ProvideErrorMetadata;
use gangway::emulator::Fleet;

use crate::support::aws_clients::{
    ADMIN, aws_client, ec2, error_code, error_of, id_of, session_on, ssm,
};
use crate::support::emulator::start_fleet;

const ALICE: &str = "AKIAALICE";
const BOB: &str = "AKIABOB";
const CAROL: &str = "AKIACAROL";
const DAVE: &str = "AKIADAVE";

/// 2030-01-01T00:00:00Z, the end date of alice's policy.
const END: u64 = 1_893_456_000;

/// The demo fleet plus users whose access is described by IAM policies only.
fn fleet() -> Fleet {
    let users = Fleet::from_toml(
        r#"
[[users]]
name = "alice"
access_key_id = "AKIAALICE"
policies = ['''
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "StartSessionOnTaggedUntilEnd",
      "Effect": "Allow",
      "Action": "ssm:StartSession",
      "Resource": "arn:aws:ec2:*:123456789012:instance/*",
      "Condition": {
        "StringEquals": {"aws:ResourceTag/Name": "worker-1"},
        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}
      }
    },
    {
      "Sid": "LookUntilEnd",
      "Effect": "Allow",
      "Action": ["ssm:GetConnectionStatus", "ssm:DescribeInstanceInformation", "ssm:DescribeSessions"],
      "Resource": "*",
      "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    },
    {
      "Sid": "OwnSessions",
      "Effect": "Allow",
      "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
      "Resource": "arn:aws:ssm:*:123456789012:session/${aws:username}-*"
    }
  ]
}
''']

[[users]]
name = "bob"
access_key_id = "AKIABOB"
policies = [
  '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ssm:*","ec2:Describe*"],"Resource":"*"}}',
  '{"Version":"2012-10-17","Statement":{"Sid":"NoProd","Effect":"Deny","Action":"ssm:StartSession","Resource":"*","Condition":{"StringEquals":{"ssm:resourceTag/Env":"prod"}}}}',
]

[[users]]
name = "carol"
access_key_id = "AKIACAROL"
policies = ['''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "ssm:StartSession",
   "Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ssm:*::document/AWS-StartInteractiveCommand"],
   "Condition": {"BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"}}}
]}
''']

[[users]]
name = "dave"
access_key_id = "AKIADAVE"
tags = { team = "platform" }
policies = ['''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "arn:aws:ec2:*:*:instance/*",
   "Condition": {"StringEquals": {"aws:ResourceTag/Team": "${aws:PrincipalTag/team}"}}}
]}
''']
"#,
        "inline",
    )
    .unwrap();
    let mut fleet = Fleet::demo();
    fleet.users.extend(
        users
            .users
            .into_iter()
            .filter(|u| ["alice", "bob", "carol", "dave"].contains(&u.name.as_str())),
    );
    fleet
}

fn message<E, R>(result: Result<impl std::fmt::Debug, aws_sdk_ssm::error::SdkError<E, R>>) -> String
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let (code, message) = error_of(result);
    assert_eq!(code, "AccessDeniedException", "{message}");
    message
}

#[tokio::test]
async fn the_issue_policy_allows_its_tagged_instance_until_its_end_time() {
    let fleet = fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let alice = ssm(&emulator, ALICE);
    let worker = id_of(&fleet, "worker-1");
    let web = id_of(&fleet, "web-1");

    // Before the end time: the instance whose Name tag the policy names.
    emulator
        .state()
        .clock
        .set(SystemTime::UNIX_EPOCH + Duration::from_secs(END - 60));
    let session = session_on(&alice, &worker).await;
    assert!(session.starts_with("alice-"), "{session}");
    alice
        .get_connection_status()
        .target(&worker)
        .send()
        .await
        .unwrap();

    // Another instance: no statement allows it; the message names the action and resource.
    let denied = message(alice.start_session().target(&web).send().await);
    assert_eq!(
        denied,
        format!(
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:us-east-1:123456789012:instance/{web} because no identity-based policy allows the ssm:StartSession action"
        )
    );

    // After the end time: the same instance is denied, and so is the time-boxed status call.
    emulator
        .state()
        .clock
        .set(SystemTime::UNIX_EPOCH + Duration::from_secs(END));
    let denied = message(alice.start_session().target(&worker).send().await);
    assert!(
        denied.contains(&format!(
            "ssm:StartSession on resource: arn:aws:ec2:us-east-1:123456789012:instance/{worker}"
        )),
        "{denied}"
    );
    let denied = message(alice.get_connection_status().target(&worker).send().await);
    assert_eq!(
        denied,
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ssm:GetConnectionStatus because no identity-based policy allows the ssm:GetConnectionStatus action"
    );
    // Terminating her own session has no time bound in this policy.
    alice
        .terminate_session()
        .session_id(&session)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn terminate_is_allowed_on_own_sessions_and_denied_on_others() {
    let fleet = fleet();
    let emulator = start_fleet(fleet.clone()).await;
    emulator
        .state()
        .clock
        .set(SystemTime::UNIX_EPOCH + Duration::from_secs(END - 3600));
    let alice = ssm(&emulator, ALICE);
    let admin = ssm(&emulator, ADMIN);
    let worker = id_of(&fleet, "worker-1");
    let own = session_on(&alice, &worker).await;
    let others = session_on(&admin, &worker).await;

    let denied = message(alice.terminate_session().session_id(&others).send().await);
    assert_eq!(
        denied,
        format!(
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ssm:TerminateSession on resource: arn:aws:ssm:us-east-1:123456789012:session/{others} because no identity-based policy allows the ssm:TerminateSession action"
        )
    );
    assert!(
        emulator
            .state()
            .sessions
            .get(&others)
            .unwrap()
            .ended_at
            .is_none()
    );
    alice
        .terminate_session()
        .session_id(&own)
        .send()
        .await
        .unwrap();
    // ResumeSession follows the same statement.
    assert_eq!(
        error_code(alice.resume_session().session_id(&others).send().await),
        "AccessDeniedException"
    );
}

#[tokio::test]
async fn an_explicit_deny_wins_over_an_allow_and_says_so() {
    let fleet = fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let bob = ssm(&emulator, BOB);
    let web = id_of(&fleet, "web-1");
    let denied = message(bob.start_session().target(&web).send().await);
    assert_eq!(
        denied,
        format!(
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:us-east-1:123456789012:instance/{web} with an explicit deny in an identity-based policy"
        )
    );
    // Off prod, the Allow stands.
    session_on(&bob, &id_of(&fleet, "worker-1")).await;
    // EC2 answers with its own code and IAM's sentence: alice has no ec2:DescribeInstances.
    let err = ec2(&emulator, ALICE)
        .describe_instances()
        .send()
        .await
        .expect_err("alice may not describe instances");
    let service = err.as_service_error().unwrap();
    assert_eq!(service.code(), Some("UnauthorizedOperation"));
    assert!(
        service.message().unwrap().contains(
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action"
        ),
        "{err:?}"
    );
    ec2(&emulator, BOB)
        .describe_instances()
        .send()
        .await
        .unwrap();
    // sts:GetCallerIdentity needs no permission (AWS documents it): alice has none.
    let arn = aws_client(&emulator.endpoint, ALICE)
        .caller_arn()
        .await
        .unwrap();
    assert_eq!(arn, "arn:aws:iam::123456789012:user/alice");
}

#[tokio::test]
async fn the_document_access_check_and_principal_tags() {
    let fleet = fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let worker = id_of(&fleet, "worker-1");
    let carol = ssm(&emulator, CAROL);
    // ssm:SessionDocumentAccessCheck: the default shell document must be allowed too.
    let denied = message(carol.start_session().target(&worker).send().await);
    assert!(
        denied.contains(
            "on resource: arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell"
        ),
        "{denied}"
    );
    carol
        .start_session()
        .target(&worker)
        .document_name("AWS-StartInteractiveCommand")
        .parameters("command", vec!["true".to_owned()])
        .send()
        .await
        .unwrap();
    // aws:PrincipalTag/team in a condition value: dave reaches his team's instances only.
    let dave = ssm(&emulator, DAVE);
    session_on(&dave, &worker).await;
    message(
        dave.start_session()
            .target(id_of(&fleet, "web-1"))
            .send()
            .await,
    );
}

#[test]
fn a_policy_with_an_unknown_operator_is_refused_at_load() {
    let err = Fleet::from_toml(
        r#"
[[users]]
name = "eve"
access_key_id = "AKIAEVE"
policies = [
  '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:StartSession","Resource":"*","Condition":{"DateLessThann":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}',
]
"#,
        "fleet.toml",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "fleet file fleet.toml, line 6, field `policies`: policy 1: Statement.Condition: unknown condition operator `DateLessThann`"
    );
    let err = Fleet::from_toml(
        "[[users]]\nname = \"eve\"\naccess_key_id = \"AKIAEVE\"\nrole = \"engineer\"\npolicies = ['{\"Statement\":{}}']\n",
        "fleet.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("field `role`: `policies` replace role"),
        "{err}"
    );
}
