//! StartSession, ResumeSession and TerminateSession (protocol.md §1.1), authorised by IAM
//! (`authorize.rs`): StartSession on the instance (with its tags) and on the document,
//! Resume/Terminate on the session's ARN; then reachability.

use serde_json::{Value, json};

use super::documents::{self, SessionDocument};
use super::requests::{SessionIdRequest, StartSessionRequest};
use super::{Call, SsmError};
use crate::emulator::authorize::{Ask, arn};
use crate::emulator::ids;
use crate::emulator::sessions::{NewSession, RegistryError, SessionRecord};

fn not_connected(target: &str) -> SsmError {
    SsmError::new("TargetNotConnected", format!("{target} is not connected."))
}

pub fn start_session(call: &Call<'_>, request: StartSessionRequest) -> Result<Value, SsmError> {
    validate_start(&request)?;
    let caller = call.caller;
    let target = request.target.as_str();
    let named_document = request.document_name.is_some();
    let document_name = request
        .document_name
        .unwrap_or_else(|| documents::RUN_SHELL.to_owned());
    authorize_start(call, target, &document_name, named_document)?;
    SessionDocument::for_start_session(&document_name, call.state, call.place())?
        .check_parameters(&request.parameters)?;
    check_reachable(call, target)?;
    let (record, token) = call
        .state
        .sessions
        .create(NewSession {
            owner: caller.name.clone(),
            owner_arn: caller.arn(),
            account: caller.account.clone(),
            region: call.region.clone(),
            target: target.to_owned(),
            document_name,
            parameters: request.parameters,
            reason: request.reason.filter(|reason| !reason.is_empty()),
        })
        .map_err(from_registry)?;
    tracing::info!(
        "session {} started by {} on {}",
        record.id,
        caller.name,
        record.target
    );
    Ok(json!({
        "SessionId": record.id,
        "TokenValue": token.expose(),
        "StreamUrl": call.state.stream_url(&record.id, call.authority),
    }))
}

/// Shape checks AWS makes before looking at anything else.
fn validate_start(request: &StartSessionRequest) -> Result<(), SsmError> {
    if !ids::is_ssm_instance_id(&request.target) {
        return Err(SsmError::validation(format!(
            "1 validation error detected: Value '{}' at 'target' failed to satisfy constraint: Member must be an instance id",
            request.target.escape_debug()
        )));
    }
    if request
        .reason
        .as_ref()
        .is_some_and(|reason| reason.chars().count() > 256)
    {
        return Err(SsmError::validation(
            "1 validation error detected: Value at 'reason' failed to satisfy constraint: Member must have length less than or equal to 256",
        ));
    }
    Ok(())
}

/// IAM first, so a user learns nothing about instances they may not use: `ssm:StartSession`
/// on the instance (its tags in `ssm:resourceTag/*` and `aws:ResourceTag/*`; an unknown
/// instance has none, so a tag condition cannot hold), then on the document when the request
/// names one, or, for the default shell document, when the statement that allowed the
/// instance asks for it with `ssm:SessionDocumentAccessCheck` (Session Manager's rule).
fn authorize_start(
    call: &Call<'_>,
    target: &str,
    document: &str,
    named_document: bool,
) -> Result<(), SsmError> {
    let mut ask = Ask::new(
        "ssm:StartSession",
        arn::instance(&call.caller.account, &call.region, target),
    );
    if let Some(instance) = call.state.fleet().instance_in(target, call.place()) {
        ask = ask.tagged(&instance.tags);
    }
    let allowed = call.authorize(&ask)?;
    let access_check = allowed
        .statement
        .conditions
        .iter()
        .any(|c| c.key.eq_ignore_ascii_case("ssm:SessionDocumentAccessCheck"));
    if named_document || access_check {
        // The name comes from the client: it reaches the denial message printable and bounded.
        let shown: String = document
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        let mut ask = Ask::new(
            "ssm:StartSession",
            arn::document(&call.caller.account, &call.region, &shown),
        );
        if access_check {
            ask.extra
                .push(("ssm:SessionDocumentAccessCheck", "true".to_owned()));
        }
        call.authorize(&ask)?;
    }
    Ok(())
}

/// AWS answers TargetNotConnected for an instance it cannot reach, and for one it does not
/// know once IAM let the call through.
fn check_reachable(call: &Call<'_>, target: &str) -> Result<(), SsmError> {
    match call.state.fleet().instance_in(target, call.place()) {
        Some(instance) if instance.is_connectable() => Ok(()),
        _ => Err(not_connected(target)),
    }
}

/// The session, if IAM lets the caller act on it (`action` on the session's ARN; the usual
/// policy allows `session/${aws:username}-*`, the caller's own).
fn owned_session(
    call: &Call<'_>,
    action: &str,
    session_id: &str,
) -> Result<SessionRecord, SsmError> {
    let shown: String = session_id
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    call.authorize(&Ask::new(
        action,
        arn::session(&call.caller.account, &call.region, &shown),
    ))?;
    call.state
        .sessions
        .get(session_id)
        .ok_or_else(|| does_not_exist(session_id))
}

fn does_not_exist(session_id: &str) -> SsmError {
    let shown: String = session_id
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    SsmError::new(
        "DoesNotExistException",
        format!("Session {shown} does not exist."),
    )
}

fn from_registry(err: RegistryError) -> SsmError {
    match err {
        RegistryError::UnknownSession(id) => does_not_exist(&id),
        // StartSession models no quota error; this is SSM's generic one (not retryable,
        // which is right: only ending a session frees a slot), worded like its others.
        RegistryError::TooManySessions { limit, .. } => SsmError::new(
            "ServiceQuotaExceededException",
            format!(
                "The request exceeds the service quota: a user may hold {limit} sessions that have not ended. Terminate a session and try again."
            ),
        ),
    }
}

pub fn resume_session(call: &Call<'_>, request: SessionIdRequest) -> Result<Value, SsmError> {
    let record = owned_session(call, "ssm:ResumeSession", &request.session_id)?;
    let token = call
        .state
        .sessions
        .resume(&record.id)
        .map_err(from_registry)?;
    tracing::info!("session {} resumed by {}", record.id, call.caller.name);
    // An ended session answers with an empty token: clients read that as "timed out" (§7.2).
    Ok(json!({
        "SessionId": record.id,
        "TokenValue": token.as_ref().map_or("", |token| token.expose()),
        "StreamUrl": call.state.stream_url(&record.id, call.authority),
    }))
}

pub fn terminate_session(call: &Call<'_>, request: SessionIdRequest) -> Result<Value, SsmError> {
    let record = owned_session(call, "ssm:TerminateSession", &request.session_id)?;
    call.state
        .sessions
        .request_terminate(&record.id, &call.caller.name)
        .map_err(from_registry)?;
    tracing::info!("session {} terminated by {}", record.id, call.caller.name);
    Ok(json!({ "SessionId": record.id }))
}
