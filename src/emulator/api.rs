//! `POST /`: reads the body (bounded in size and time), then hands it to SSM (JSON 1.1,
//! chosen by the `X-Amz-Target: AmazonSSM.<Operation>` header), KMS (JSON 1.1,
//! `TrentService.<Operation>`), CloudTrail (JSON 1.1, `CloudTrail_20131101.<Operation>`),
//! EventBridge (JSON 1.1, `AWSEvents.<Operation>`), STS or SNS (Query, told apart by the
//! SigV4 scope's service) or EC2 (Query, `Action=` in a form body). This is the one place every API call
//! passes, so it is where each is recorded in the trail, once (`trail::record`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};

use super::router::{ResponseBody, plain};
use super::server::Peer;
use super::state::EmulatorState;
use super::trail::lookup as cloudtrail;
use super::trail::record::{self, ServedCall, Service, TrailElements};
use super::{ec2, events, identity, kms, sns, ssm, sts};

/// Far above any real request (a DescribeInstances with 1,000 ids is ~40 KiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Default for `EmulatorConfig::body_deadline`: the whole body must arrive within this
/// long of the headers. SDKs and the CLI write a body in one go right after its headers, and
/// the largest body allowed (1 MiB) crosses loopback in milliseconds, so 10 s is only ever
/// reached by a client that trickles or stalls on purpose; without it, such a client holds
/// a connection task and its buffer for as long as it likes.
pub const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(10);

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

/// Why a body was not read to its end.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or sent bytes beyond the limit.
    TooLarge,
    /// The connection failed mid-body (reset, malformed chunking).
    Broken(String),
}

pub async fn handle(
    state: Arc<EmulatorState>,
    request: Request<Incoming>,
) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let deadline = state.config.body_deadline;
    let body = match tokio::time::timeout(deadline, read_body(body, declared, MAX_BODY_BYTES)).await
    {
        Ok(Ok(bytes)) => Ok(Bytes::from(bytes)),
        Ok(Err(BodyError::TooLarge)) => {
            return closing(StatusCode::PAYLOAD_TOO_LARGE, "request body over 1 MiB\n");
        }
        Ok(Err(BodyError::Broken(err))) => Err(format!("cannot read the request body: {err}")),
        Err(_elapsed) => {
            tracing::debug!("request body not complete within {deadline:?}: connection closed");
            return closing(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time\n",
            );
        }
    };
    // Parsing and answering is plain CPU work on the caller's input (a 1 MiB body of filters,
    // wildcard matching over the fleet): it runs on the blocking pool so that no request,
    // however costly, holds up the runtime threads that carry every live session.
    let answered = tokio::task::spawn_blocking(move || {
        let target = parts
            .headers
            .get("x-amz-target")
            .map(|value| value.to_str().unwrap_or_default().to_owned());
        let request = ApiRequest {
            parts: &parts,
            body,
        };
        let (service, response) = match target.as_deref() {
            Some(target) if target.starts_with(kms::TARGET_PREFIX) => {
                (Service::Kms, kms::handle(&state, target, &request))
            }
            Some(target) if cloudtrail::is_cloudtrail(target) => (
                Service::CloudTrail,
                cloudtrail::handle(&state, target, &request),
            ),
            Some(target) if target.starts_with(events::TARGET_PREFIX) => {
                (Service::Events, events::handle(&state, target, &request))
            }
            Some(target) => (Service::Ssm, ssm::handle(&state, target, &request)),
            None if identity::signing_service(&parts.headers) == Some("sts") => {
                (Service::Sts, sts::handle(&state, &request))
            }
            None if identity::signing_service(&parts.headers) == Some("sns") => {
                (Service::Sns, sns::handle(&state, &request))
            }
            None => (Service::Ec2, ec2::handle(&state, &request)),
        };
        record_call(&state, service, target.as_deref(), &request, response)
    })
    .await;
    answered.unwrap_or_else(|err| {
        tracing::error!("request handler failed: {err}");
        plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
    })
}

