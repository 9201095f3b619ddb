//! SNS over the Query protocol (API version 2010-03-31: a form body with `Action=…`, told
//! apart from EC2 by the SigV4 scope's service `sns`, XML answers in SNS's namespace):
//! CreateTopic (idempotent), ListTopics, GetTopicAttributes, SetTopicAttributes, DeleteTopic,
//! Subscribe, ListSubscriptionsByTopic and Publish, each allowed by the caller's identity
//! policies and the topic's policy (`policy.rs`, which also decides EventBridge's deliveries). Nothing is sent anywhere: every message published,
//! by the API or by an EventBridge target, is kept in the topics' delivery log (`topics.rs`).

pub mod policy;
pub mod topics;

use std::collections::BTreeMap;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::api::ApiRequest;
use super::authorize::{self, Ask};
use super::ec2::XmlWriter;
use super::fleet::User;
use super::identity::{self, CallerError, EXPIRED_TOKEN_MESSAGE};
use super::pagination;
use super::router::ResponseBody;
use super::state::EmulatorState;
use super::trail::record::TrailElements;
use policy::{TopicPolicy, Verdict, Who};
pub use topics::{Delivery, Topic, TopicError, Topics, account_of, topic_arn};

const NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";
/// ListTopics and ListSubscriptionsByTopic pages: SNS's 100.
const PAGE: usize = 100;
/// What CloudTrail writes for a published message and subject.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

struct SnsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl SnsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("Invalid parameter: {what}"),
        )
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "Topic does not exist")
    }
}

type Params = BTreeMap<String, String>;

