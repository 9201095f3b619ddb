//! Builds the CloudTrail record of one served call, in AWS's record format (CloudTrail User
//! Guide, "CloudTrail record contents for management events"): `eventVersion`,
//! `userIdentity` (an IAM user: `principalId`, `arn`, `accountId`, `accessKeyId`,
//! `userName`), `eventTime`, `eventSource`, `eventName`, `awsRegion`, `sourceIPAddress`,
//! `userAgent`, `requestParameters` and `responseElements` with lowerCamelCase keys,
//! `errorCode`/`errorMessage` on failure, `requestID`, `eventID`, `readOnly`, `eventType:
//! AwsApiCall`, `managementEvent`, `recipientAccountId`, `eventCategory: Management`.
//!
//! What AWS leaves out, the emulator leaves out: a StartSession/ResumeSession record keeps
//! `sessionId` and `streamUrl` but its `tokenValue` reads "Value hidden due to security
//! reasons." (the shape of the StartSession records AWS delivers, as shown in AWS's
//! Session Manager auditing examples); read-only calls (Describe*, Get*, List*, Lookup*,
//! KMS Decrypt/GenerateDataKey) record `responseElements: null`, so no data key or
//! plaintext is ever in the trail; request fields carrying key material (`plaintext`,
//! `ciphertextBlob`) are dropped.

use std::net::IpAddr;
use std::time::SystemTime;

use hyper::header::USER_AGENT;
use hyper::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::TrailEvent;
use crate::emulator::fleet::{Fleet, Principal, User};
use crate::emulator::{identity, sts};

/// What CloudTrail writes in place of a session token.
pub const HIDDEN: &str = "Value hidden due to security reasons.";
/// Record format version of the records written (CloudTrail's current one).
pub const EVENT_VERSION: &str = "1.09";
/// A `requestParameters` or `responseElements` whose JSON is longer than this is recorded
/// as `null` (docs/emulator.md), so one 1 MiB request cannot fill the trail.
pub const MAX_ELEMENT_BYTES: usize = 16 << 10;
/// `userAgent` is cut to this many characters.
pub const MAX_USER_AGENT: usize = 1024;
const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ec2,
    Ssm,
    Kms,
    Sts,
    CloudTrail,
    Events,
    Sns,
}

impl Service {
    pub fn event_source(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2.amazonaws.com",
            Service::Ssm => "ssm.amazonaws.com",
            Service::Kms => "kms.amazonaws.com",
            Service::Sts => "sts.amazonaws.com",
            Service::CloudTrail => "cloudtrail.amazonaws.com",
            Service::Events => "events.amazonaws.com",
            Service::Sns => "sns.amazonaws.com",
        }
    }

    /// JSON 1.1 services carry JSON in both directions; the others are Query (form in,
    /// XML out).
    fn is_json(self) -> bool {
        matches!(
            self,
            Service::Ssm | Service::Kms | Service::CloudTrail | Service::Events
        )
    }
}

/// `requestParameters` and `responseElements` a handler wrote itself, in the shape
/// CloudTrail gives that service's records (EC2's nested `items` lists), put in the
/// response's extensions; without them the record is derived from the request and answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailElements {
    pub request_parameters: Value,
    pub response_elements: Value,
}

/// One served API call, as `api.rs` saw it.
pub struct ServedCall<'a> {
    pub service: Service,
    /// The operation name (`StartSession`, `DescribeInstances`), not yet checked.
    pub operation: &'a str,
    pub headers: &'a HeaderMap,
    pub source_ip: Option<IpAddr>,
    pub request_body: Option<&'a [u8]>,
    pub status: StatusCode,
    pub response_headers: &'a HeaderMap,
    pub response_body: &'a [u8],
    pub at: SystemTime,
    /// The handler's own record elements, when it gave them.
    pub elements: Option<&'a TrailElements>,
}

/// The trail event of a call, or `None` when CloudTrail would have none: no known caller
/// (a request signed with a key no account owns is recorded nowhere) or no well-formed
/// operation name.
pub fn build(fleet: &Fleet, call: &ServedCall<'_>) -> Option<TrailEvent> {
    let key = identity::access_key_id(call.headers)?;
    build_for(fleet.user_by_access_key(key)?, call)
}

