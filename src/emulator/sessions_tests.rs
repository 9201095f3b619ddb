#![allow(clippy::unwrap_used)]

use super::*;

fn new_session(owner: &str) -> NewSession {
    NewSession {
        owner: owner.to_owned(),
        owner_arn: format!("arn:aws:iam::123456789012:user/{owner}"),
        account: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        target: "i-0123456789abcdef0".to_owned(),
        document_name: "SSM-SessionManagerRunShell".to_owned(),
        parameters: BTreeMap::new(),
        reason: Some("debugging".to_owned()),
    }
}

#[test]
fn session_ids_are_owner_dash_17_hex() {
    let registry = SessionRegistry::new();
    let (record, _) = registry.create(new_session("dev")).unwrap();
    let suffix = record.id.strip_prefix("dev-").unwrap();
    assert_eq!(suffix.len(), 17);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(record.status, SessionStatus::Connecting);
}

#[test]
fn only_the_current_token_authenticates() {
    let registry = SessionRegistry::new();
    let (record, first) = registry.create(new_session("dev")).unwrap();
    assert!(registry.authenticate(&record.id, first.expose()).is_ok());
    let second = registry.resume(&record.id).unwrap().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        registry.authenticate(&record.id, first.expose()),
        Err(AuthError::BadToken)
    );
    assert!(registry.authenticate(&record.id, second.expose()).is_ok());
    assert_eq!(
        registry.authenticate("dev-00000000000000000", second.expose()),
        Err(AuthError::UnknownSession)
    );
}

#[test]
fn tokens_never_show_in_debug_output() {
    let registry = SessionRegistry::new();
    let (_, token) = registry.create(new_session("dev")).unwrap();
    assert!(!format!("{token:?}").contains(token.expose()));
}

#[test]
fn finished_sessions_move_to_history_and_lose_their_token() {
    let registry = SessionRegistry::new();
    let (record, token) = registry.create(new_session("dev")).unwrap();
    registry.mark_attached(&record.id);
    assert_eq!(
        registry.get(&record.id).unwrap().status,
        SessionStatus::Connected
    );
    registry.finish(&record.id, SessionStatus::Terminated, "shell exited");
    registry.finish(&record.id, SessionStatus::Failed, "ignored second reason");
    let ended = registry.get(&record.id).unwrap();
    assert_eq!(ended.status, SessionStatus::Terminated);
    assert_eq!(ended.end_reason.as_deref(), Some("shell exited"));
    assert!(ended.ended_at.is_some());
    assert!(registry.active().is_empty());
    assert_eq!(registry.history(), vec![ended]);
    assert_eq!(
        registry.authenticate(&record.id, token.expose()),
        Err(AuthError::Ended)
    );
    assert_eq!(registry.resume(&record.id), Ok(None));
}

#[test]
fn terminate_without_agent_ends_at_once() {
    let registry = SessionRegistry::new();
    let (record, _) = registry.create(new_session("dev")).unwrap();
    registry.request_terminate(&record.id, "admin").unwrap();
    let ended = registry.get(&record.id).unwrap();
    assert_eq!(ended.status, SessionStatus::Terminated);
    assert_eq!(
        ended.end_reason.as_deref(),
        Some("Session terminated by admin.")
    );
    assert_eq!(
        registry.request_terminate("nope", "admin"),
        Err(RegistryError::UnknownSession("nope".to_owned()))
    );
}

#[test]
fn terminate_with_agent_signals_it_and_waits_for_finish() {
    let registry = SessionRegistry::new();
    let (record, _) = registry.create(new_session("dev")).unwrap();
    let mut signal = registry.subscribe_terminate(&record.id).unwrap();
    registry.mark_attached(&record.id);
    registry.request_terminate(&record.id, "dev").unwrap();
    assert!(signal.has_changed().unwrap());
    let request = signal.borrow_and_update().clone().unwrap();
    assert_eq!(request.by_user, "dev");
    let pending = registry.get(&record.id).unwrap();
    assert_eq!(pending.status, SessionStatus::Terminating);
    assert!(pending.is_active());
    registry.mark_detached(&record.id);
    assert_eq!(
        registry.get(&record.id).unwrap().status,
        SessionStatus::Terminating
    );
    registry.finish(&record.id, SessionStatus::Terminated, request.reason);
    assert_eq!(registry.history().len(), 1);
}

#[test]
fn listings_keep_creation_order() {
    let registry = SessionRegistry::new();
    let ids: Vec<String> = (0..20)
        .map(|_| registry.create(new_session("dev")).unwrap().0.id)
        .collect();
    let listed: Vec<String> = registry.active().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, ids);
}

#[test]
fn statuses_round_trip_through_their_aws_names() {
    for status in [
        SessionStatus::Connecting,
        SessionStatus::Connected,
        SessionStatus::Disconnected,
        SessionStatus::Terminating,
        SessionStatus::Terminated,
        SessionStatus::Failed,
    ] {
        assert_eq!(SessionStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(SessionStatus::parse("connected"), None);
}

fn limits(connect_timeout: Duration, max_active_per_owner: usize) -> Limits {
    Limits {
        connect_timeout,
        max_active_per_owner,
    }
}

/// F10: a session nobody connects to ends by itself, as Failed, at its deadline; one that
/// was attached in time is not touched.
#[test]
fn sessions_never_connected_end_at_the_connect_timeout() {
    let registry = SessionRegistry::with_limits(limits(Duration::from_millis(50), 10));
    let (never, _) = registry.create(new_session("dev")).unwrap();
    let (used, _) = registry.create(new_session("dev")).unwrap();
    registry.mark_attached(&used.id);
    // Its token was checked in time; the agent task has not attached yet.
    let (opening, token) = registry.create(new_session("dev")).unwrap();
    registry.authenticate(&opening.id, token.expose()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while registry.get(&never.id).unwrap().is_active() {
        assert!(Instant::now() < deadline, "never expired");
        std::thread::sleep(Duration::from_millis(10));
    }
    let ended = registry.get(&never.id).unwrap();
    assert_eq!(ended.status, SessionStatus::Failed);
    assert_eq!(
        ended.ended_at,
        Some(ended.started_at + Duration::from_millis(50))
    );
    assert!(ended.end_reason.unwrap().contains("not connected"));
    assert_eq!(
        registry.get(&used.id).unwrap().status,
        SessionStatus::Connected
    );
    assert!(registry.get(&opening.id).unwrap().is_active());
    assert_eq!(registry.active().len(), 2);
}

/// F10: one owner holds at most the limit of sessions that have not ended; another owner is
/// not affected, and ending one gives a slot back.
#[test]
fn one_owner_holds_at_most_the_limit() {
    let registry = SessionRegistry::with_limits(limits(Duration::from_secs(600), 2));
    let (first, _) = registry.create(new_session("dev")).unwrap();
    registry.create(new_session("dev")).unwrap();
    assert_eq!(
        registry.create(new_session("dev")).unwrap_err(),
        RegistryError::TooManySessions {
            owner: "dev".to_owned(),
            limit: 2
        }
    );
    registry.create(new_session("ops")).unwrap();
    registry.finish(&first.id, SessionStatus::Terminated, "done");
    registry.create(new_session("dev")).unwrap();
    registry.request_terminate(&first.id, "dev").unwrap();
    assert!(registry.create(new_session("dev")).is_err());
}