pub fn handle(state: &EmulatorState, request: &ApiRequest<'_>) -> Response<ResponseBody> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let params: Params = request
        .body
        .as_ref()
        .map(|body| form_urlencoded::parse(body).into_owned().collect())
        .unwrap_or_default();
    let action = params.get("Action").cloned().unwrap_or_default();
    let caller = identity::authenticate(state, &request.parts.headers);
    let region = identity::signing_region(&request.parts.headers);
    let answer = match &caller {
        Err(CallerError::MissingCredentials) => Err(SnsError::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )),
        Err(CallerError::UnknownAccessKey) => Err(SnsError::new(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )),
        Err(CallerError::ExpiredToken) => Err(SnsError::new(
            StatusCode::FORBIDDEN,
            "ExpiredToken",
            EXPIRED_TOKEN_MESSAGE,
        )),
        Ok(_) if request.body.is_err() => Err(SnsError::invalid("request body")),
        Ok(user) => dispatch(state, user, &region, &action, &params, &request_id),
    };
    let user = caller.as_ref().map_or("-", |user| user.name.as_str());
    let shown: String = action
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let (status, xml, elements) = match answer {
        Ok((xml, elements)) => {
            tracing::info!("sns {shown} user={user} ok");
            (StatusCode::OK, xml, elements)
        }
        Err(err) => {
            tracing::info!("sns {shown} user={user} error={}", err.code);
            (err.status, error_xml(&err, &request_id), Value::Null)
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(xml)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response.extensions_mut().insert(TrailElements {
        request_parameters: request_parameters(&params),
        response_elements: elements,
    });
    response
}

fn dispatch(
    state: &EmulatorState,
    caller: &User,
    region: &str,
    action: &str,
    params: &Params,
    request_id: &str,
) -> Result<(String, Value), SnsError> {
    let topics = &state.topics;
    let place = caller.place(region);
    let check = |iam_action: &str, resource: &str| -> Result<(), SnsError> {
        authorize::check(state, caller, region, &Ask::new(iam_action, resource))
            .map(|_| ())
            .map_err(|denial| {
                SnsError::new(StatusCode::FORBIDDEN, "AuthorizationError", denial.message)
            })?;
        topic_policy_allows(topics, caller, iam_action, resource)
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    let topic_param = || -> Result<String, SnsError> {
        get("TopicArn")
            .filter(|arn| !arn.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| SnsError::invalid("TopicArn"))
    };
    match action {
        "CreateTopic" => {
            let name = get("Name").unwrap_or_default();
            let valid = (1..=256).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(SnsError::invalid("Topic Name"));
            }
            let arn = topic_arn(place, name);
            check("sns:CreateTopic", &arn)?;
            let attributes = entries(params, "Attributes");
            for (key, value) in &attributes {
                check_attribute(key, value)?;
            }
            let topic = topics
                .create(place, name, attributes)
                .map_err(|_| too_many_topics())?;
            let mut xml = start("CreateTopic");
            xml.leaf("TopicArn", &topic.arn);
            Ok((
                finish(xml, "CreateTopic", request_id),
                json!({"topicArn": topic.arn}),
            ))
        }
        "ListTopics" => {
            check("sns:ListTopics", "*")?;
            let all = topics.list(place);
            let start_at = page_start(get("NextToken"))?;
            let (page, next) = pagination::page(&all, start_at, PAGE);
            let mut xml = start("ListTopics");
            xml.open("Topics");
            for topic in page {
                xml.open("member");
                xml.leaf("TopicArn", &topic.arn);
                xml.close("member");
            }
            xml.close("Topics");
            if let Some(token) = next {
                xml.leaf("NextToken", &token);
            }
            Ok((finish(xml, "ListTopics", request_id), Value::Null))
        }
        "GetTopicAttributes" => {
            let arn = topic_param()?;
            check("sns:GetTopicAttributes", &arn)?;
            let topic = topics.get(&arn).ok_or_else(SnsError::not_found)?;
            let mut attributes = topic.attributes.clone();
            attributes.insert("Policy".to_owned(), topic.policy());
            attributes.insert("TopicArn".to_owned(), topic.arn.clone());
            attributes.insert(
                "Owner".to_owned(),
                account_of(&topic.arn).unwrap_or_default().to_owned(),
            );
            attributes
                .entry("DisplayName".to_owned())
                .or_insert_with(String::new);
            attributes.insert(
                "SubscriptionsConfirmed".to_owned(),
                topic.subscriptions.len().to_string(),
            );
            attributes.insert("SubscriptionsPending".to_owned(), "0".to_owned());
            attributes.insert("SubscriptionsDeleted".to_owned(), "0".to_owned());
            let mut xml = start("GetTopicAttributes");
            xml.open("Attributes");
            for (key, value) in &attributes {
                xml.open("entry");
                xml.leaf("key", key);
                xml.leaf("value", value);
                xml.close("entry");
            }
            xml.close("Attributes");
            Ok((finish(xml, "GetTopicAttributes", request_id), Value::Null))
        }
        "SetTopicAttributes" => {
            let arn = topic_param()?;
            let name = get("AttributeName").unwrap_or_default();
            let value = get("AttributeValue").unwrap_or_default();
            check_attribute(name, value)?;
            check("sns:SetTopicAttributes", &arn)?;
            topics
                .set_attribute(&arn, name, value)
                .map_err(|_| SnsError::not_found())?;
            Ok((
                finish(
                    start("SetTopicAttributes"),
                    "SetTopicAttributes",
                    request_id,
                ),
                Value::Null,
            ))
        }
        "DeleteTopic" => {
            let arn = topic_param()?;
            check("sns:DeleteTopic", &arn)?;
            topics.delete(&arn);
            Ok((
                finish(start("DeleteTopic"), "DeleteTopic", request_id),
                Value::Null,
            ))
        }
        "Subscribe" => {
            let arn = topic_param()?;
            let protocol = get("Protocol").unwrap_or_default();
            const PROTOCOLS: [&str; 9] = [
                "http",
                "https",
                "email",
                "email-json",
                "sms",
                "sqs",
                "application",
                "lambda",
                "firehose",
            ];
            if !PROTOCOLS.contains(&protocol) {
                return Err(SnsError::invalid("Protocol"));
            }
            let endpoint = get("Endpoint").unwrap_or_default();
            if endpoint.is_empty() || endpoint.len() > 2048 {
                return Err(SnsError::invalid("Endpoint"));
            }
            check("sns:Subscribe", &arn)?;
            let subscription = topics
                .subscribe(&arn, protocol, endpoint)
                .map_err(|err| match err {
                    TopicError::NotFound => SnsError::not_found(),
                    _ => SnsError::new(
                        StatusCode::FORBIDDEN,
                        "SubscriptionLimitExceeded",
                        "Invalid parameter: the topic has the most subscriptions the emulator keeps",
                    ),
                })?;
            let mut xml = start("Subscribe");
            xml.leaf("SubscriptionArn", &subscription.arn);
            Ok((
                finish(xml, "Subscribe", request_id),
                json!({"subscriptionArn": subscription.arn}),
            ))
        }
        "ListSubscriptionsByTopic" => {
            let arn = topic_param()?;
            check("sns:ListSubscriptionsByTopic", &arn)?;
            let topic = topics.get(&arn).ok_or_else(SnsError::not_found)?;
            let start_at = page_start(get("NextToken"))?;
            let (page, next) = pagination::page(&topic.subscriptions, start_at, PAGE);
            let mut xml = start("ListSubscriptionsByTopic");
            xml.open("Subscriptions");
            for subscription in page {
                xml.open("member");
                xml.leaf("TopicArn", &topic.arn);
                xml.leaf("Protocol", &subscription.protocol);
                xml.leaf("SubscriptionArn", &subscription.arn);
                xml.leaf("Owner", account_of(&topic.arn).unwrap_or_default());
                xml.leaf("Endpoint", &subscription.endpoint);
                xml.close("member");
            }
            xml.close("Subscriptions");
            if let Some(token) = next {
                xml.leaf("NextToken", &token);
            }
            Ok((
                finish(xml, "ListSubscriptionsByTopic", request_id),
                Value::Null,
            ))
        }
        "Publish" => {
            let arn = get("TopicArn")
                .or(get("TargetArn"))
                .filter(|a| !a.is_empty())
                .ok_or_else(|| SnsError::invalid("TopicArn or TargetArn"))?
                .to_owned();
            let message = get("Message").unwrap_or_default();
            if message.is_empty() {
                return Err(SnsError::invalid("Empty message"));
            }
            if message.len() > topics::MAX_MESSAGE_BYTES {
                return Err(SnsError::invalid("Message too long"));
            }
            check("sns:Publish", &arn)?;
            if topics.get(&arn).is_none() {
                return Err(SnsError::not_found());
            }
            let delivered = topics.deliver(Delivery {
                seq: 0,
                time: state.clock.now(),
                topic_arn: arn,
                message_id: String::new(),
                subject: get("Subject").map(str::to_owned),
                message: message.to_owned(),
                rule: None,
                target_id: None,
                event_id: None,
                event_name: None,
                failure: None,
            });
            let mut xml = start("Publish");
            xml.leaf("MessageId", &delivered.message_id);
            Ok((
                finish(xml, "Publish", request_id),
                json!({"messageId": delivered.message_id}),
            ))
        }
        other => Err(SnsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!(
                "The action {} is not valid for this endpoint.",
                other
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect::<String>()
            ),
        )),
    }
}