/// The trail event of a call by `user` (a fleet user or a role session), in the user's
/// account: `userIdentity.accountId`, `recipientAccountId` and the resources' ARNs name it,
/// so another account's rules and LookupEvents never see it.
pub fn build_for(user: &User, call: &ServedCall<'_>) -> Option<TrailEvent> {
    let account = user.account.as_str();
    let operation = call.operation;
    let well_formed = !operation.is_empty()
        && operation.len() <= 64
        && operation.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return None;
    }
    let read_only = is_read_only(call.service, operation);
    let request_parameters = bounded(match call.elements {
        Some(elements) => elements.request_parameters.clone(),
        None => request_parameters(call),
    });
    let failure = (!call.status.is_success()).then(|| error_of(call));
    let response_elements = if read_only || failure.is_some() {
        Value::Null
    } else {
        bounded(match call.elements {
            Some(elements) => elements.response_elements.clone(),
            None => response_elements(call),
        })
    };
    let region = signing_region(call.headers).unwrap_or(DEFAULT_REGION);
    let event_id = uuid::Uuid::new_v4().to_string();
    let request_id = request_id(call).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let user_agent: String = call
        .headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT)
        .collect();
    let source_ip = call
        .source_ip
        .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string());
    let resources = resources(&request_parameters, &response_elements);
    let mut record = json!({
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(user),
        "eventTime": format_time(call.at),
        "eventSource": call.service.event_source(),
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request_parameters,
        "responseElements": response_elements,
    });
    let Value::Object(fields) = &mut record else {
        return None;
    };
    if let Some((code, message)) = failure {
        fields.insert("errorCode".to_owned(), Value::String(code));
        fields.insert("errorMessage".to_owned(), Value::String(message));
    }
    fields.insert("requestID".to_owned(), Value::String(request_id));
    fields.insert("eventID".to_owned(), Value::String(event_id.clone()));
    fields.insert("readOnly".to_owned(), Value::Bool(read_only));
    if !resources.is_empty() {
        let listed = resources
            .iter()
            .map(|(kind, name)| json!({"accountId": account, "type": kind, "ARN": arn_of(kind, name, account, region)}))
            .collect();
        fields.insert("resources".to_owned(), Value::Array(listed));
    }
    fields.insert("eventType".to_owned(), json!("AwsApiCall"));
    fields.insert("managementEvent".to_owned(), json!(true));
    fields.insert("recipientAccountId".to_owned(), json!(account));
    fields.insert("eventCategory".to_owned(), json!("Management"));
    Some(TrailEvent {
        seq: 0,
        account: account.to_owned(),
        event_id,
        event_name: operation.to_owned(),
        event_source: call.service.event_source().to_owned(),
        event_time: call.at,
        username: user.name.clone(),
        access_key_id: user.access_key_id.clone(),
        read_only,
        resources,
        cloudtrail_event: record.to_string(),
    })
}

/// CloudTrail's `readOnly`: calls that only read. KMS's cryptographic operations count as
/// read-only in CloudTrail (their records say `"readOnly": true`).
fn is_read_only(service: Service, operation: &str) -> bool {
    ["Describe", "Get", "List", "Lookup"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
        || (service == Service::Kms
            && matches!(
                operation,
                "Decrypt" | "Encrypt" | "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext"
            ))
}

/// CloudTrail's `userIdentity`: an IAM user, or a role session with its `sessionContext`
/// (the role that issued it), as CloudTrail records `AssumedRole` callers; the unique ids
/// are the ones STS GetCallerIdentity gives.
fn user_identity(user: &User) -> Value {
    match &user.principal {
        Principal::IamUser => json!({
            "type": "IAMUser",
            "principalId": sts::user_id(user),
            "arn": user.arn(),
            "accountId": user.account,
            "accessKeyId": user.access_key_id,
            "userName": user.name,
        }),
        Principal::AssumedRole { role } => json!({
            "type": "AssumedRole",
            "principalId": sts::user_id(user),
            "arn": user.arn(),
            "accountId": user.account,
            "accessKeyId": user.access_key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": sts::role_id(&user.account, role),
                    "arn": format!("arn:aws:iam::{}:role/{role}", user.account),
                    "accountId": user.account,
                    "userName": role,
                },
            },
        }),
    }
}

