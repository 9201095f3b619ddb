//! EC2 over the Query protocol (API version 2016-11-15): a form body with `Action=…`,
//! XML responses, errors as `<Response><Errors><Error><Code>…` with an HTTP 4xx status.

mod error;
mod filters;
mod images;
mod instances;
mod query;
pub mod security_groups;
mod xml;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

pub use error::Ec2Error;
use query::Query;
pub use xml::XmlWriter;

use super::api::ApiRequest;
use super::authorize::{self, Ask};
use super::fleet::User;
use super::identity::{self, CallerError, EXPIRED_TOKEN_MESSAGE};
use super::router::ResponseBody;
use super::state::EmulatorState;

impl Ec2Error {
    fn auth_failure(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "AuthFailure",
            message: message.to_owned(),
        }
    }

    fn to_xml(&self, request_id: &str) -> String {
        let mut xml = XmlWriter::bare("Response");
        xml.open("Errors");
        xml.open("Error");
        xml.leaf("Code", self.code);
        xml.leaf("Message", &self.message);
        xml.close("Error");
        xml.close("Errors");
        xml.leaf("RequestID", request_id);
        xml.finish("Response")
    }
}

pub fn handle(state: &EmulatorState, request: &ApiRequest<'_>) -> Response<ResponseBody> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let caller = identity::authenticate(state, &request.parts.headers);
    let query = request.body.as_ref().map(|body| Query::parse(body));
    let action = query
        .as_ref()
        .ok()
        .and_then(|query| query.get("Action"))
        .map(query::printable)
        .unwrap_or_default();
    // Security-group calls give the trail their own CloudTrail-shaped elements.
    let mut trail = None;
    let result = match (&caller, &query) {
        (Err(CallerError::MissingCredentials), _) => Err(Ec2Error::auth_failure(
            "Missing Authentication Token: sign the request with SigV4.",
        )),
        (Err(CallerError::UnknownAccessKey), _) => Err(Ec2Error::auth_failure(
            "AWS was not able to validate the provided access credentials",
        )),
        (Err(CallerError::ExpiredToken), _) => Err(Ec2Error {
            status: StatusCode::BAD_REQUEST,
            code: "ExpiredToken",
            message: EXPIRED_TOKEN_MESSAGE.to_owned(),
        }),
        (Ok(_), Err(err)) => Err(Ec2Error::new("MalformedQueryString", err.to_string())),
        (Ok(user), Ok(query)) if security_groups::ACTIONS.contains(&action.as_str()) => {
            let region = identity::signing_region(&request.parts.headers);
            let (result, elements) =
                security_groups::handle(state, user, &region, query, &request_id);
            trail = Some(elements);
            result
        }
        (Ok(user), Ok(query)) => {
            let region = identity::signing_region(&request.parts.headers);
            dispatch(state, user, &region, query, &request_id)
        }
    };
    let user = caller.as_ref().map_or("-", |user| user.name.as_str());
    let mut response = match result {
        Ok(body) => {
            tracing::info!("ec2 {action} user={user} ok");
            respond(StatusCode::OK, body)
        }
        Err(err) => {
            tracing::info!("ec2 {action} user={user} error={}", err.code);
            respond(err.status, err.to_xml(&request_id))
        }
    };
    if let Some(elements) = trail {
        response.extensions_mut().insert(elements);
    }
    response
}

/// IAM for an EC2 action; EC2's Describe actions have no resource-level permissions, so the
/// resource is `*`. A denial is UnauthorizedOperation (HTTP 403) with IAM's message after
/// EC2's own sentence.
fn authorize(
    state: &EmulatorState,
    caller: &User,
    region: &str,
    action: &str,
) -> Result<(), Ec2Error> {
    authorize::check(state, caller, region, &Ask::new(action, "*"))
        .map(|_| ())
        .map_err(|denial| Ec2Error {
            status: StatusCode::FORBIDDEN,
            code: "UnauthorizedOperation",
            message: format!(
                "You are not authorized to perform this operation. {}",
                denial.message
            ),
        })
}

fn dispatch(
    state: &EmulatorState,
    caller: &User,
    region: &str,
    query: &Query,
    request_id: &str,
) -> Result<String, Ec2Error> {
    if let Some(action @ ("DescribeInstances" | "DescribeImages")) = query.get("Action") {
        authorize(state, caller, region, &format!("ec2:{action}"))?;
        // Allowed: a dry run "would have succeeded" (HTTP 412).
        if query.get("DryRun") == Some("true") {
            return Err(Ec2Error {
                status: StatusCode::PRECONDITION_FAILED,
                code: "DryRunOperation",
                message: "Request would have succeeded, but DryRun flag is set.".to_owned(),
            });
        }
    }
    match query.get("Action") {
        Some("DescribeInstances") => {
            instances::describe_instances(state.fleet(), caller.place(region), query, request_id)
        }
        Some("DescribeImages") => images::describe_images(state.fleet(), query, request_id),
        Some(other) => Err(Ec2Error::new(
            "InvalidAction",
            format!(
                "The action {} is not valid for this web service.",
                query::printable(other)
            ),
        )),
        None => Err(Ec2Error::new(
            "MissingAction",
            "The request must contain the parameter Action",
        )),
    }
}

fn respond(status: StatusCode, body: String) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    response
}

/// EC2 timestamps: ISO 8601 in UTC.
fn iso8601(time: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
