//! What every AWS JSON 1.1 service of the emulator (SSM, KMS, CloudTrail, EventBridge) does
//! the same way before and after its own work: the operation's name from `X-Amz-Target`, in
//! printable bounded form for logs; who is calling, or the service's answer to a request
//! without a known, unexpired key; and the response (`application/x-amz-json-1.1`, an
//! `x-amzn-requestid`, errors as `{"__type", "message"}`).

use std::borrow::Cow;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::api::ApiRequest;
use super::fleet::User;
use super::identity::{self, CallerError};
use super::router::ResponseBody;
use super::state::EmulatorState;

/// The operation of `target` (`AmazonSSM.StartSession` → `StartSession`), control
/// characters dropped and at most 100 characters: the client chose it, so it is logged only
/// in this form.
pub fn operation(target: &str, prefix: &str) -> String {
    target
        .strip_prefix(prefix)
        .unwrap_or(target)
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}

/// A JSON 1.1 error: its `__type` code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: &'static str,
}

/// The caller, or the answer every JSON 1.1 service gives a request without credentials, with
/// a key no account has, or with expired temporary credentials.
pub fn authenticate<'s>(
    state: &'s EmulatorState,
    request: &ApiRequest<'_>,
) -> Result<Cow<'s, User>, Refusal> {
    identity::authenticate(state, &request.parts.headers).map_err(|err| match err {
        CallerError::MissingCredentials => Refusal {
            code: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token",
        },
        CallerError::UnknownAccessKey => Refusal {
            code: "UnrecognizedClientException",
            message: "The security token included in the request is invalid.",
        },
        CallerError::ExpiredToken => Refusal {
            code: "ExpiredTokenException",
            message: identity::EXPIRED_TOKEN_MESSAGE,
        },
    })
}

/// The body of an error answer.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({ "__type": code, "message": message })
}

/// The response: `body` with JSON 1.1's content type and a request id.
pub fn respond(status: StatusCode, body: &Value) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
