//! CloudTrail `LookupEvents` over AWS JSON 1.1 (`X-Amz-Target:
//! CloudTrail_20131101.LookupEvents`, the target the SDKs send; the API reference's long
//! form `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.` is accepted too): at most
//! one lookup attribute, a time range, 1–50 results a page, newest first, `NextToken`.
//! Other CloudTrail operations get `UnknownOperationException`. The caller needs
//! `cloudtrail:LookupEvents` (on `*`: the action has no resource-level permissions).

use std::time::{Duration, SystemTime};

use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::TrailEvent;
use crate::emulator::api::ApiRequest;
use crate::emulator::authorize::{self, Ask};
use crate::emulator::identity;
use crate::emulator::router::ResponseBody;
use crate::emulator::state::EmulatorState;
use crate::emulator::{json11, pagination, ssm};

/// The X-Amz-Target prefixes of CloudTrail operations.
pub const TARGET_PREFIXES: [&str; 2] = [
    "CloudTrail_20131101.",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
];

/// LookupEvents' own limits (CloudTrail API reference).
const MAX_RESULTS: i64 = 50;
const MAX_ATTRIBUTE_VALUE: usize = 2000;

pub fn is_cloudtrail(target: &str) -> bool {
    TARGET_PREFIXES
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

/// The operation name of a CloudTrail target.
pub fn operation(target: &str) -> &str {
    TARGET_PREFIXES
        .iter()
        .find_map(|prefix| target.strip_prefix(prefix))
        .unwrap_or(target)
}

struct LookupError {
    code: &'static str,
    message: String,
}

impl LookupError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: Option<String>,
    attribute_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsRequest {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub fn handle(
    state: &EmulatorState,
    target: &str,
    request: &ApiRequest<'_>,
) -> Response<ResponseBody> {
    let answer = json11::authenticate(state, request)
        .map_err(|refusal| LookupError::new(refusal.code, refusal.message))
        .and_then(|caller| {
            let body = request
                .body
                .as_ref()
                .map_err(|err| LookupError::new("SerializationException", err.clone()))?;
            match operation(target) {
                "LookupEvents" => {
                    // No resource-level permissions on AWS: the resource is `*`.
                    let region = identity::signing_region(&request.parts.headers);
                    let ask = Ask::new("cloudtrail:LookupEvents", "*");
                    authorize::check(state, &caller, &region, &ask).map_err(|denial| {
                        LookupError::new("AccessDeniedException", denial.message)
                    })?;
                    lookup_events(state, &caller.account, body)
                }
                _ => Err(LookupError::new(
                    "UnknownOperationException",
                    format!("Unknown operation {}", json11::operation(target, "")),
                )),
            }
        });
    let (status, body) = match answer {
        Ok(body) => (StatusCode::OK, body),
        Err(err) => (
            StatusCode::BAD_REQUEST,
            json11::error_body(err.code, &err.message),
        ),
    };
    tracing::info!(
        "cloudtrail {} {}",
        json11::operation(operation(target), ""),
        if status.is_success() { "ok" } else { "error" }
    );
    json11::respond(status, &body)
}

/// The events of `account` (the caller's: CloudTrail shows an account its own trail).
fn lookup_events(state: &EmulatorState, account: &str, body: &[u8]) -> Result<Value, LookupError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    let request: LookupEventsRequest = serde_json::from_slice(body)
        .map_err(|err| LookupError::new("SerializationException", err.to_string()))?;
    let filter = attribute_filter(&request.lookup_attributes)?;
    let start = request.start_time.map(time_of).transpose()?;
    let end = request.end_time.map(time_of).transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(LookupError::new(
            "InvalidTimeRangeException",
            "Start time must not be after end time.",
        ));
    }
    let max = request.max_results.unwrap_or(MAX_RESULTS);
    if !(1..=MAX_RESULTS).contains(&max) {
        return Err(LookupError::new(
            "InvalidMaxResultsException",
            "Value for MaxResults is invalid. It must be between 1 and 50.",
        ));
    }
    let before =
        match request.next_token.as_deref() {
            None | Some("") => None,
            Some(token) => Some(pagination::decode(token).ok_or_else(|| {
                LookupError::new("InvalidNextTokenException", "Invalid NextToken.")
            })? as u64),
        };
    match request.event_category.as_deref() {
        None => {}
        // Insights events are never generated here: asking for them finds none.
        Some("insight") => return Ok(json!({"Events": []})),
        Some(_) => {
            return Err(LookupError::new(
                "InvalidEventCategoryException",
                "Event category is not valid. The only valid value is insight.",
            ));
        }
    }
    let max = usize::try_from(max).unwrap_or(50);
    // One more than a page: whether it exists decides the NextToken. Times are compared at
    // whole seconds, the precision EventTime and eventTime are given in: a StartTime copied
    // from an answer finds that event again.
    let mut events = state.trail.newest_first(before, max + 1, |event| {
        let at = whole_seconds(event.event_time);
        event.account == account
            && start.is_none_or(|start| at >= start)
            && end.is_none_or(|end| at <= end)
            && filter
                .as_ref()
                .is_none_or(|(key, value)| matches(event, key, value))
    });
    let next = (events.len() > max).then(|| {
        events.truncate(max);
        events
            .last()
            .map(|last| pagination::encode(last.seq as usize))
    });
    let listed: Vec<Value> = events.iter().map(to_json).collect();
    let mut answer = json!({ "Events": listed });
    if let Some(Some(token)) = next {
        answer["NextToken"] = Value::String(token);
    }
    Ok(answer)
}