/// The topic's policy on a call the caller's identity policies allowed: an explicit Deny
/// refuses it, and a topic of another account needs an Allow for the caller (IAM's
/// cross-account rule: both sides must allow). A topic that does not exist is left to the
/// operation (NotFound), in the caller's own account.
fn topic_policy_allows(
    topics: &Topics,
    caller: &User,
    iam_action: &str,
    resource: &str,
) -> Result<(), SnsError> {
    let Some(owner) = account_of(resource).filter(|_| resource.starts_with("arn:aws:sns:")) else {
        return Ok(());
    };
    let cross_account = owner != caller.account;
    let verdict = match topics.get(resource) {
        Some(topic) => {
            let who = Who::Identity(caller);
            TopicPolicy::parse(&topic.policy()).map_or(Verdict::Silent, |p| {
                p.decide(who, iam_action, resource, &policy::context(who, None))
            })
        }
        None => Verdict::Silent,
    };
    let refused = match verdict {
        Verdict::Deny => Some("with an explicit deny in a resource-based policy"),
        Verdict::Silent if cross_account => Some("because no resource-based policy allows it"),
        _ => None,
    };
    match refused {
        Some(why) => Err(SnsError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationError",
            format!(
                "User: {} is not authorized to perform: {iam_action} on resource: {resource} {why}",
                caller.arn()
            ),
        )),
        None => Ok(()),
    }
}

