//! SSM over AWS JSON 1.1 (protocol.md §1.1): `POST /` with `X-Amz-Target:
//! AmazonSSM.<Operation>`, JSON in and out, errors as HTTP 400 with `{"__type", "message"}`.

pub mod commands;
mod describe_sessions;
mod document_list;
pub(super) mod documents;
mod error;
mod instances;
mod requests;
mod session_ops;

use std::time::SystemTime;

use hyper::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::SsmError;
use requests::BodyError;

use super::api::ApiRequest;
use super::authorize::{self, Allowed, Ask};
use super::fleet::User;
use super::identity;
use super::router::ResponseBody;
use super::state::EmulatorState;

/// One authenticated call: who asked, and where they reached us.
pub struct Call<'a> {
    pub state: &'a EmulatorState,
    pub caller: &'a User,
    pub authority: Option<&'a str>,
    /// The region of the SigV4 credential scope: ARNs are built in it.
    pub region: String,
}

impl Call<'_> {
    /// The caller's account and the request's region: the fleet this call sees.
    pub fn place(&self) -> crate::emulator::fleet::Place<'_> {
        self.caller.place(&self.region)
    }

    /// IAM authorisation of `ask` for the caller; a denial is AccessDeniedException.
    pub fn authorize(&self, ask: &Ask<'_>) -> Result<Allowed<'_>, SsmError> {
        authorize::check(self.state, self.caller, &self.region, ask)
            .map_err(|denial| SsmError::access_denied(denial.message))
    }

    /// The same for actions without resource-level permissions (resource `*`).
    fn authorize_any(&self, action: &str) -> Result<(), SsmError> {
        self.authorize(&Ask::new(action, "*")).map(|_| ())
    }
}

pub fn handle(
    state: &EmulatorState,
    target: &str,
    request: &ApiRequest<'_>,
) -> Response<ResponseBody> {
    // The operation name comes from the client: logged only in printable, bounded form.
    let operation = super::json11::operation(target, "AmazonSSM.");
    let caller = authenticate(state, request);
    let result = caller.as_ref().map_err(Clone::clone).and_then(|caller| {
        let body = request
            .body
            .as_ref()
            .map_err(|err| SsmError::serialization(err))?;
        let call = Call {
            state,
            caller,
            authority: request.authority(),
            region: identity::signing_region(&request.parts.headers),
        };
        dispatch(&call, target, body)
    });
    log(
        &operation,
        caller.as_ref().ok().map(|user| user.name.as_str()),
        &result,
    );
    match result {
        Ok(body) => super::json11::respond(StatusCode::OK, &body),
        Err(err) => super::json11::respond(err.status, &err.to_json()),
    }
}

fn authenticate<'s>(
    state: &'s EmulatorState,
    request: &ApiRequest<'_>,
) -> Result<std::borrow::Cow<'s, User>, SsmError> {
    super::json11::authenticate(state, request)
        .map_err(|refusal| SsmError::new(refusal.code, refusal.message))
}

fn dispatch(call: &Call<'_>, target: &str, body: &[u8]) -> Result<Value, SsmError> {
    match target {
        "AmazonSSM.DescribeInstanceInformation" => {
            let request = parse(body)?;
            call.authorize_any("ssm:DescribeInstanceInformation")?;
            instances::describe_instance_information(call, request)
        }
        "AmazonSSM.GetConnectionStatus" => {
            let request = parse(body)?;
            call.authorize_any("ssm:GetConnectionStatus")?;
            instances::get_connection_status(call, request)
        }
        "AmazonSSM.ListTagsForResource" => instances::list_tags_for_resource(call, parse(body)?),
        "AmazonSSM.StartSession" => session_ops::start_session(call, parse(body)?),
        "AmazonSSM.ResumeSession" => session_ops::resume_session(call, parse(body)?),
        "AmazonSSM.TerminateSession" => session_ops::terminate_session(call, parse(body)?),
        "AmazonSSM.DescribeSessions" => {
            let request = parse(body)?;
            call.authorize_any("ssm:DescribeSessions")?;
            describe_sessions::describe_sessions(call, request)
        }
        "AmazonSSM.GetDocument" => documents::get_document(call, parse(body)?),
        "AmazonSSM.CreateDocument" => documents::create_document(call, parse(body)?),
        "AmazonSSM.DescribeDocument" => {
            let request = parse(body)?;
            call.authorize_any("ssm:DescribeDocument")?;
            document_list::describe_document(call, request)
        }
        "AmazonSSM.ListDocuments" => {
            let request = parse(body)?;
            call.authorize_any("ssm:ListDocuments")?;
            document_list::list_documents(call, request)
        }
        "AmazonSSM.SendCommand" => commands::send_command(call, parse(body)?),
        "AmazonSSM.ListCommands" => {
            let request = parse(body)?;
            call.authorize_any("ssm:ListCommands")?;
            commands::list_commands(call, request)
        }
        "AmazonSSM.ListCommandInvocations" => {
            let request = parse(body)?;
            call.authorize_any("ssm:ListCommandInvocations")?;
            commands::list_command_invocations(call, request)
        }
        "AmazonSSM.GetCommandInvocation" => {
            let request = parse(body)?;
            call.authorize_any("ssm:GetCommandInvocation")?;
            commands::get_command_invocation(call, request)
        }
        "AmazonSSM.CancelCommand" => commands::cancel_command(call, parse(body)?),
        _ => Err(SsmError::unknown_operation(target)),
    }
}

/// Tokens and credentials never reach the log: only the operation, the user and the outcome.
fn log(operation: &str, user: Option<&str>, result: &Result<Value, SsmError>) {
    let user = user.unwrap_or("-");
    match result {
        Ok(_) => tracing::info!("ssm {operation} user={user} ok"),
        Err(err) => tracing::info!("ssm {operation} user={user} error={}", err.code),
    }
}

/// The body as the operation's request; see `requests::parse` for what is accepted.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, SsmError> {
    requests::parse(body).map_err(|err| match err {
        BodyError::Serialization(message) => SsmError::serialization(&message),
        BodyError::Validation(message) => SsmError::validation(message),
    })
}

/// JSON 1.1 timestamps are epoch seconds; the SDKs accept fractions (milliseconds here).
pub fn epoch_seconds(time: SystemTime) -> f64 {
    let millis = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    millis as f64 / 1000.0
}

/// Checks `MaxResults` against the operation's range, the way AWS words the failure.
pub fn max_results(
    value: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<usize, SsmError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(usize::try_from(value).unwrap_or(0))
    } else {
        Err(SsmError::validation(format!(
            "1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have value between {} and {}",
            range.start(),
            range.end()
        )))
    }
}

pub fn start_offset(next_token: Option<&str>) -> Result<usize, SsmError> {
    match next_token {
        None | Some("") => Ok(0),
        Some(token) => super::pagination::decode(token).ok_or_else(SsmError::invalid_next_token),
    }
}