/// `…/us-west-2/ssm/aws4_request` → `us-west-2`.
fn signing_region(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization
        .strip_prefix("AWS4-HMAC-SHA256")?
        .split(',')
        .map(str::trim)
        .find_map(|field| field.strip_prefix("Credential="))?;
    credential
        .split('/')
        .nth(2)
        .filter(|region| {
            region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .filter(|region| !region.is_empty() && region.len() <= 32)
}

/// RFC 3339 in UTC to the second, as CloudTrail writes `eventTime`.
pub fn format_time(at: SystemTime) -> String {
    let seconds = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn request_parameters(call: &ServedCall<'_>) -> Value {
    let Some(body) = call.request_body else {
        return Value::Null;
    };
    if call.service.is_json() {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) if fields.is_empty() => Value::Null,
            Ok(value @ Value::Object(_)) => camel_keys(value),
            _ => Value::Null,
        };
    }
    // Query: every parameter but the envelope, by its name with a lower-case first letter
    // (CloudTrail's EC2 records nest lists as `instancesSet.items`; the emulator keeps the
    // flat `instanceId.1` names, docs/emulator.md).
    query_parameters(body)
}

/// A Query body's parameters as a JSON object, or `Null` once they are sure to be over
/// [`MAX_ELEMENT_BYTES`] as JSON: given up as soon as the entries so far (counted at their
/// unescaped size, which JSON can only grow) pass it, so a 1 MiB body of 50,000 filters
/// costs a few hundred entries, not all of them and their JSON (issue 17, F1).
fn query_parameters(body: &[u8]) -> Value {
    // `"key":"value",` without escapes.
    let entry_size = |key: &str, value: &Value| key.len() + value.as_str().map_or(0, str::len) + 6;
    let mut fields = Map::new();
    let mut size = 2;
    for (key, value) in form_urlencoded::parse(body) {
        if key == "Action" || key == "Version" {
            continue;
        }
        let key = lower_first(&key);
        if is_key_material(&key) {
            continue;
        }
        let value = Value::String(value.into_owned());
        size += entry_size(&key, &value);
        if let Some(replaced) = fields.insert(key.clone(), value) {
            size -= entry_size(&key, &replaced);
        }
        if size > MAX_ELEMENT_BYTES {
            return Value::Null;
        }
    }
    if fields.is_empty() {
        Value::Null
    } else {
        Value::Object(fields)
    }
}

fn response_elements(call: &ServedCall<'_>) -> Value {
    if !call.service.is_json() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(call.response_body) {
        Ok(Value::Object(fields)) if fields.is_empty() => Value::Null,
        Ok(value @ Value::Object(_)) => camel_keys(value),
        _ => Value::Null,
    }
}

/// Keys with a lower-case first letter, at every depth; key material dropped; a session
/// token replaced by CloudTrail's placeholder.
fn camel_keys(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (lower_first(&key), value))
                .filter(|(key, _)| !is_key_material(key))
                .map(|(key, value)| {
                    if key == "tokenValue" {
                        (key, Value::String(HIDDEN.to_owned()))
                    } else {
                        (key, camel_keys(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

fn is_key_material(key: &str) -> bool {
    matches!(
        key,
        "plaintext" | "ciphertextBlob" | "secretAccessKey" | "sessionToken"
    )
}

fn lower_first(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

fn bounded(value: Value) -> Value {
    if value.to_string().len() > MAX_ELEMENT_BYTES {
        Value::Null
    } else {
        value
    }
}

/// `errorCode` and `errorMessage`: JSON `__type` (without a `namespace#` prefix) and
/// `message`, or the Query XML's `<Code>` and `<Message>`.
fn error_of(call: &ServedCall<'_>) -> (String, String) {
    let fallback = || {
        (
            call.status
                .canonical_reason()
                .unwrap_or("Error")
                .replace(' ', ""),
            String::new(),
        )
    };
    if call.service.is_json() {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(call.response_body) else {
            return fallback();
        };
        let code = fields
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned());
        let message = ["message", "Message"]
            .iter()
            .find_map(|key| fields.get(*key).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        return code.map_or_else(fallback, |code| (code, message));
    }
    let text = String::from_utf8_lossy(call.response_body);
    match xml_leaf(&text, "Code") {
        Some(code) => (code, xml_leaf(&text, "Message").unwrap_or_default()),
        None => fallback(),
    }
}

/// The text of the first `<name>…</name>`, unescaped for the five XML entities.
fn xml_leaf(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn request_id(call: &ServedCall<'_>) -> Option<String> {
    if let Some(id) = call
        .response_headers
        .get("x-amzn-requestid")
        .and_then(|value| value.to_str().ok())
    {
        return Some(id.to_owned());
    }
    let text = String::from_utf8_lossy(call.response_body);
    xml_leaf(&text, "RequestId").or_else(|| xml_leaf(&text, "requestId"))
}

/// The resources a call names, as `(ResourceType, ResourceName)`: what `LookupEvents`
/// lists and its `ResourceName`/`ResourceType` attributes match.
fn resources(request: &Value, response: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut add = |kind: &str, name: &str| {
        let entry = (kind.to_owned(), name.to_owned());
        if !name.is_empty() && !found.contains(&entry) {
            found.push(entry);
        }
    };
    for fields in [request, response].into_iter().filter_map(Value::as_object) {
        for (key, value) in fields {
            let Some(name) = value.as_str() else {
                continue;
            };
            let key = key.as_str();
            if key == "target" || key == "instanceId" || key.starts_with("instanceId.") {
                let kind = if name.starts_with("mi-") {
                    "AWS::SSM::ManagedInstance"
                } else {
                    "AWS::EC2::Instance"
                };
                add(kind, name);
            } else if key == "sessionId" {
                add("AWS::SSM::Session", name);
            } else if key == "documentName" || (key == "name" && fields.contains_key("content")) {
                add("AWS::SSM::Document", name);
            } else if key == "keyId" {
                add("AWS::KMS::Key", name);
            } else if key == "groupId" && name.starts_with("sg-") {
                add("AWS::EC2::SecurityGroup", name);
            } else if key == "topicArn" {
                add("AWS::SNS::Topic", name);
            } else if key == "ruleArn" {
                add("AWS::Events::Rule", name);
            }
        }
    }
    found
}

fn arn_of(kind: &str, name: &str, account: &str, region: &str) -> String {
    match kind {
        "AWS::EC2::Instance" => format!("arn:aws:ec2:{region}:{account}:instance/{name}"),
        "AWS::SSM::ManagedInstance" => {
            format!("arn:aws:ssm:{region}:{account}:managed-instance/{name}")
        }
        "AWS::SSM::Session" => format!("arn:aws:ssm:{region}:{account}:session/{name}"),
        "AWS::SSM::Document" => format!("arn:aws:ssm:{region}:{account}:document/{name}"),
        "AWS::EC2::SecurityGroup" => {
            format!("arn:aws:ec2:{region}:{account}:security-group/{name}")
        }
        _ if name.starts_with("arn:") => name.to_owned(),
        _ => format!("arn:aws:kms:{region}:{account}:key/{name}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hyper::header::{AUTHORIZATION, HeaderValue};

    fn signed() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/eu-west-2/ssm/aws4_request, SignedHeaders=host, Signature=abc",
            ),
        );
        headers
    }

    #[test]
    fn a_start_session_record_hides_the_token_and_names_the_instance() {
        let fleet = Fleet::demo();
        let headers = signed();
        let call = ServedCall {
            service: Service::Ssm,
            operation: "StartSession",
            headers: &headers,
            source_ip: Some("10.0.0.7".parse().unwrap()),
            request_body: Some(br#"{"Target":"i-0abc","Reason":"deploy"}"#),
            status: StatusCode::OK,
            response_headers: &HeaderMap::new(),
            response_body: br#"{"SessionId":"dev-0123","TokenValue":"SECRET","StreamUrl":"ws://x/v1/data-channel/dev-0123"}"#,
            at: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            elements: None,
        };
        let event = build(&fleet, &call).unwrap();
        assert!(!event.cloudtrail_event.contains("SECRET"));
        let record: Value = serde_json::from_str(&event.cloudtrail_event).unwrap();
        assert_eq!(record["eventTime"], "2023-11-14T22:13:20Z");
        assert_eq!(record["awsRegion"], "eu-west-2");
        assert_eq!(record["sourceIPAddress"], "10.0.0.7");
        assert_eq!(record["userIdentity"]["userName"], "dev");
        assert_eq!(record["requestParameters"]["target"], "i-0abc");
        assert_eq!(record["requestParameters"]["reason"], "deploy");
        assert_eq!(record["responseElements"]["tokenValue"], HIDDEN);
        assert_eq!(record["responseElements"]["sessionId"], "dev-0123");
        assert_eq!(record["readOnly"], false);
        assert_eq!(
            event.resources,
            [
                ("AWS::EC2::Instance".to_owned(), "i-0abc".to_owned()),
                ("AWS::SSM::Session".to_owned(), "dev-0123".to_owned())
            ]
        );
    }

    /// The old way: every parameter collected, then measured. The bounded builder must give
    /// the same answer without collecting what cannot fit.
    fn collected_then_bounded(body: &[u8]) -> Value {
        let fields: Map<String, Value> = form_urlencoded::parse(body)
            .filter(|(key, _)| key != "Action" && key != "Version")
            .map(|(key, value)| (lower_first(&key), Value::String(value.into_owned())))
            .filter(|(key, _)| !is_key_material(key))
            .collect();
        bounded(if fields.is_empty() {
            Value::Null
        } else {
            Value::Object(fields)
        })
    }

    #[test]
    fn query_parameters_give_up_as_soon_as_they_cannot_fit() {
        let filters: String = (1..=25_000)
            .map(|n| format!("&Filter.{n}.Name=tag:Env&Filter.{n}.Value.1=dev"))
            .collect();
        let many = format!("Action=DescribeInstances{filters}");
        // One key sent 50,000 times is one small entry: replaced, not counted again.
        let repeated = "&InstanceId.1=i-0abc".repeat(50_000);
        let near = format!("Action=X&A={}&B={}", "a".repeat(8000), "b".repeat(8000));
        let over = format!("Action=X&A={}&B={}", "a".repeat(8192), "b".repeat(8192));
        for body in [
            many.as_str(),
            repeated.as_str(),
            near.as_str(),
            over.as_str(),
            "Action=X&Plaintext=c2VjcmV0&Name=a%22b",
            "Action=X",
        ] {
            let wanted = collected_then_bounded(body.as_bytes());
            assert_eq!(
                bounded(query_parameters(body.as_bytes())),
                wanted,
                "{:.60}",
                body
            );
        }
        assert_eq!(query_parameters(many.as_bytes()), Value::Null);
        assert_eq!(
            query_parameters(repeated.as_bytes())["instanceId.1"],
            "i-0abc"
        );
        assert_eq!(
            query_parameters(near.as_bytes())["b"]
                .as_str()
                .map(str::len),
            Some(8000)
        );
    }

    #[test]
    fn failures_carry_the_error_and_no_response() {
        let fleet = Fleet::demo();
        let headers = signed();
        let call = ServedCall {
            service: Service::Ec2,
            operation: "DescribeInstances",
            headers: &headers,
            source_ip: None,
            request_body: Some(b"Action=DescribeInstances&InstanceId.1=i-0abc"),
            status: StatusCode::BAD_REQUEST,
            response_headers: &HeaderMap::new(),
            response_body: b"<Response><Errors><Error><Code>InvalidInstanceID.Malformed</Code><Message>bad &amp; wrong</Message></Error></Errors><RequestID>r-1</RequestID></Response>",
            at: SystemTime::now(),
            elements: None,
        };
        let record: Value =
            serde_json::from_str(&build(&fleet, &call).unwrap().cloudtrail_event).unwrap();
        assert_eq!(record["errorCode"], "InvalidInstanceID.Malformed");
        assert_eq!(record["errorMessage"], "bad & wrong");
        assert_eq!(record["requestParameters"]["instanceId.1"], "i-0abc");
        assert_eq!(record["responseElements"], Value::Null);
        assert_eq!(record["readOnly"], true);
    }

    #[test]
    fn unknown_callers_and_garbage_operations_are_not_recorded() {
        let fleet = Fleet::demo();
        let headers = signed();
        let mut call = ServedCall {
            service: Service::Ssm,
            operation: "Start\u{1b}[2J",
            headers: &headers,
            source_ip: None,
            request_body: None,
            status: StatusCode::BAD_REQUEST,
            response_headers: &HeaderMap::new(),
            response_body: b"",
            at: SystemTime::now(),
            elements: None,
        };
        assert!(build(&fleet, &call).is_none());
        let anonymous = HeaderMap::new();
        call.operation = "StartSession";
        call.headers = &anonymous;
        assert!(build(&fleet, &call).is_none());
    }
}
