//! DescribeSessions: Active or History, filtered and paginated (200 per page at most).

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::requests::{DescribeSessionsRequest, SessionFilter};
use super::{Call, SsmError, epoch_seconds, max_results, start_offset};
use crate::emulator::pagination;
use crate::emulator::sessions::{SessionRecord, SessionStatus};

/// AWS accepts at most six session filters per request.
const MAX_FILTERS: usize = 6;

enum Criterion {
    InvokedAfter(std::time::SystemTime),
    InvokedBefore(std::time::SystemTime),
    Target(String),
    Owner(String),
    Status(SessionStatus),
    SessionId(String),
}

impl Criterion {
    fn parse(filter: SessionFilter) -> Result<Self, SsmError> {
        let value = filter.value;
        Ok(match filter.key.as_str() {
            "InvokedAfter" => Self::InvokedAfter(parse_time(&value)?),
            "InvokedBefore" => Self::InvokedBefore(parse_time(&value)?),
            "Target" => Self::Target(value),
            "Owner" => Self::Owner(value),
            "SessionId" => Self::SessionId(value),
            "Status" => Self::Status(SessionStatus::parse(&value).ok_or_else(|| {
                SsmError::validation(format!(
                    "Status filter value must be one of Connected, Connecting, Disconnected, Terminated, Terminating, Failed; got {}",
                    value.escape_debug()
                ))
            })?),
            other => return Err(SsmError::invalid_filter_key(&other.escape_debug().to_string())),
        })
    }

    fn matches(&self, record: &SessionRecord) -> bool {
        match self {
            Self::InvokedAfter(after) => record.started_at >= *after,
            Self::InvokedBefore(before) => record.started_at < *before,
            Self::Target(target) => record.target == *target,
            // The owner may be given as the ARN DescribeSessions shows or as the user name.
            Self::Owner(owner) => record.owner_arn == *owner || record.owner == *owner,
            Self::Status(status) => record.status == *status,
            Self::SessionId(id) => record.id == *id,
        }
    }
}

fn parse_time(text: &str) -> Result<std::time::SystemTime, SsmError> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        SsmError::validation(format!(
            "filter value {} is not a date-time like 2025-01-31T00:00:00Z",
            text.escape_debug()
        ))
    })?;
    Ok(parsed.into())
}

pub fn describe_sessions(
    call: &Call<'_>,
    request: DescribeSessionsRequest,
) -> Result<Value, SsmError> {
    let records = match request.state.as_str() {
        "Active" => call.state.sessions.active(),
        "History" => call.state.sessions.history(),
        other => {
            return Err(SsmError::validation(format!(
                "1 validation error detected: Value '{}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [Active, History]",
                other.escape_debug()
            )));
        }
    };
    let max = max_results(request.max_results, 1..=200, 200)?;
    let start = start_offset(request.next_token.as_deref())?;
    if request.filters.len() > MAX_FILTERS {
        return Err(SsmError::validation(format!(
            "1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to {MAX_FILTERS}"
        )));
    }
    let criteria = request
        .filters
        .into_iter()
        .map(Criterion::parse)
        .collect::<Result<Vec<_>, _>>()?;
    // Newest first, as the console shows them: a client that reads one page of History
    // gets the most recent sessions.
    // Each account and region sees the sessions on its own instances (issue 13).
    let fleet = call.state.fleet();
    let matching: Vec<SessionRecord> = records
        .into_iter()
        .filter(|record| fleet.instance_in(&record.target, call.place()).is_some())
        .rev()
        .filter(|record| criteria.iter().all(|criterion| criterion.matches(record)))
        .collect();
    let (page, next_token) = pagination::page(&matching, start, max);
    let max_duration = call
        .state
        .max_duration()
        .map(|max| super::documents::minutes(max).to_string());
    let sessions: Vec<Value> = page
        .iter()
        .map(|record| session_json(record, max_duration.as_deref()))
        .collect();
    let mut response = json!({ "Sessions": sessions });
    if let Some(token) = next_token {
        response["NextToken"] = Value::String(token);
    }
    Ok(response)
}

/// `max_duration`: the effective maximum session duration in minutes, when there is one.
fn session_json(record: &SessionRecord, max_duration: Option<&str>) -> Value {
    let mut session = json!({
        "SessionId": record.id,
        "Target": record.target,
        "Status": record.status.as_str(),
        "StartDate": epoch_seconds(record.started_at),
        "DocumentName": record.document_name,
        "Owner": record.owner_arn,
    });
    if let Some(end) = record.ended_at {
        session["EndDate"] = json!(epoch_seconds(end));
    }
    if let Some(reason) = &record.reason {
        session["Reason"] = Value::String(reason.clone());
    }
    if let Some(minutes) = max_duration {
        session["MaxSessionDuration"] = Value::String(minutes.to_owned());
    }
    // AWS reserves Details; the emulator puts why the session ended there.
    if let Some(why) = &record.end_reason {
        session["Details"] = Value::String(why.clone());
    }
    session
}
