#![allow(clippy::unwrap_used)]

use super::*;

fn new_session(owner: &str) -> NewSession {
    NewSession {
        owner: owner.to_owned(),
        owner_arn: format!("arn:aws:iam::123456789012:user/{owner}"),
        target: "i-0123456789abcdef0".to_owned(),
        document_name: "SSM-SessionManagerRunShell".to_owned(),
        parameters: BTreeMap::new(),
        reason: Some("debugging".to_owned()),
    }
}

#[test]
fn session_ids_are_owner_dash_17_hex() {
    let registry = SessionRegistry::new();
    let (record, _) = registry.create(new_session("dev"));
    let suffix = record.id.strip_prefix("dev-").unwrap();
    assert_eq!(suffix.len(), 17);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(record.status, SessionStatus::Connecting);
}

#[test]
fn only_the_current_token_authenticates() {
    let registry = SessionRegistry::new();
    let (record, first) = registry.create(new_session("dev"));
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
    let (_, token) = registry.create(new_session("dev"));
    assert!(!format!("{token:?}").contains(token.expose()));
}

#[test]
fn finished_sessions_move_to_history_and_lose_their_token() {
    let registry = SessionRegistry::new();
    let (record, token) = registry.create(new_session("dev"));
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
    let (record, _) = registry.create(new_session("dev"));
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
    let (record, _) = registry.create(new_session("dev"));
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
        .map(|_| registry.create(new_session("dev")).0.id)
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