/// Adds the call to the trail and gives the response back unchanged.
fn record_call(
    state: &EmulatorState,
    service: Service,
    target: Option<&str>,
    request: &ApiRequest<'_>,
    response: Response<ResponseBody>,
) -> Response<ResponseBody> {
    let request_body = request.body.as_ref().ok().map(|body| body.as_ref());
    let operation = match (service, target) {
        (Service::CloudTrail, Some(target)) => cloudtrail::operation(target).to_owned(),
        (_, Some(target)) => target
            .split_once('.')
            .map_or(target, |(_, operation)| operation)
            .to_owned(),
        (_, None) => request_body
            .and_then(|body| {
                form_urlencoded::parse(body)
                    .find(|(key, _)| key == "Action")
                    .map(|(_, value)| value.into_owned())
            })
            .unwrap_or_default(),
    };
    // Every emulator answer is one `Full` buffer: taking it out never waits.
    let (head, body) = response.into_parts();
    let bytes = body
        .collect()
        .now_or_never()
        .and_then(Result::ok)
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let call = ServedCall {
        service,
        operation: &operation,
        headers: &request.parts.headers,
        source_ip: request
            .parts
            .extensions
            .get::<Peer>()
            .map(|peer| peer.0.ip()),
        request_body,
        status: head.status,
        response_headers: &head.headers,
        response_body: &bytes,
        at: state.clock.now(),
        elements: head.extensions.get::<TrailElements>(),
    };
    let caller = identity::key_owner(state, &request.parts.headers);
    if let Some(event) = caller.and_then(|caller| record::build_for(&caller, &call)) {
        // The rules see the event after the trail has it, off this request's path.
        let record = event.cloudtrail_event.clone();
        state.trail.push(event);
        state.bus.offer(record);
    }
    Response::from_parts(head, Full::new(bytes))
}

/// Reads a whole body into one buffer sized once: `min(Content-Length, limit)` up front (or
/// grown by doubling when there is no length), with each frame's bytes copied in and the
/// frame dropped at once. Collecting frames instead keeps every frame's own allocation
/// alive, which for a body trickled one byte per segment costs kilobytes per byte.
pub async fn read_body<B>(
    mut body: B,
    declared: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, BodyError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let capacity = match declared {
        Some(length) if length > limit as u64 => return Err(BodyError::TooLarge),
        Some(length) => usize::try_from(length).unwrap_or(limit),
        None => 0,
    };
    let mut buffer = Vec::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| BodyError::Broken(err.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if buffer.len() + data.len() > limit {
            return Err(BodyError::TooLarge);
        }
        buffer.extend_from_slice(&data);
    }
    Ok(buffer)
}

/// An answer after which the connection is closed: the rest of the body is never read.
fn closing(status: StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut response = plain(status, text);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures_util::stream;
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    fn trickled(
        bytes: usize,
    ) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Unpin>
    {
        StreamBody::new(stream::iter(
            (0..bytes).map(|i| Ok(Frame::data(Bytes::from(vec![b'a' + (i % 26) as u8])))),
        ))
    }

    #[tokio::test]
    async fn a_trickled_body_is_held_in_one_buffer_of_its_final_size() {
        let body = read_body(trickled(25_000), Some(25_000), MAX_BODY_BYTES)
            .await
            .unwrap();
        assert_eq!(body.len(), 25_000);
        assert_eq!(
            body.capacity(),
            25_000,
            "one allocation of the declared size"
        );
        // Without a Content-Length the buffer grows by doubling: still at most twice the body.
        let body = read_body(trickled(25_000), None, MAX_BODY_BYTES)
            .await
            .unwrap();
        assert_eq!(body.len(), 25_000);
        assert!(body.capacity() <= 50_000, "capacity {}", body.capacity());
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_declared_or_not() {
        assert_eq!(
            read_body(trickled(10), Some(11), 10).await,
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            read_body(trickled(11), None, 10).await,
            Err(BodyError::TooLarge)
        );
        // A Content-Length that lies low cannot get more than the limit in either.
        assert_eq!(
            read_body(trickled(11), Some(3), 10).await,
            Err(BodyError::TooLarge)
        );
        assert_eq!(read_body(trickled(10), None, 10).await.unwrap().len(), 10);
    }
}
