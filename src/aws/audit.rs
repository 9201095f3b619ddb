//! Session events from CloudTrail `LookupEvents`: every StartSession, ResumeSession and
//! TerminateSession call of a region, newest first, as [`SessionEvent`]s.
//!
//! LookupEvents takes one lookup attribute per call, so each event name is looked up on its
//! own (`EventName`), which keeps the pages to the three calls wanted instead of every SSM
//! call an account makes (agents call SSM all the time).

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_smithy_types::DateTime;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::client::AwsClient;
use super::error::AwsError;
use super::types::{SessionEvent, SessionEventKind};

/// Events read per event name and call at most: 20 pages of LookupEvents' maximum 50.
pub const MAX_EVENTS_PER_NAME: usize = 1000;
const PAGE_SIZE: i32 = 50;

const KINDS: [SessionEventKind; 3] = [
    SessionEventKind::Start,
    SessionEventKind::Resume,
    SessionEventKind::Terminate,
];

impl AwsClient {
    /// The session events since `since` (all CloudTrail keeps when `None`), newest first,
    /// each name capped at [`MAX_EVENTS_PER_NAME`]. Resume and terminate events get their
    /// target from the start event of the same session when it is among them.
    pub async fn session_events(
        &self,
        since: Option<SystemTime>,
    ) -> Result<Vec<SessionEvent>, AwsError> {
        let mut events = Vec::new();
        for kind in KINDS {
            events.extend(self.events_named(kind, since).await?);
        }
        Ok(arrange(events))
    }

    async fn events_named(
        &self,
        kind: SessionEventKind,
        since: Option<SystemTime>,
    ) -> Result<Vec<SessionEvent>, AwsError> {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(kind.event_name())
            .build()
            .map_err(|err| AwsError::Config(err.to_string()))?;
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let mut call = self
                .cloudtrail
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .max_results(PAGE_SIZE);
            if let Some(since) = since {
                call = call.start_time(DateTime::from(since));
            }
            if let Some(token) = &next_token {
                call = call.next_token(token);
            }
            let page = call.send().await.map_err(|e| self.errors.map(e))?;
            for event in page.events() {
                let parsed = event
                    .cloud_trail_event()
                    .and_then(|record| parse_record(record, self.region()));
                if let Some(parsed) = parsed.filter(|parsed| parsed.kind == kind) {
                    found.push(parsed);
                }
            }
            next_token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if next_token.is_none() || found.len() >= MAX_EVENTS_PER_NAME {
                break;
            }
        }
        found.truncate(MAX_EVENTS_PER_NAME);
        Ok(found)
    }
}

/// Newest first (within one second: terminate before resume before start, the order they
/// happen in reversed), targets filled in from the starts.
pub fn arrange(mut events: Vec<SessionEvent>) -> Vec<SessionEvent> {
    let targets: HashMap<String, String> = events
        .iter()
        .filter(|e| e.kind == SessionEventKind::Start)
        .filter_map(|e| Some((e.session_id.clone()?, e.target.clone()?)))
        .collect();
    for event in &mut events {
        if event.target.is_none()
            && let Some(id) = &event.session_id
        {
            event.target = targets.get(id).cloned();
        }
    }
    events.sort_by(|a, b| b.time.cmp(&a.time).then(b.kind.cmp(&a.kind)));
    events.dedup_by(|a, b| a.event_id == b.event_id);
    events
}

/// One CloudTrail record (the `CloudTrailEvent` JSON text) as a session event; `None` when it
/// is not one of the three calls or not a record at all.
pub fn parse_record(record: &str, region: &str) -> Option<SessionEvent> {
    let record: Value = serde_json::from_str(record).ok()?;
    let text = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let kind = match record.get("eventName")?.as_str()? {
        "StartSession" => SessionEventKind::Start,
        "ResumeSession" => SessionEventKind::Resume,
        "TerminateSession" => SessionEventKind::Terminate,
        _ => return None,
    };
    let time = OffsetDateTime::parse(record.get("eventTime")?.as_str()?, &Rfc3339)
        .ok()
        .map(SystemTime::from)?;
    let identity = &record["userIdentity"];
    let user_arn = text(&identity["arn"]);
    let user = text(&identity["userName"])
        .or_else(|| user_arn.clone())
        .or_else(|| text(&identity["principalId"]))
        .unwrap_or_default();
    let request = &record["requestParameters"];
    let response = &record["responseElements"];
    let session_id = text(&request["sessionId"]).or_else(|| text(&response["sessionId"]));
    Some(SessionEvent {
        event_id: text(&record["eventID"]).unwrap_or_default(),
        kind,
        time,
        user,
        user_arn,
        session_id,
        target: text(&request["target"]),
        source_ip: text(&record["sourceIPAddress"]),
        reason: text(&request["reason"]),
        error_code: text(&record["errorCode"]),
        region: text(&record["awsRegion"]).unwrap_or_else(|| region.to_owned()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // The shape of a StartSession record as CloudTrail delivers it.
    const START: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-12-07T10:00:00Z","eventSource":"ssm.amazonaws.com","eventName":"StartSession","awsRegion":"eu-west-2","sourceIPAddress":"192.0.2.10","userAgent":"gangway","requestParameters":{"target":"i-0abc","reason":"deploy"},"responseElements":{"sessionId":"alice-0123","tokenValue":"Value hidden due to security reasons.","streamUrl":"wss://x"},"requestID":"r","eventID":"e1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}"#;

    #[test]
    fn a_start_record_becomes_an_event_with_who_where_and_why() {
        let event = parse_record(START, "us-east-1").unwrap();
        assert_eq!(event.kind, SessionEventKind::Start);
        assert_eq!(event.user, "alice");
        assert_eq!(event.target.as_deref(), Some("i-0abc"));
        assert_eq!(event.session_id.as_deref(), Some("alice-0123"));
        assert_eq!(event.source_ip.as_deref(), Some("192.0.2.10"));
        assert_eq!(event.reason.as_deref(), Some("deploy"));
        assert_eq!(event.region, "eu-west-2");
        assert_eq!(event.error_code, None);
    }

    #[test]
    fn terminations_take_the_target_of_their_start_and_sort_first_within_a_second() {
        let start = parse_record(START, "us-east-1").unwrap();
        let terminate = parse_record(
            &START
                .replace("\"StartSession\"", "\"TerminateSession\"")
                .replace(
                    r#"{"target":"i-0abc","reason":"deploy"}"#,
                    r#"{"sessionId":"alice-0123"}"#,
                )
                .replace("\"e1\"", "\"e2\""),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(terminate.target, None);
        let arranged = arrange(vec![start, terminate]);
        assert_eq!(arranged[0].kind, SessionEventKind::Terminate);
        assert_eq!(arranged[0].target.as_deref(), Some("i-0abc"));
    }

    #[test]
    fn other_records_and_garbage_are_not_session_events() {
        assert!(parse_record("not json", "r").is_none());
        assert!(parse_record(&START.replace("StartSession", "GetDocument"), "r").is_none());
        assert!(parse_record(&START.replace("2026-12-07T10:00:00Z", "yesterday"), "r").is_none());
    }
}
