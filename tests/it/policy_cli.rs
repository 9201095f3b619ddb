//! `gangway policy`: a generated policy, loaded into the emulator as a user's policy, does
//! what `policy explain` says of it, claim by claim; `simulate` answers with the deciding
//! statement; the classic holes are named; bad input is refused with where and why.

use std::time::{Duration, SystemTime};

use gangway::emulator::Fleet;

use crate::support::aws_clients::{ADMIN, ec2, error_code, id_of, session_on, ssm};
use crate::support::cli::{run_gangway, stdout, temp_file};
use crate::support::emulator::start_fleet;

/// 2030-01-01T00:00:00Z
const END: u64 = 1_893_456_000;

/// The demo fleet plus `pat`, whose only policy is `policy`.
fn fleet_with(policy: &str) -> Fleet {
    let users = Fleet::from_toml(
        &format!("[[users]]\nname = \"pat\"\naccess_key_id = \"AKIAPAT\"\npolicies = ['''\n{policy}\n''']\n"),
        "inline",
    )
    .unwrap();
    let mut fleet = Fleet::demo();
    fleet
        .users
        .extend(users.users.into_iter().filter(|u| u.name == "pat"));
    fleet
}

#[tokio::test]
async fn a_generated_policy_does_what_explain_says() {
    let generated = run_gangway(&[
        "policy",
        "new",
        "--tag",
        "Env=dev",
        "--until",
        "2030-01-01T00:00:00Z",
        "--account",
        "123456789012",
        "--region",
        "us-east-1",
    ]);
    assert!(generated.status.success(), "{generated:?}");
    let policy = stdout(&generated);
    let file = temp_file("policy.json", &policy);

    let explained = run_gangway(&["policy", "explain", file.to_str().unwrap()]);
    assert!(explained.status.success(), "{explained:?}");
    let explained = stdout(&explained);
    // The claims, as explain words them.
    for claim in [
        "Until: sessions may start until 2030-01-01T00:00:00Z (aws:CurrentTime).\n",
        "statement StartSessionOnTaggedInstances: allows ssm:StartSession\n  on every EC2 instance (region us-east-1, account 123456789012)\n",
        "  only if the instance's tag Env is \"dev\"\n",
        "statement StartSessionWithTheseDocuments: allows ssm:StartSession\n  on the document SSM-SessionManagerRunShell (region us-east-1, account 123456789012)\n  only if the time is before \"2030-01-01T00:00:00Z\"\n",
        "statement SeeInstancesAndSessions: allows ec2:DescribeInstances, ssm:DescribeInstanceInformation, ssm:GetConnectionStatus, ssm:DescribeSessions, ssm:GetDocument\n  on every resource (*)\n  only if the time is before \"2030-01-01T00:00:00Z\"\n",
        "statement ResumeOwnSessions: allows ssm:ResumeSession\n  on only the caller's own sessions (ids starting with their user name; region us-east-1, account 123456789012)\n  only if the time is before \"2030-01-01T00:00:00Z\"\n",
        "statement TerminateOwnSessions: allows ssm:TerminateSession\n  on only the caller's own sessions (ids starting with their user name; region us-east-1, account 123456789012)\n  always (no conditions)\n",
        "Warnings: none.\n",
    ] {
        assert!(
            explained.contains(claim),
            "missing claim {claim:?} in:\n{explained}"
        );
    }

    let fleet = fleet_with(&policy);
    let emulator = start_fleet(fleet.clone()).await;
    let clock = &emulator.state().clock;
    let pat = ssm(&emulator, "AKIAPAT");
    let admin = ssm(&emulator, ADMIN);
    let dev_instance = id_of(&fleet, "worker-1");
    let prod_instance = id_of(&fleet, "web-1");
    clock.set(SystemTime::UNIX_EPOCH + Duration::from_secs(END - 60));

    // StartSession on instances tagged Env=dev only, with the shell document only.
    let own = session_on(&pat, &dev_instance).await;
    assert_eq!(
        error_code(pat.start_session().target(&prod_instance).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        error_code(
            pat.start_session()
                .target(&dev_instance)
                .document_name("AWS-StartInteractiveCommand")
                .parameters("command", vec!["id".to_owned()])
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    // Seeing instances and sessions, before the end.
    ec2(&emulator, "AKIAPAT")
        .describe_instances()
        .send()
        .await
        .unwrap();
    pat.describe_sessions()
        .state(aws_sdk_ssm::types::SessionState::Active)
        .send()
        .await
        .unwrap();
    // Resume: own sessions only, before the end.
    let others = session_on(&admin, &dev_instance).await;
    pat.resume_session().session_id(&own).send().await.unwrap();
    assert_eq!(
        error_code(pat.resume_session().session_id(&others).send().await),
        "AccessDeniedException"
    );

    // After the end: no session, no look, no resume; terminating one's own still works.
    clock.set(SystemTime::UNIX_EPOCH + Duration::from_secs(END));
    assert_eq!(
        error_code(pat.start_session().target(&dev_instance).send().await),
        "AccessDeniedException"
    );
    assert!(
        ec2(&emulator, "AKIAPAT")
            .describe_instances()
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        error_code(pat.resume_session().session_id(&own).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        error_code(pat.terminate_session().session_id(&others).send().await),
        "AccessDeniedException"
    );
    pat.terminate_session()
        .session_id(&own)
        .send()
        .await
        .unwrap();

    // simulate answers the same, naming the deciding statement.
    let simulated = run_gangway(&[
        "policy",
        "simulate",
        file.to_str().unwrap(),
        "--action",
        "ssm:StartSession",
        "--resource",
        &format!("arn:aws:ec2:us-east-1:123456789012:instance/{dev_instance}"),
        "--instance-tag",
        "Env=dev",
        "--at",
        "2029-12-31T23:59:00Z",
    ]);
    assert_eq!(simulated.status.code(), Some(0), "{simulated:?}");
    assert_eq!(
        stdout(&simulated),
        "allow: statement StartSessionOnTaggedInstances allows it\n"
    );
    let simulated = run_gangway(&[
        "policy",
        "simulate",
        file.to_str().unwrap(),
        "--action",
        "ssm:StartSession",
        "--resource",
        &format!("arn:aws:ec2:us-east-1:123456789012:instance/{dev_instance}"),
        "--instance-tag",
        "Env=dev",
        "--at",
        "2030-01-01T00:00:00Z",
    ]);
    assert_eq!(simulated.status.code(), Some(5), "{simulated:?}");
    assert_eq!(
        stdout(&simulated),
        "deny: no statement allows it (implicit deny)\n"
    );
}

#[tokio::test]
async fn explain_names_the_classic_holes_and_the_emulator_shows_them() {
    let lax = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Everything","Effect":"Allow","Action":"ssm:*","Resource":"*"},{"Sid":"NoProd","Effect":"Deny","Action":"ssm:StartSession","Resource":"*","Condition":{"StringEquals":{"ssm:resourceTag/Env":"prod"}}}]}"#;
    let file = temp_file("lax.json", lax);
    let explained = stdout(&run_gangway(&["policy", "explain", file.to_str().unwrap()]));
    for warning in [
        "Until: no end time: sessions may start for ever.\n",
        "statement Everything allows StartSession with every document, AWS-StartPortForwardingSessionToRemoteHost included",
        "statement Everything allows StartSession with no end time",
        "statement Everything allows ssm:TerminateSession on other users' sessions",
        "statement Everything allows session actions on `*` resources",
        "statement NoProd: DENIES (whatever else allows it) ssm:StartSession\n  on every resource (*)\n  only if the instance's tag Env is \"prod\"",
    ] {
        assert!(
            explained.contains(warning),
            "missing {warning:?} in:\n{explained}"
        );
    }
    let fleet = fleet_with(lax);
    let emulator = start_fleet(fleet.clone()).await;
    let pat = ssm(&emulator, "AKIAPAT");
    let worker = id_of(&fleet, "worker-1");
    // Port forwarding to any host passes IAM: the session starts.
    let forwarded = pat
        .start_session()
        .target(&worker)
        .document_name("AWS-StartPortForwardingSessionToRemoteHost")
        .parameters("host", vec!["db.internal".to_owned()])
        .parameters("portNumber", vec!["5432".to_owned()])
        .send()
        .await;
    assert!(forwarded.is_ok(), "the hole is real: {:?}", forwarded.err());
    // Other users' sessions can be ended; prod stays denied by the explicit Deny.
    let others = session_on(&ssm(&emulator, ADMIN), &worker).await;
    pat.terminate_session()
        .session_id(&others)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(
            pat.start_session()
                .target(id_of(&fleet, "web-1"))
                .send()
                .await
        ),
        "AccessDeniedException"
    );
}

#[test]
fn cloudformation_and_terraform_carry_the_same_document() {
    let args = [
        "policy",
        "new",
        "--tag",
        "Env=dev",
        "--until",
        "2030-01-01",
        "--user",
        "alice",
    ];
    let json: serde_json::Value = serde_json::from_str(&stdout(&run_gangway(&args))).unwrap();
    let template = run_gangway(&[&args[..], &["--output", "cloudformation"]].concat());
    let template: serde_json::Value = serde_json::from_str(&stdout(&template)).unwrap();
    let policy = &template["Resources"]["GangwaySessionAccess"];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    assert_eq!(policy["Properties"]["PolicyDocument"], json);
    assert_eq!(policy["Properties"]["Users"][0], "alice");
    let terraform = stdout(&run_gangway(
        &[&args[..], &["--output", "terraform"]].concat(),
    ));
    // Terraform would interpolate ${aws:username}: it is written $${aws:username}.
    assert!(
        terraform.contains("session/$${aws:username}-*"),
        "{terraform}"
    );
    assert!(!terraform.contains("/${aws:"), "{terraform}");
    assert!(terraform.contains("resource \"aws_iam_user_policy_attachment\""));
    let heredoc = terraform
        .split("<<-POLICY\n")
        .nth(1)
        .and_then(|rest| rest.split("\n  POLICY").next())
        .unwrap();
    let unescaped: serde_json::Value = serde_json::from_str(&heredoc.replace("$${", "${")).unwrap();
    assert_eq!(unescaped, json);
    // The time was a date: its midnight UTC.
    assert!(stdout(&run_gangway(&args)).contains("\"2030-01-01T00:00:00Z\""));
}

#[test]
fn bad_input_is_refused_with_where_and_why() {
    let bad_time = run_gangway(&["policy", "new", "--tag", "Env=dev", "--until", "next week"]);
    assert_eq!(bad_time.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad_time.stderr),
        "gangway policy: --until: `next week` is not an ISO 8601 time (like 2026-12-31T18:00:00Z)\n"
    );
    let not_json = temp_file("broken.json", "{\"Version\": \"2012-10-17\",");
    let refused = run_gangway(&["policy", "explain", not_json.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr
            .contains("broken.json: not valid JSON: line 1, column 25: EOF while parsing a value"),
        "{stderr}"
    );
    let unknown = temp_file(
        "unknown.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:StartSession","Resource":"*","Condition":{"DateLessThann":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#,
    );
    let refused = run_gangway(&[
        "policy",
        "simulate",
        unknown.to_str().unwrap(),
        "--action",
        "ssm:StartSession",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "unknown.json: Statement[0].Condition: unknown condition operator `DateLessThann`"
        ),
        "{refused:?}"
    );
}
