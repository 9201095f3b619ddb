//! SNS topics, their subscriptions, and every message published to them (by Publish or by an
//! EventBridge target), kept in a bounded log that tests and `GET /gangway/v1/deliveries`
//! read: the emulator has no mail server, so the log is where an alert "arrives".

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::emulator::fleet::Place;

/// Topics the emulator holds at most (SNS's quota is 100,000 per account; docs/emulator.md).
pub const MAX_TOPICS: usize = 1000;
/// Subscriptions per topic the emulator holds at most.
pub const MAX_SUBSCRIPTIONS_PER_TOPIC: usize = 100;
/// Deliveries kept, newest last; older ones are dropped first (docs/emulator.md).
pub const MAX_DELIVERIES: usize = 1000;
/// SNS's limit on a message: 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub arn: String,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub subscriptions: Vec<Subscription>,
}

/// One message that reached (or failed to reach) a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Increasing: the order deliveries happened in.
    pub seq: u64,
    pub time: SystemTime,
    pub topic_arn: String,
    /// SNS's MessageId; empty when the delivery failed.
    pub message_id: String,
    pub subject: Option<String>,
    pub message: String,
    /// `Publish` for the API, else the EventBridge rule that delivered it.
    pub rule: Option<String>,
    pub target_id: Option<String>,
    /// The CloudTrail event (its `eventID` and `eventName`) that matched the rule.
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    /// `None`: delivered; otherwise why not.
    pub failure: Option<String>,
}

