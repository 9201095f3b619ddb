//! What EventBridge does with the trail: every CloudTrail event the emulator records is
//! wrapped in EventBridge's "AWS API Call via CloudTrail" envelope (`crate::alerts::envelope`:
//! `source` from `eventSource`, `detail` = the record, `account`, `region`, `time`, `id`),
//! matched against the enabled rules of its region, and each SNS target of a matching rule
//! gets its input (the InputTransformer's output, `Input`, the `InputPath` value or the
//! whole event) published to its topic (`sns::Topics::deliver`, which keeps it).
//!
//! This happens off the request path: `api.rs` offers each record to a bounded queue
//! (`Bus::offer` never waits) and one task (`run`) delivers them in order. A full queue
//! drops the event (counted and logged), so an API call never waits on rules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::rules::{StoredRule, StoredTarget};
use crate::alerts::transform::{Delivery as TransformDelivery, apply_with, select};
use crate::emulator::fleet::Place;
use crate::emulator::router::ResponseBody;
use crate::emulator::sns::Delivery;
use crate::emulator::sns::policy::{self, EVENTS_SERVICE, TopicPolicy, Verdict, Who};
use crate::emulator::state::EmulatorState;
use crate::emulator::trail::record::format_time;

/// Events waiting for delivery at most (docs/emulator.md); past it new ones are dropped.
pub const MAX_QUEUED_EVENTS: usize = 1024;
/// The emulator-only read endpoint of the delivery log.
pub const DELIVERIES_PATH: &str = "/gangway/v1/deliveries";

/// The queue between the request handlers and the delivery task.
pub struct Bus {
    sender: mpsc::Sender<String>,
    receiver: Mutex<Option<mpsc::Receiver<String>>>,
    dropped: AtomicU64,
}

impl Default for Bus {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(MAX_QUEUED_EVENTS);
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
            dropped: AtomicU64::new(0),
        }
    }
}

impl Bus {
    /// Queues a CloudTrail record (its JSON text) for the rules; never waits.
    pub fn offer(&self, record: String) {
        match self.sender.try_send(record) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    dropped,
                    "event delivery queue full ({MAX_QUEUED_EVENTS} events): an event was not run against the rules"
                );
            }
            // No delivery task (an `EmulatorState` made outside `emulator::start`).
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The receiving end, once: for the delivery task `emulator::start` spawns.
    pub fn take_receiver(&self) -> Option<mpsc::Receiver<String>> {
        self.receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// The delivery task: until the emulator's state is gone (the queue's sender lives in it,
/// so the queue then closes and this ends).
pub async fn run(state: Weak<EmulatorState>, mut receiver: mpsc::Receiver<String>) {
    while let Some(record) = receiver.recv().await {
        let Some(state) = state.upgrade() else {
            break;
        };
        deliver(&state, &record);
    }
}

/// Runs one CloudTrail record against the rules; returns how many targets were delivered
/// to (or failed).
pub fn deliver(state: &EmulatorState, record: &str) -> usize {
    let Ok(record) = serde_json::from_str::<Value>(record) else {
        return 0;
    };
    let Ok(event) = crate::alerts::envelope(&record) else {
        return 0;
    };
    // The bus of the account and region the call was made in: another account's rules never
    // see it.
    let region = event["region"].as_str().unwrap_or_default().to_owned();
    let account = event["account"].as_str().unwrap_or_default().to_owned();
    let Some(bus) = state.rules.existing(Place {
        account: &account,
        region: &region,
    }) else {
        return 0;
    };
    let read_only = record["readOnly"].as_bool().unwrap_or(false);
    let event_name = record["eventName"].as_str().map(str::to_owned);
    let event_id = record["eventID"].as_str().map(str::to_owned);
    let now = state.clock.now();
    let ingestion = format_time(now);
    let mut count = 0;
    for rule in bus.matching(read_only, &event) {
        for target in &rule.targets {
            let (message, failure) = match input(&rule, target, &event, &ingestion) {
                Ok(message) if target.arn.starts_with("arn:aws:sns:") => {
                    let refused = may_publish(state, &target.arn, &rule.arn).err();
                    (message, refused)
                }
                Ok(message) => (
                    message,
                    Some("only SNS topic targets are delivered by the emulator".to_owned()),
                ),
                Err(reason) => (String::new(), Some(reason)),
            };
            let delivered = state.topics.deliver(Delivery {
                seq: 0,
                time: now,
                topic_arn: target.arn.clone(),
                message_id: String::new(),
                subject: None,
                message,
                rule: Some(rule.name.clone()),
                target_id: Some(target.id.clone()),
                event_id: event_id.clone(),
                event_name: event_name.clone(),
                failure,
            });
            let event_shown = event_name.as_deref().unwrap_or("-");
            match &delivered.failure {
                None => tracing::info!(
                    "alert delivered rule={} target={} topic={} event={event_shown} message_id={}",
                    rule.name,
                    target.id,
                    target.arn.escape_debug(),
                    delivered.message_id
                ),
                Some(reason) => tracing::info!(
                    "alert not delivered rule={} target={} topic={} event={event_shown}: {reason}",
                    rule.name,
                    target.id,
                    target.arn.escape_debug()
                ),
            }
            count += 1;
        }
    }
    count
}

/// Whether the topic's policy lets EventBridge publish to it for this rule (SNS decides with
/// `aws:SourceArn` the rule); a topic that does not exist is left to `Topics::deliver`.
fn may_publish(state: &EmulatorState, topic_arn: &str, rule_arn: &str) -> Result<(), String> {
    let Some(topic) = state.topics.get(topic_arn) else {
        return Ok(());
    };
    let who = Who::Service(EVENTS_SERVICE);
    let allowed = TopicPolicy::parse(&topic.policy()).is_ok_and(|policy| {
        policy.decide(
            who,
            "sns:Publish",
            topic_arn,
            &policy::context(who, Some(rule_arn)),
        ) == Verdict::Allow
    });
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "the topic's policy does not allow {EVENTS_SERVICE} to sns:Publish (AWS counts it in the rule's FailedInvocations)"
        ))
    }
}

