//! `POST /`: reads the body (bounded), then hands it to SSM (JSON 1.1, chosen by the
//! `X-Amz-Target: AmazonSSM.<Operation>` header) or EC2 (Query, `Action=` in a form body).

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::HOST;
use hyper::http::request::Parts;
use hyper::{Request, Response};

use super::router::ResponseBody;
use super::state::EmulatorState;
use super::{ec2, ssm};

/// Far above any real request (a DescribeInstances with 1,000 ids is ~40 KiB).
const MAX_BODY_BYTES: usize = 1 << 20;

/// What the protocol handlers get: the request head and its whole body, or why the body
/// could not be read.
pub struct ApiRequest<'a> {
    pub parts: &'a Parts,
    pub body: Result<Bytes, String>,
}

impl ApiRequest<'_> {
    /// The `HOST:PORT` the client dialled, when it is a plain authority.
    pub fn authority(&self) -> Option<&str> {
        let host = self.parts.headers.get(HOST)?.to_str().ok()?;
        let plain = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        (plain && !host.is_empty()).then_some(host)
    }
}

pub async fn handle(state: &EmulatorState, request: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) => Err(format!("cannot read the request body: {err}")),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    let request = ApiRequest {
        parts: &parts,
        body,
    };
    match target {
        Some(target) => ssm::handle(state, &target, &request),
        None => ec2::handle(state, &request),
    }
}