/// Attributes SetTopicAttributes (and CreateTopic) take; `Policy` must be a policy SNS reads.
const SETTABLE: [&str; 6] = [
    "Policy",
    "DisplayName",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
];

fn check_attribute(name: &str, value: &str) -> Result<(), SnsError> {
    if !SETTABLE.contains(&name) {
        return Err(SnsError::invalid("AttributeName"));
    }
    if name == "Policy" {
        TopicPolicy::parse(value).map_err(|why| {
            SnsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                format!("Invalid parameter: Policy Error: {why}"),
            )
        })?;
    }
    Ok(())
}

fn too_many_topics() -> SnsError {
    SnsError::new(
        StatusCode::FORBIDDEN,
        "TopicLimitExceeded",
        "Topic already exists or is over the limit of topics the emulator keeps",
    )
}

fn page_start(token: Option<&str>) -> Result<usize, SnsError> {
    match token {
        None | Some("") => Ok(0),
        Some(token) => pagination::decode(token).ok_or_else(|| SnsError::invalid("NextToken")),
    }
}

/// `PREFIX.entry.N.key` / `PREFIX.entry.N.value`, SNS's map encoding.
fn entries(params: &Params, prefix: &str) -> BTreeMap<String, String> {
    let mut keys: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    let head = format!("{prefix}.entry.");
    for (key, value) in params {
        let Some(rest) = key.strip_prefix(&head) else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        let entry = keys.entry(index).or_default();
        match field {
            "key" => entry.0 = Some(value.clone()),
            "value" => entry.1 = Some(value.clone()),
            _ => {}
        }
    }
    keys.into_values()
        .filter_map(|(key, value)| Some((key?, value.unwrap_or_default())))
        .collect()
}

fn start(action: &str) -> XmlWriter {
    let mut xml = XmlWriter::with_namespace(&format!("{action}Response"), NAMESPACE);
    xml.open(&format!("{action}Result"));
    xml
}

fn finish(mut xml: XmlWriter, action: &str, request_id: &str) -> String {
    xml.close(&format!("{action}Result"));
    xml.open("ResponseMetadata");
    xml.leaf("RequestId", request_id);
    xml.close("ResponseMetadata");
    xml.finish(&format!("{action}Response"))
}

fn error_xml(err: &SnsError, request_id: &str) -> String {
    let mut xml = XmlWriter::with_namespace("ErrorResponse", NAMESPACE);
    xml.open("Error");
    xml.leaf("Type", "Sender");
    xml.leaf("Code", err.code);
    xml.leaf("Message", &err.message);
    xml.close("Error");
    xml.leaf("RequestId", request_id);
    xml.finish("ErrorResponse")
}

/// CloudTrail's SNS `requestParameters`: the parameters with a lower-case first letter, a
/// published message and subject hidden as CloudTrail hides them.
fn request_parameters(params: &Params) -> Value {
    let fields: Map<String, Value> = params
        .iter()
        .filter(|(key, _)| key.as_str() != "Action" && key.as_str() != "Version")
        .map(|(key, value)| {
            let mut name = key.clone();
            if let Some(first) = name.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            let value = if name == "message" || name == "subject" {
                HIDDEN.to_owned()
            } else {
                value.clone()
            };
            (name, Value::String(value))
        })
        .collect();
    if fields.is_empty() {
        Value::Null
    } else {
        Value::Object(fields)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attribute_maps_are_read_as_sns_encodes_them() {
        let params: Params = form_urlencoded::parse(
            b"Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Alerts&Attributes.entry.2.key=Policy",
        )
        .into_owned()
        .collect();
        let map = entries(&params, "Attributes");
        assert_eq!(map.get("DisplayName").unwrap(), "Alerts");
        assert_eq!(map.get("Policy").unwrap(), "");
    }

    #[test]
    fn published_messages_are_hidden_in_the_trail() {
        let params: Params = form_urlencoded::parse(b"Action=Publish&TopicArn=arn&Message=secret")
            .into_owned()
            .collect();
        let value = request_parameters(&params);
        assert_eq!(value["message"], HIDDEN);
        assert_eq!(value["topicArn"], "arn");
        assert!(value.get("action").is_none());
    }
}