/// What the target receives: EventBridge's precedence of Input, InputPath, InputTransformer,
/// else the event itself (minified JSON).
fn input(
    rule: &StoredRule,
    target: &StoredTarget,
    event: &Value,
    ingestion: &str,
) -> Result<String, String> {
    let delivery = TransformDelivery {
        rule_name: Some(&rule.name),
        rule_arn: Some(&rule.arn),
        ingestion_time: Some(ingestion),
    };
    if let Some(input) = &target.input {
        return Ok(input.clone());
    }
    if let Some(path) = &target.input_path {
        // The value at the path as JSON (a string with its quotes); nothing there would be
        // an empty message, which SNS refuses.
        return select(path, event)
            .map_err(|err| err.to_string())?
            .ok_or_else(|| format!("InputPath {path} selects nothing in the event"));
    }
    if let Some(transformer) = &target.input_transformer {
        return apply_with(transformer, event, &delivery).map_err(|err| err.to_string());
    }
    Ok(event.to_string())
}

/// `GET /gangway/v1/deliveries[?topic=ARN]`: the delivery log as JSON, oldest first. The
/// emulator's own endpoint (SNS has no API to read what a topic sent): tests and scripts
/// see an alert arrive here, as a subscriber would.
pub fn read_endpoint(state: &EmulatorState, query: Option<&str>) -> Response<ResponseBody> {
    let topic = query.and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "topic")
            .map(|(_, value)| value.into_owned())
    });
    let listed: Vec<Value> = state
        .topics
        .deliveries(topic.as_deref())
        .into_iter()
        .map(|d| {
            json!({
                "Time": format_time(d.time),
                "TopicArn": d.topic_arn,
                "MessageId": d.message_id,
                "Subject": d.subject,
                "Message": d.message,
                "Rule": d.rule,
                "TargetId": d.target_id,
                "EventId": d.event_id,
                "EventName": d.event_name,
                "Status": if d.failure.is_none() { "Delivered" } else { "Failed" },
                "Reason": d.failure,
            })
        })
        .collect();
    let body = json!({
        "Deliveries": listed,
        "DroppedEvents": state.bus.dropped(),
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::alerts::Pattern;
    use crate::emulator::events::rules::{RuleDefinition, RuleState};
    use crate::emulator::{EmulatorConfig, Fleet};

    const EAST: Place<'static> = Place {
        account: "123456789012",
        region: "us-east-1",
    };

    fn record(name: &str, read_only: bool) -> String {
        json!({
            "eventVersion": "1.09",
            "eventTime": "2026-12-07T16:00:00Z",
            "eventSource": "ssm.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "eventID": "e-1",
            "readOnly": read_only,
            "recipientAccountId": "123456789012",
            "requestParameters": {"target": "i-0abc"},
        })
        .to_string()
    }

    fn target(id: &str, arn: &str) -> StoredTarget {
        StoredTarget {
            id: id.to_owned(),
            arn: arn.to_owned(),
            input: None,
            input_path: None,
            input_transformer: None,
            role_arn: None,
        }
    }

    #[test]
    fn each_target_gets_its_input_and_failures_are_kept_with_their_reason() {
        let state = EmulatorState::new(EmulatorConfig::new(Fleet::demo()), "http://x".into());
        let open = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish", "Resource": "*"}]});
        let topic = state
            .topics
            .create(EAST, "t", [("Policy".to_owned(), open.to_string())].into())
            .unwrap()
            .arn;
        let pattern = r#"{"source":["aws.ssm"]}"#;
        let bus = state.rules.at(EAST).unwrap();
        bus.put(RuleDefinition {
            name: "r".to_owned(),
            arn: "arn:aws:events:us-east-1:123456789012:rule/r".to_owned(),
            event_pattern: Some(pattern.to_owned()),
            pattern: Some(Pattern::parse(pattern).unwrap()),
            schedule_expression: None,
            state: RuleState::Enabled,
            description: None,
            role_arn: None,
        })
        .unwrap();
        let constant = StoredTarget {
            input: Some("{\"fixed\":1}".to_owned()),
            ..target("constant", &topic)
        };
        let path = StoredTarget {
            input_path: Some("$.detail.requestParameters.target".to_owned()),
            ..target("path", &topic)
        };
        let object = StoredTarget {
            input_path: Some("$.detail.requestParameters".to_owned()),
            ..target("object", &topic)
        };
        let whole = target("whole", &topic);
        let queue = target("queue", "arn:aws:sqs:us-east-1:123456789012:q");
        bus.put_targets("r", vec![constant, path, object, whole, queue])
            .unwrap();

        // A read-only call reaches no ENABLED rule.
        assert_eq!(deliver(&state, &record("DescribeSessions", true)), 0);
        assert_eq!(deliver(&state, &record("StartSession", false)), 5);
        let kept = state.topics.deliveries(None);
        let by_target = |id: &str| {
            kept.iter()
                .find(|d| d.target_id.as_deref() == Some(id))
                .unwrap()
        };
        assert_eq!(by_target("constant").message, "{\"fixed\":1}");
        // InputPath hands the target JSON: a string keeps its quotes, an object is itself.
        assert_eq!(by_target("path").message, "\"i-0abc\"");
        assert_eq!(by_target("object").message, r#"{"target":"i-0abc"}"#);
        let whole: Value = serde_json::from_str(&by_target("whole").message).unwrap();
        assert_eq!(whole["detail-type"], "AWS API Call via CloudTrail");
        assert_eq!(whole["source"], "aws.ssm");
        assert_eq!(whole["detail"]["eventName"], "StartSession");
        assert!(by_target("whole").failure.is_none());
        assert_eq!(
            by_target("queue").failure.as_deref(),
            Some("only SNS topic targets are delivered by the emulator")
        );
        // Not JSON, or not a CloudTrail record: nothing.
        // A topic with SNS's default policy refuses EventBridge: a failed delivery, with why.
        let closed = state
            .topics
            .create(EAST, "closed", BTreeMap::new())
            .unwrap()
            .arn;
        bus.remove_targets("r", &["constant".to_owned(), "path".to_owned()])
            .unwrap();
        bus.put_targets("r", vec![target("closed", &closed)])
            .unwrap();
        deliver(&state, &record("StartSession", false));
        let refused = state.topics.deliveries(Some(&closed));
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0].failure.as_deref().unwrap().starts_with(
                "the topic's policy does not allow events.amazonaws.com to sns:Publish"
            ),
            "{refused:?}"
        );
        // Another account's events never reach this account's rules.
        let foreign = record("StartSession", false).replace("123456789012", "210987654321");
        assert_eq!(deliver(&state, &foreign), 0);
        assert_eq!(deliver(&state, "not json"), 0);
        assert_eq!(deliver(&state, "{}"), 0);
    }
}