impl Topic {
    /// The topic's policy: the one set, else SNS's default.
    pub fn policy(&self) -> String {
        match self.attributes.get("Policy") {
            Some(policy) => policy.clone(),
            None => super::policy::default_policy(&self.arn, account_of(&self.arn).unwrap_or("")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicError {
    TooMany,
    NotFound,
    TooManySubscriptions,
}

#[derive(Default)]
struct Inner {
    topics: BTreeMap<String, Topic>,
    deliveries: VecDeque<Delivery>,
    next_seq: u64,
}

#[derive(Default)]
pub struct Topics {
    inner: Mutex<Inner>,
}

/// A topic's ARN: the account and region it is created in.
pub fn topic_arn(place: Place<'_>, name: &str) -> String {
    format!("arn:aws:sns:{}:{}:{name}", place.region, place.account)
}

/// The account a topic ARN names (`arn:aws:sns:REGION:ACCOUNT:NAME`).
pub fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

impl Topics {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates the topic, or returns the existing one of that ARN (CreateTopic is
    /// idempotent).
    pub fn create(
        &self,
        place: Place<'_>,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<Topic, TopicError> {
        let arn = topic_arn(place, name);
        let mut inner = self.lock();
        if let Some(topic) = inner.topics.get(&arn) {
            return Ok(topic.clone());
        }
        if inner.topics.len() >= MAX_TOPICS {
            return Err(TopicError::TooMany);
        }
        let topic = Topic {
            arn: arn.clone(),
            name: name.to_owned(),
            attributes,
            subscriptions: Vec::new(),
        };
        inner.topics.insert(arn, topic.clone());
        Ok(topic)
    }

    pub fn get(&self, arn: &str) -> Option<Topic> {
        self.lock().topics.get(arn).cloned()
    }

    /// Every topic of an account's region, in ARN order.
    pub fn list(&self, place: Place<'_>) -> Vec<Topic> {
        let prefix = format!("arn:aws:sns:{}:{}:", place.region, place.account);
        self.lock()
            .topics
            .values()
            .filter(|t| t.arn.starts_with(&prefix))
            .cloned()
            .collect()
    }

    /// Sets one attribute of a topic (SetTopicAttributes; the caller checked the value).
    pub fn set_attribute(&self, arn: &str, name: &str, value: &str) -> Result<(), TopicError> {
        let mut inner = self.lock();
        let topic = inner.topics.get_mut(arn).ok_or(TopicError::NotFound)?;
        topic.attributes.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// Deleting a topic that does not exist is no error, as in SNS.
    pub fn delete(&self, arn: &str) {
        self.lock().topics.remove(arn);
    }

    pub fn subscribe(
        &self,
        arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<Subscription, TopicError> {
        let mut inner = self.lock();
        let topic = inner.topics.get_mut(arn).ok_or(TopicError::NotFound)?;
        if let Some(existing) = topic
            .subscriptions
            .iter()
            .find(|s| s.protocol == protocol && s.endpoint == endpoint)
        {
            return Ok(existing.clone());
        }
        if topic.subscriptions.len() >= MAX_SUBSCRIPTIONS_PER_TOPIC {
            return Err(TopicError::TooManySubscriptions);
        }
        let subscription = Subscription {
            arn: format!("{arn}:{}", uuid::Uuid::new_v4()),
            protocol: protocol.to_owned(),
            endpoint: endpoint.to_owned(),
        };
        topic.subscriptions.push(subscription.clone());
        Ok(subscription)
    }

    /// Records a message for `delivery.topic_arn`: delivered (with a new MessageId) when the
    /// topic exists, else as a failure. Returns the recorded delivery.
    pub fn deliver(&self, mut delivery: Delivery) -> Delivery {
        let mut inner = self.lock();
        if delivery.failure.is_none() {
            if inner.topics.contains_key(&delivery.topic_arn) {
                delivery.message_id = uuid::Uuid::new_v4().to_string();
            } else {
                delivery.failure = Some("the topic does not exist".to_owned());
            }
        }
        delivery.seq = inner.next_seq;
        inner.next_seq += 1;
        inner.deliveries.push_back(delivery.clone());
        while inner.deliveries.len() > MAX_DELIVERIES {
            inner.deliveries.pop_front();
        }
        delivery
    }

    /// The deliveries kept, oldest first, to `topic_arn` when given.
    pub fn deliveries(&self, topic_arn: Option<&str>) -> Vec<Delivery> {
        self.lock()
            .deliveries
            .iter()
            .filter(|d| topic_arn.is_none_or(|arn| d.topic_arn == arn))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EAST: Place<'static> = Place {
        account: "123456789012",
        region: "us-east-1",
    };

    fn message(topic: &str, text: &str) -> Delivery {
        Delivery {
            seq: 0,
            time: SystemTime::UNIX_EPOCH,
            topic_arn: topic.to_owned(),
            message_id: String::new(),
            subject: None,
            message: text.to_owned(),
            rule: None,
            target_id: None,
            event_id: None,
            event_name: None,
            failure: None,
        }
    }

    #[test]
    fn create_is_idempotent_and_delete_forgiving() {
        let topics = Topics::default();
        let a = topics.create(EAST, "alerts", BTreeMap::new()).unwrap();
        let again = topics.create(EAST, "alerts", BTreeMap::new()).unwrap();
        assert_eq!(a.arn, again.arn);
        assert_eq!(a.arn, "arn:aws:sns:us-east-1:123456789012:alerts");
        assert_eq!(topics.list(EAST).len(), 1);
        assert!(
            topics
                .list(Place {
                    region: "eu-west-1",
                    ..EAST
                })
                .is_empty()
        );
        assert!(
            topics
                .list(Place {
                    account: "210987654321",
                    ..EAST
                })
                .is_empty()
        );
        topics.delete(&a.arn);
        topics.delete(&a.arn);
        assert!(topics.get(&a.arn).is_none());
    }

    #[test]
    fn deliveries_to_missing_topics_fail_and_the_log_is_bounded() {
        let topics = Topics::default();
        let arn = topics.create(EAST, "t", BTreeMap::new()).unwrap().arn;
        let delivered = topics.deliver(message(&arn, "hi"));
        assert!(delivered.failure.is_none());
        assert!(!delivered.message_id.is_empty());
        let failed = topics.deliver(message("arn:aws:sns:us-east-1:123456789012:nope", "x"));
        assert_eq!(failed.failure.as_deref(), Some("the topic does not exist"));
        for i in 0..MAX_DELIVERIES {
            topics.deliver(message(&arn, &i.to_string()));
        }
        let kept = topics.deliveries(None);
        assert_eq!(kept.len(), MAX_DELIVERIES);
        assert_eq!(
            kept.last().unwrap().message,
            (MAX_DELIVERIES - 1).to_string()
        );
        assert!(kept.windows(2).all(|w| w[0].seq < w[1].seq));
    }
}
