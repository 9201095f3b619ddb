//! STS GetCallerIdentity over the Query protocol (API version 2011-06-15): who the caller is,
//! so a client can show the identity it works as and recognise its own sessions. Nothing else
//! of STS is emulated; other actions get `InvalidAction` as AWS answers an unknown one.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::api::ApiRequest;
use super::ec2::XmlWriter;
use super::fleet::ACCOUNT_ID;
use super::identity::{self, CallerError, EXPIRED_TOKEN_MESSAGE};
use super::router::ResponseBody;
use super::state::EmulatorState;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub fn handle(state: &EmulatorState, request: &ApiRequest<'_>) -> Response<ResponseBody> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let action = request.body.as_ref().ok().and_then(|body| {
        form_urlencoded::parse(body)
            .find(|(key, _)| key == "Action")
            .map(|(_, value)| value.into_owned())
    });
    let answer = match identity::caller(state.fleet(), &request.parts.headers, state.clock.now()) {
        Err(CallerError::MissingCredentials) => Err((
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token".to_owned(),
        )),
        Err(CallerError::UnknownAccessKey) => Err((
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".to_owned(),
        )),
        Err(CallerError::ExpiredToken) => Err((
            StatusCode::FORBIDDEN,
            "ExpiredToken",
            EXPIRED_TOKEN_MESSAGE.to_owned(),
        )),
        Ok(user) => match action.as_deref() {
            Some("GetCallerIdentity") => Ok(caller_identity(
                &user.arn(),
                &user.access_key_id,
                &request_id,
            )),
            other => Err((
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!(
                    "Could not find operation {} for version 2011-06-15",
                    other.unwrap_or_default().escape_debug()
                ),
            )),
        },
    };
    tracing::info!(
        "sts {} {}",
        action.as_deref().unwrap_or("-").escape_debug(),
        if answer.is_ok() { "ok" } else { "error" }
    );
    match answer {
        Ok(xml) => respond(StatusCode::OK, xml),
        Err((status, code, message)) => respond(status, error(code, &message, &request_id)),
    }
}

fn caller_identity(arn: &str, access_key_id: &str, request_id: &str) -> String {
    let mut xml = XmlWriter::with_namespace("GetCallerIdentityResponse", NAMESPACE);
    xml.open("GetCallerIdentityResult");
    xml.leaf("Arn", arn);
    // AWS's UserId for an IAM user is its unique id (AIDA…); the emulator derives a stable one.
    xml.leaf(
        "UserId",
        &format!("AIDA{}", access_key_id.trim_start_matches("AKIA")),
    );
    xml.leaf("Account", ACCOUNT_ID);
    xml.close("GetCallerIdentityResult");
    xml.open("ResponseMetadata");
    xml.leaf("RequestId", request_id);
    xml.close("ResponseMetadata");
    xml.finish("GetCallerIdentityResponse")
}

fn error(code: &str, message: &str, request_id: &str) -> String {
    let mut xml = XmlWriter::with_namespace("ErrorResponse", NAMESPACE);
    xml.open("Error");
    xml.leaf("Type", "Sender");
    xml.leaf("Code", code);
    xml.leaf("Message", message);
    xml.close("Error");
    xml.leaf("RequestId", request_id);
    xml.finish("ErrorResponse")
}

fn respond(status: StatusCode, xml: String) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(xml)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}
