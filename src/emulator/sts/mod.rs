//! STS over the Query protocol (API version 2011-06-15): GetCallerIdentity (who the caller
//! is, so a client can show the identity it works as and recognise its own sessions) and
//! AssumeRole (`assume_role.rs`: temporary credentials in another account, issue 13).
//! Other actions get `InvalidAction` as AWS answers an unknown one.

mod assume_role;
pub mod assumed;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::api::ApiRequest;
use super::ec2::XmlWriter;
use super::fleet::{Principal, User};
use super::identity::{self, CallerError, EXPIRED_TOKEN_MESSAGE};
use super::router::ResponseBody;
use super::state::EmulatorState;

pub(crate) const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub fn handle(state: &EmulatorState, request: &ApiRequest<'_>) -> Response<ResponseBody> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let params: Vec<(String, String)> = request
        .body
        .as_ref()
        .map(|body| form_urlencoded::parse(body).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let action = param("Action").map(str::to_owned);
    let answer = match identity::authenticate(state, &request.parts.headers) {
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
            Some("GetCallerIdentity") => Ok(caller_identity(&user, &request_id)),
            Some("AssumeRole") => {
                let region = identity::signing_region(&request.parts.headers);
                assume_role::assume_role(state, &user, &region, &params, &request_id)
            }
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

/// An error answer: HTTP status, AWS's code, its message.
pub(crate) type StsError = (StatusCode, &'static str, String);

fn caller_identity(user: &User, request_id: &str) -> String {
    let mut xml = XmlWriter::with_namespace("GetCallerIdentityResponse", NAMESPACE);
    xml.open("GetCallerIdentityResult");
    xml.leaf("Arn", &user.arn());
    xml.leaf("UserId", &user_id(user));
    xml.leaf("Account", &user.account);
    xml.close("GetCallerIdentityResult");
    xml.open("ResponseMetadata");
    xml.leaf("RequestId", request_id);
    xml.close("ResponseMetadata");
    xml.finish("GetCallerIdentityResponse")
}

/// AWS's UserId: an IAM user's unique id (AIDA…), or for a role session the role's id
/// (AROA…) and the session name; the emulator derives stable ones.
pub(crate) fn user_id(user: &User) -> String {
    match &user.principal {
        Principal::IamUser => format!(
            "AIDA{}",
            user.access_key_id
                .trim_start_matches("AKIA")
                .trim_start_matches("ASIA")
        ),
        Principal::AssumedRole { role } => {
            format!("{}:{}", role_id(&user.account, role), user.name)
        }
    }
}

/// A stable AROA… id for a role: AWS gives each role a unique id of 21 characters.
pub(crate) fn role_id(account: &str, role: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{account}/{role}").as_bytes());
    let hex: String = digest.iter().take(9).map(|b| format!("{b:02X}")).collect();
    format!("AROA{}", &hex[..17])
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

pub(crate) fn respond(status: StatusCode, xml: String) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(xml)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}
