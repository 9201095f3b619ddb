//! Fleets per account and region, and STS AssumeRole (issue 13), through the real AWS SDK
//! over HTTP: each (account, region) sees its own instances, and a role in another account
//! gives credentials that see that account's fleet, or AWS's AccessDenied.

use aws_sdk_ec2::config::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;

use crate::support::accounts::{
    ACCOUNT_A, ACCOUNT_B, ALICE, BOB, LOCKED_ROLE, OPS_ADMIN_ROLE, OPS_ROLE, fleet,
};
use crate::support::aws_clients::{DEV, client_at, client_in, user_key};
use crate::support::emulator::start_fleet;

/// The Name tags EC2 lists, sorted.
async fn ec2_names(client: &aws_sdk_ec2::Client) -> Vec<String> {
    let output = client.describe_instances().send().await.unwrap();
    let mut names: Vec<String> = output
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| {
            i.tags()
                .iter()
                .find(|t| t.key() == Some("Name"))
                .and_then(|t| t.value().map(str::to_owned))
        })
        .collect();
    names.sort();
    names
}

async fn ssm_ids(client: &aws_sdk_ssm::Client) -> Vec<String> {
    let output = client.describe_instance_information().send().await.unwrap();
    let mut ids: Vec<String> = output
        .instance_information_list()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn two_accounts_and_two_regions_see_distinct_fleets() {
    let emulator = start_fleet(fleet()).await;
    let at = |key: &str, region: &str| -> aws_sdk_ec2::Client {
        client_in(&emulator.endpoint, region, user_key(key))
    };
    assert_eq!(
        ec2_names(&at(ALICE, "us-east-1")).await,
        ["a-east-web", "a-everywhere"]
    );
    assert_eq!(
        ec2_names(&at(ALICE, "eu-west-1")).await,
        ["a-everywhere", "a-west-web"]
    );
    assert_eq!(ec2_names(&at(BOB, "us-east-1")).await, ["b-east-db"]);
    assert_eq!(ec2_names(&at(BOB, "eu-west-1")).await, ["b-west-cache"]);
    // The built-in users are in account A too.
    assert_eq!(
        ec2_names(&at(DEV, "us-east-1")).await,
        ["a-east-web", "a-everywhere"]
    );
    // SSM agrees with EC2, and another account's instance does not exist here.
    let bob_east: aws_sdk_ssm::Client = client_at(&emulator.endpoint, BOB);
    assert_eq!(ssm_ids(&bob_east).await, ["i-0b00000000000b001"]);
    let missing = at(BOB, "us-east-1")
        .describe_instances()
        .instance_ids("i-0a00000000000a001")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("InvalidInstanceID.NotFound"));
    let started = bob_east
        .start_session()
        .target("i-0b00000000000b002")
        .send()
        .await
        .unwrap_err();
    assert_eq!(started.code(), Some("TargetNotConnected"), "{started:?}");
    // Owner ids and caller identities name each account.
    let owner = at(BOB, "us-east-1")
        .describe_instances()
        .send()
        .await
        .unwrap();
    assert_eq!(owner.reservations()[0].owner_id(), Some(ACCOUNT_B));
    let me = client_at::<aws_sdk_sts::Client>(&emulator.endpoint, BOB)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(ACCOUNT_B));
    assert_eq!(me.arn(), Some("arn:aws:iam::210987654321:user/bob"));
}

