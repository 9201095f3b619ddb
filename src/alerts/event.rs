//! CloudTrail records as EventBridge delivers them. A management event recorded by CloudTrail
//! reaches EventBridge as `{"version":"0","id":…,"detail-type":"AWS API Call via CloudTrail",
//! "source":"aws.<service>","account":…,"time":…,"region":…,"resources":[],"detail":RECORD}`
//! (EventBridge user guide, "Events from AWS services" / "AWS service events delivered via
//! AWS CloudTrail"): `source` is the record's `eventSource` with `.amazonaws.com` replaced by
//! the `aws.` prefix, `time` is `eventTime`, `region` is `awsRegion`, `account` the account
//! that received it.

use std::fmt;

use serde_json::{Map, Value, json};

/// What EventBridge calls these events.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Fields every CloudTrail record carries (CloudTrail user guide, "CloudTrail record
/// contents"), checked in this order so the error names the first one missing.
pub const REQUIRED_FIELDS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
];

/// Why a JSON value is not a CloudTrail event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Neither a record nor an envelope: not an object.
    NotAnObject,
    /// A required field of the record is absent (or not a string); the path says where
    /// (`eventName` or `detail.eventName`).
    Missing { path: String },
    /// The envelope's `detail-type` is another kind of event.
    OtherDetailType(String),
    /// `eventSource` is not `SERVICE.amazonaws.com`.
    BadEventSource(String),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::NotAnObject => {
                f.write_str("not a CloudTrail event: the JSON is not an object")
            }
            EventError::Missing { path } => write!(
                f,
                "not a CloudTrail event: the required field `{path}` is missing (a record has {})",
                REQUIRED_FIELDS.join(", ")
            ),
            EventError::OtherDetailType(kind) => write!(
                f,
                "not a CloudTrail event: detail-type is `{kind}`, not `{DETAIL_TYPE}`"
            ),
            EventError::BadEventSource(source) => write!(
                f,
                "not a CloudTrail event: eventSource `{source}` is not SERVICE.amazonaws.com"
            ),
        }
    }
}

impl std::error::Error for EventError {}

/// A CloudTrail event given as a bare record or as EventBridge's envelope, returned as the
/// envelope EventBridge matches rules against.
pub fn parse_event(value: &Value) -> Result<Value, EventError> {
    let Value::Object(fields) = value else {
        return Err(EventError::NotAnObject);
    };
    if fields.contains_key("detail") || fields.contains_key("detail-type") {
        match fields.get("detail-type") {
            Some(Value::String(kind)) if kind == DETAIL_TYPE => {}
            Some(Value::String(kind)) => return Err(EventError::OtherDetailType(kind.clone())),
            _ => {
                return Err(EventError::Missing {
                    path: "detail-type".to_owned(),
                });
            }
        }
        let Some(Value::Object(record)) = fields.get("detail") else {
            return Err(EventError::Missing {
                path: "detail".to_owned(),
            });
        };
        check_record(record, "detail.")?;
        return Ok(value.clone());
    }
    envelope(value)
}

/// Wraps a CloudTrail record the way EventBridge does. The envelope's `id` is the record's
/// `eventID` when it has one (EventBridge makes its own; a stable one keeps this sans-IO).
pub fn envelope(record: &Value) -> Result<Value, EventError> {
    let Value::Object(fields) = record else {
        return Err(EventError::NotAnObject);
    };
    check_record(fields, "")?;
    let text = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default();
    let service = text("eventSource")
        .strip_suffix(".amazonaws.com")
        .unwrap_or_default();
    let account = fields
        .get("recipientAccountId")
        .and_then(Value::as_str)
        .or_else(|| {
            fields
                .get("userIdentity")
                .and_then(|identity| identity.get("accountId"))
                .and_then(Value::as_str)
        })
        .unwrap_or_default();
    let id = fields
        .get("eventID")
        .and_then(Value::as_str)
        .unwrap_or("00000000-0000-0000-0000-000000000000");
    Ok(json!({
        "version": "0",
        "id": id,
        "detail-type": DETAIL_TYPE,
        "source": format!("aws.{service}"),
        "account": account,
        "time": text("eventTime"),
        "region": text("awsRegion"),
        "resources": [],
        "detail": record,
    }))
}

fn check_record(record: &Map<String, Value>, prefix: &str) -> Result<(), EventError> {
    for name in REQUIRED_FIELDS {
        if !record.get(*name).is_some_and(Value::is_string) {
            return Err(EventError::Missing {
                path: format!("{prefix}{name}"),
            });
        }
    }
    let source = record
        .get("eventSource")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let service = source.strip_suffix(".amazonaws.com").unwrap_or_default();
    if service.is_empty() {
        return Err(EventError::BadEventSource(source.to_owned()));
    }
    Ok(())
}
