//! StartSession, ResumeSession and TerminateSession with the permission model of issue 3,
//! through the real aws-sdk-ssm client.

use crate::support::aws_clients::{
    ADMIN, DEV, error_code, fleet_with_extra_engineers, id_of, session_on, ssm,
};
use crate::support::emulator::start_fleet;

#[tokio::test]
async fn start_session_mints_an_id_a_token_and_a_stream_url_on_the_emulator() {
    let fleet = fleet_with_extra_engineers();
    let emulator = start_fleet(fleet.clone()).await;
    let dev = ssm(&emulator, DEV);
    let target = id_of(&fleet, "worker-1");
    let started = dev
        .start_session()
        .target(&target)
        .reason("checking disk")
        .send()
        .await
        .unwrap();
    let session_id = started.session_id().unwrap();
    let suffix = session_id.strip_prefix("dev-").unwrap();
    assert_eq!(suffix.len(), 17);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(started.token_value().unwrap().len() >= 32);
    let port = emulator.local_addr.port();
    assert_eq!(
        started.stream_url().unwrap(),
        format!("ws://127.0.0.1:{port}/v1/data-channel/{session_id}?role=publish_subscribe")
    );
    let record = emulator.state().sessions.get(session_id).unwrap();
    assert_eq!(record.target, target);
    assert_eq!(record.document_name, "SSM-SessionManagerRunShell");
    assert_eq!(record.reason.as_deref(), Some("checking disk"));
    // The registry accepts exactly the token the API handed out.
    assert!(
        emulator
            .state()
            .sessions
            .authenticate(session_id, started.token_value().unwrap())
            .is_ok()
    );

    let command = dev
        .start_session()
        .target(&target)
        .document_name("AWS-StartInteractiveCommand")
        .parameters("command", vec!["uptime".to_owned()])
        .send()
        .await
        .unwrap();
    let record = emulator
        .state()
        .sessions
        .get(command.session_id().unwrap())
        .unwrap();
    assert_eq!(record.parameters["command"], ["uptime"]);
}

#[tokio::test]
async fn start_session_enforces_scope_expiry_reachability_and_documents() {
    let fleet = fleet_with_extra_engineers();
    let emulator = start_fleet(fleet.clone()).await;
    let dev = ssm(&emulator, DEV);
    let admin = ssm(&emulator, ADMIN);
    let former = ssm(&emulator, "AKIAFORMER");
    let start_on = |client: &aws_sdk_ssm::Client, name: &str| {
        client.start_session().target(id_of(&fleet, name)).send()
    };
    // Out of the dev scope (Env=prod), whatever the instance's health.
    assert_eq!(
        error_code(start_on(&dev, "web-1").await),
        "AccessDeniedException"
    );
    assert!(start_on(&admin, "web-1").await.is_ok());
    // Expired access: denied even though there is no tag scope.
    assert_eq!(
        error_code(start_on(&former, "worker-1").await),
        "AccessDeniedException"
    );
    // In scope but unreachable: stopped, agent offline, no agent at all.
    assert_eq!(
        error_code(start_on(&dev, "worker-2").await),
        "TargetNotConnected"
    );
    assert_eq!(
        error_code(start_on(&admin, "db-1").await),
        "TargetNotConnected"
    );
    assert_eq!(
        error_code(start_on(&dev, "unmanaged-1").await),
        "TargetNotConnected"
    );
    // Hybrid nodes have no EC2 state and are reachable when Online.
    assert!(start_on(&dev, "onprem-1").await.is_ok());
    // Unknown instance: admins learn it is not connected; a tag scope cannot match it.
    assert_eq!(
        error_code(
            admin
                .start_session()
                .target("i-00000000000000bad")
                .send()
                .await
        ),
        "TargetNotConnected"
    );
    assert_eq!(
        error_code(
            dev.start_session()
                .target("i-00000000000000bad")
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    assert_eq!(
        error_code(dev.start_session().target("web-1").send().await),
        "ValidationException"
    );
    let target = id_of(&fleet, "worker-1");
    // Port documents exist; their parameters are held to the document's allowedPattern.
    let port = dev
        .start_session()
        .target(&target)
        .document_name("AWS-StartPortForwardingSession")
        .parameters("portNumber", vec!["0".into()])
        .send()
        .await;
    assert_eq!(error_code(port), "InvalidParameters");
    let unknown = dev
        .start_session()
        .target(&target)
        .document_name("Nope")
        .send()
        .await;
    assert_eq!(error_code(unknown), "InvalidDocument");
    let no_command = dev
        .start_session()
        .target(&target)
        .document_name("AWS-StartInteractiveCommand")
        .send()
        .await;
    assert_eq!(error_code(no_command), "InvalidParameters");
    // Nothing was created by the refused calls: two admin/dev successes only.
    assert_eq!(emulator.state().sessions.active().len(), 2);
}

#[tokio::test]
async fn resume_issues_new_tokens_until_the_session_ends() {
    let fleet = fleet_with_extra_engineers();
    let emulator = start_fleet(fleet.clone()).await;
    let dev = ssm(&emulator, DEV);
    let started = dev
        .start_session()
        .target(id_of(&fleet, "worker-1"))
        .send()
        .await
        .unwrap();
    let session_id = started.session_id().unwrap();
    let resumed = dev
        .resume_session()
        .session_id(session_id)
        .send()
        .await
        .unwrap();
    let token = resumed.token_value().unwrap();
    assert!(!token.is_empty());
    assert_ne!(token, started.token_value().unwrap());
    assert_eq!(resumed.stream_url(), started.stream_url());
    let sessions = &emulator.state().sessions;
    assert!(
        sessions
            .authenticate(session_id, started.token_value().unwrap())
            .is_err()
    );
    assert!(sessions.authenticate(session_id, token).is_ok());
    let other = ssm(&emulator, "AKIAOPS2");
    assert_eq!(
        error_code(other.resume_session().session_id(session_id).send().await),
        "AccessDeniedException"
    );
    dev.terminate_session()
        .session_id(session_id)
        .send()
        .await
        .unwrap();
    let after = dev
        .resume_session()
        .session_id(session_id)
        .send()
        .await
        .unwrap();
    assert_eq!(after.token_value(), Some(""));
    assert_eq!(
        error_code(
            dev.resume_session()
                .session_id("dev-00000000000000000")
                .send()
                .await
        ),
        "DoesNotExistException"
    );
}

#[tokio::test]
async fn terminate_own_sessions_unless_admin() {
    let fleet = fleet_with_extra_engineers();
    let emulator = start_fleet(fleet.clone()).await;
    let dev = ssm(&emulator, DEV);
    let ops2 = ssm(&emulator, "AKIAOPS2");
    let admin = ssm(&emulator, ADMIN);
    let target = id_of(&fleet, "worker-1");
    let first = session_on(&dev, &target).await;
    let second = session_on(&dev, &target).await;
    assert_eq!(
        error_code(ops2.terminate_session().session_id(&first).send().await),
        "AccessDeniedException"
    );
    assert!(emulator.state().sessions.get(&first).unwrap().is_active());
    let own = dev
        .terminate_session()
        .session_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(own.session_id(), Some(first.as_str()));
    admin
        .terminate_session()
        .session_id(&second)
        .send()
        .await
        .unwrap();
    let history = emulator.state().sessions.history();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1].end_reason.as_deref(),
        Some("Session terminated by admin.")
    );
    // Terminating an ended session again is harmless, as in AWS.
    dev.terminate_session()
        .session_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(
            dev.terminate_session()
                .session_id("dev-00000000000000000")
                .send()
                .await
        ),
        "DoesNotExistException"
    );
}