#[tokio::test]
async fn an_assumed_role_sees_its_own_accounts_fleet() {
    let emulator = start_fleet(fleet()).await;
    let alice = client_at::<aws_sdk_sts::Client>(&emulator.endpoint, ALICE);
    let assumed = alice
        .assume_role()
        .role_arn(OPS_ROLE)
        .role_session_name("gangway-test")
        .send()
        .await
        .unwrap();
    let user = assumed.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::210987654321:assumed-role/ops/gangway-test"
    );
    let creds = assumed.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let temporary = Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "assumed-role",
    );
    let me = client_in::<aws_sdk_sts::Client>(&emulator.endpoint, "us-east-1", temporary.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(ACCOUNT_B));
    assert_eq!(me.arn(), Some(user.arn()));
    assert_eq!(
        ec2_names(&client_in(
            &emulator.endpoint,
            "eu-west-1",
            temporary.clone()
        ))
        .await,
        ["b-west-cache"]
    );
    // The role's permissions are an engineer's: it may look, not create documents.
    let denied = client_in::<aws_sdk_ssm::Client>(&emulator.endpoint, "us-east-1", temporary)
        .create_document()
        .name("x-doc")
        .content("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDeniedException"));
    assert!(
        denied.message().unwrap_or_default().starts_with(
            "User: arn:aws:sts::210987654321:assumed-role/ops/gangway-test is not authorized"
        ),
        "{denied:?}"
    );
    assert_eq!(ACCOUNT_A, "123456789012");
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_aws_access_denied() {
    let emulator = start_fleet(fleet()).await;
    let assume = |key: &'static str, role: &'static str| {
        let client = client_at::<aws_sdk_sts::Client>(&emulator.endpoint, key);
        async move {
            client
                .assume_role()
                .role_arn(role)
                .role_session_name("gangway-test")
                .send()
                .await
                .unwrap_err()
        }
    };
    // The trust policy does not name account A.
    let locked = assume(ALICE, LOCKED_ROLE).await;
    assert_eq!(locked.code(), Some("AccessDenied"), "{locked:?}");
    assert_eq!(
        locked.message(),
        Some(
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: \
             sts:AssumeRole on resource: arn:aws:iam::210987654321:role/locked"
        )
    );
    // Trusted account, but dev's own policies do not allow sts:AssumeRole (cross-account
    // needs both).
    let dev = assume(DEV, OPS_ROLE).await;
    assert_eq!(dev.code(), Some("AccessDenied"), "{dev:?}");
    assert!(dev.message().unwrap_or_default().contains("user/dev"));
    // Within its own account, a trust policy that names dev is enough without dev's own
    // policies allowing sts:AssumeRole (IAM's rule for same-account principals).
    let same = client_at::<aws_sdk_sts::Client>(&emulator.endpoint, DEV)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/self-service")
        .role_session_name("dev-self")
        .send()
        .await
        .unwrap();
    assert_eq!(
        same.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::123456789012:assumed-role/self-service/dev-self"
    );
    // A role nobody defined: the same answer, as AWS gives.
    let unknown = assume(ALICE, "arn:aws:iam::210987654321:role/nobody").await;
    assert_eq!(unknown.code(), Some("AccessDenied"));
    // Malformed input is a ValidationError.
    let client = client_at::<aws_sdk_sts::Client>(&emulator.endpoint, ALICE);
    let short = client
        .assume_role()
        .role_arn(OPS_ROLE)
        .role_session_name("gangway-test")
        .duration_seconds(60)
        .send()
        .await
        .unwrap_err();
    assert_eq!(short.code(), Some("ValidationError"));
}