const KEYS: [&str; 8] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

fn attribute_filter(
    attributes: &[LookupAttribute],
) -> Result<Option<(String, String)>, LookupError> {
    let invalid = |message: &str| LookupError::new("InvalidLookupAttributesException", message);
    match attributes {
        [] => Ok(None),
        [attribute] => {
            let key = attribute
                .attribute_key
                .as_deref()
                .filter(|key| KEYS.contains(key))
                .ok_or_else(|| invalid("Invalid attribute key"))?;
            let value = attribute
                .attribute_value
                .as_deref()
                .filter(|value| !value.is_empty() && value.len() <= MAX_ATTRIBUTE_VALUE)
                .ok_or_else(|| invalid("Attribute value must be between 1 and 2000 characters"))?;
            Ok(Some((key.to_owned(), value.to_owned())))
        }
        _ => Err(invalid("You can only specify one lookup attribute.")),
    }
}

fn matches(event: &TrailEvent, key: &str, value: &str) -> bool {
    match key {
        "EventId" => event.event_id == value,
        "EventName" => event.event_name == value,
        "ReadOnly" => event.read_only.to_string() == value,
        "Username" => event.username == value,
        "EventSource" => event.event_source == value,
        "AccessKeyId" => event.access_key_id == value,
        "ResourceType" => event.resources.iter().any(|(kind, _)| kind == value),
        "ResourceName" => event.resources.iter().any(|(_, name)| name == value),
        _ => false,
    }
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

fn time_of(seconds: f64) -> Result<SystemTime, LookupError> {
    if !seconds.is_finite() || !(0.0..=1e11).contains(&seconds) {
        return Err(LookupError::new(
            "InvalidTimeRangeException",
            "Time is out of range.",
        ));
    }
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

fn to_json(event: &TrailEvent) -> Value {
    let resources: Vec<Value> = event
        .resources
        .iter()
        .map(|(kind, name)| json!({"ResourceType": kind, "ResourceName": name}))
        .collect();
    json!({
        "EventId": event.event_id,
        "EventName": event.event_name,
        "ReadOnly": event.read_only.to_string(),
        "AccessKeyId": event.access_key_id,
        "EventTime": ssm::epoch_seconds(event.event_time).floor(),
        "EventSource": event.event_source,
        "Username": event.username,
        "Resources": resources,
        "CloudTrailEvent": event.cloudtrail_event,
    })
}
