//! StartSession, ResumeSession and TerminateSession (protocol.md §1.1), with the permission
//! model of issue 3: StartSession only on reachable instances in the caller's tag scope and
//! before their expiry; Resume/Terminate only on one's own sessions unless admin.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::documents::{self, SessionDocument};
use super::requests::{SessionIdRequest, StartSessionRequest};
use super::{Call, SsmError};
use crate::emulator::fleet::{ACCOUNT_ID, User};
use crate::emulator::ids;
use crate::emulator::sessions::{NewSession, RegistryError, SessionRecord};

fn denied(caller: &User, action: &str, resource: &str, why: &str) -> SsmError {
    SsmError::access_denied(format!(
        "User: {} is not authorized to perform: ssm:{action} on resource: {resource} {why}",
        caller.arn()
    ))
}

fn instance_arn(target: &str) -> String {
    format!("arn:aws:ec2:us-east-1:{ACCOUNT_ID}:instance/{target}")
}

fn not_connected(target: &str) -> SsmError {
    SsmError::new("TargetNotConnected", format!("{target} is not connected."))
}

pub fn start_session(call: &Call<'_>, request: StartSessionRequest) -> Result<Value, SsmError> {
    validate_start(&request)?;
    let caller = call.caller;
    let target = request.target.as_str();
    if caller.is_expired(SystemTime::now()) {
        let why = "because the user's access has expired";
        return Err(denied(caller, "StartSession", &instance_arn(target), why));
    }
    let document_name = request
        .document_name
        .unwrap_or_else(|| documents::RUN_SHELL.to_owned());
    SessionDocument::for_start_session(&document_name, call.state)?
        .check_parameters(&request.parameters)?;
    authorize_target(call, target)?;
    let (record, token) = call
        .state
        .sessions
        .create(NewSession {
            owner: caller.name.clone(),
            owner_arn: caller.arn(),
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

/// The IAM-like scope check, then reachability: scope first, so a user learns nothing about
/// the health of instances they may not use.
fn authorize_target(call: &Call<'_>, target: &str) -> Result<(), SsmError> {
    let caller = call.caller;
    let no_policy = "because no identity-based policy allows the ssm:StartSession action";
    match call.state.fleet().instance(target) {
        // A tag condition cannot hold for an instance that does not exist.
        None if !caller.scope.is_empty() => Err(denied(
            caller,
            "StartSession",
            &instance_arn(target),
            no_policy,
        )),
        None => Err(not_connected(target)),
        Some(instance) if !caller.may_reach(instance) => Err(denied(
            caller,
            "StartSession",
            &instance_arn(target),
            no_policy,
        )),
        Some(instance) if !instance.is_connectable() => Err(not_connected(target)),
        Some(_) => Ok(()),
    }
}

/// The session, if the caller may act on it (their own, or any for an admin).
fn owned_session(
    call: &Call<'_>,
    action: &str,
    session_id: &str,
) -> Result<SessionRecord, SsmError> {
    let record = call
        .state
        .sessions
        .get(session_id)
        .ok_or_else(|| does_not_exist(session_id))?;
    if record.owner != call.caller.name && !call.caller.is_admin() {
        let resource = format!("arn:aws:ssm:us-east-1:{ACCOUNT_ID}:session/{session_id}");
        return Err(denied(
            call.caller,
            action,
            &resource,
            "because the session belongs to another user",
        ));
    }
    Ok(record)
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
    let record = owned_session(call, "ResumeSession", &request.session_id)?;
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
    let record = owned_session(call, "TerminateSession", &request.session_id)?;
    call.state
        .sessions
        .request_terminate(&record.id, &call.caller.name)
        .map_err(from_registry)?;
    tracing::info!("session {} terminated by {}", record.id, call.caller.name);
    Ok(json!({ "SessionId": record.id }))
}