/// SendCommand's commands and CreateDocument's documents belong to the account and region
/// they were made in, as in SSM: account A (alice's keys) and account B (a role assumed
/// from alice) each see only their own, and another region of the same account sees none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_command_and_documents_are_per_account_and_region() {
    use aws_sdk_ssm::types::{CommandInvocationStatus, DocumentKeyValuesFilter};
    use aws_sdk_ssm::types::{DocumentFormat, DocumentType};

    let emulator = start_fleet(fleet()).await;
    let endpoint = emulator.endpoint.clone();
    let alice = |region: &str| client_in::<aws_sdk_ssm::Client>(&endpoint, region, user_key(ALICE));
    let assumed = client_in::<aws_sdk_sts::Client>(&endpoint, "us-east-1", user_key(ALICE))
        .assume_role()
        .role_arn(OPS_ADMIN_ROLE)
        .role_session_name("gangway-test")
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap();
    let role = Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "assumed-role",
    );
    let bob_role = |region: &str| client_in::<aws_sdk_ssm::Client>(&endpoint, region, role.clone());
    let send = |client: aws_sdk_ssm::Client, instance: &'static str, text: &'static str| async move {
        client
            .send_command()
            .document_name("AWS-RunShellScript")
            .instance_ids(instance)
            .parameters("commands", vec![format!("echo {text}")])
            .send()
            .await
    };
    let command_id = |sent: aws_sdk_ssm::operation::send_command::SendCommandOutput| {
        sent.command().unwrap().command_id().unwrap().to_owned()
    };
    let a_east_web = "i-0a00000000000a001";
    let b_east_db = "i-0b00000000000b001";

    let a_command = command_id(
        send(alice("us-east-1"), a_east_web, "from-a")
            .await
            .unwrap(),
    );
    // Account B cannot name A's instance; the error names B's account.
    let refused = send(bob_role("us-east-1"), a_east_web, "x")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidInstanceId"), "{refused:?}");
    assert!(
        refused.message().unwrap_or_default().contains(ACCOUNT_B),
        "{refused:?}"
    );
    let b_command = command_id(
        send(bob_role("us-east-1"), b_east_db, "from-b")
            .await
            .unwrap(),
    );

    // B's invocation runs and B reads its output.
    let deadline = tokio::time::Instant::now() + crate::support::PATIENCE;
    let output = loop {
        let invocation = bob_role("us-east-1")
            .get_command_invocation()
            .command_id(&b_command)
            .instance_id(b_east_db)
            .send()
            .await
            .unwrap();
        if invocation.status() == Some(&CommandInvocationStatus::Success) {
            break invocation
                .standard_output_content()
                .unwrap_or_default()
                .to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B's command did not finish: {invocation:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(output, "from-b\n");

    // Each account lists its own commands, and another region none.
    let listed = |client: aws_sdk_ssm::Client| async move {
        let out = client.list_commands().send().await.unwrap();
        out.commands()
            .iter()
            .filter_map(|c| c.command_id().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(alice("us-east-1")).await, [a_command.as_str()]);
    assert_eq!(listed(bob_role("us-east-1")).await, [b_command.as_str()]);
    assert!(listed(alice("eu-west-1")).await.is_empty());
    let invocations = bob_role("us-east-1")
        .list_command_invocations()
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = invocations
        .command_invocations()
        .iter()
        .filter_map(|i| i.command_id())
        .collect();
    assert_eq!(ids, [b_command.as_str()]);
    // A's command does not exist for B: by id, for reading and for cancelling.
    let by_id = bob_role("us-east-1")
        .list_commands()
        .command_id(&a_command)
        .send()
        .await
        .unwrap_err();
    assert_eq!(by_id.code(), Some("InvalidCommandId"), "{by_id:?}");
    let read = bob_role("us-east-1")
        .get_command_invocation()
        .command_id(&a_command)
        .instance_id(a_east_web)
        .send()
        .await
        .unwrap_err();
    assert_eq!(read.code(), Some("InvalidCommandId"), "{read:?}");
    let cancel = bob_role("us-east-1")
        .cancel_command()
        .command_id(&a_command)
        .send()
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Some("InvalidCommandId"), "{cancel:?}");
    let read = alice("eu-west-1")
        .get_command_invocation()
        .command_id(&a_command)
        .instance_id(a_east_web)
        .send()
        .await
        .unwrap_err();
    assert_eq!(read.code(), Some("InvalidCommandId"), "{read:?}");

    // A document B creates in us-east-1 is B's there only.
    let content = gangway::aws::documents::exec_document_content().to_string();
    let create = |client: aws_sdk_ssm::Client| {
        let content = content.clone();
        async move {
            client
                .create_document()
                .name("team-doc")
                .content(content)
                .document_type(DocumentType::Session)
                .document_format(DocumentFormat::Json)
                .send()
                .await
        }
    };
    let created = create(bob_role("us-east-1")).await.unwrap();
    assert_eq!(
        created.document_description().unwrap().owner(),
        Some(ACCOUNT_B)
    );
    let own = |client: aws_sdk_ssm::Client| async move {
        let out = client
            .list_documents()
            .filters(
                DocumentKeyValuesFilter::builder()
                    .key("Owner")
                    .values("Self")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.document_identifiers()
            .iter()
            .filter_map(|d| d.name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(
        own(bob_role("us-east-1"))
            .await
            .contains(&"team-doc".to_owned())
    );
    assert!(
        !own(alice("us-east-1"))
            .await
            .contains(&"team-doc".to_owned())
    );
    for client in [alice("us-east-1"), bob_role("eu-west-1")] {
        let missing = client
            .get_document()
            .name("team-doc")
            .send()
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Some("InvalidDocument"), "{missing:?}");
    }
    // A session with it in B's us-east-1 runs B's document; A cannot start one with it.
    let started = crate::support::agent_client::start_session(
        &bob_role("us-east-1"),
        b_east_db,
        Some("team-doc"),
        Some("echo team-doc-ran"),
    )
    .await;
    let mut client =
        crate::support::agent_client::Client::open(bob_role("us-east-1"), started).await;
    client.until_stdout_contains("team-doc-ran").await;
    let refused = alice("us-east-1")
        .start_session()
        .target(a_east_web)
        .document_name("team-doc")
        .parameters("command", vec!["true".into()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidDocument"), "{refused:?}");
    // The name is free in A's account, and taken in B's.
    create(alice("us-east-1")).await.unwrap();
    let again = create(bob_role("us-east-1")).await.unwrap_err();
    assert_eq!(again.code(), Some("DocumentAlreadyExists"), "{again:?}");
}
