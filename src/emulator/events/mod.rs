//! EventBridge over AWS JSON 1.1 (`X-Amz-Target: AWSEvents.<Operation>`): PutRule,
//! DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule, PutTargets,
//! ListTargetsByRule and RemoveTargets on each region's `default` event bus. Event patterns
//! are validated with the parser `gangway alerts` uses (InvalidEventPatternException with
//! its reason); every call is authorised with IAM (`events:PutRule` on
//! `arn:aws:events:REGION:ACCOUNT:rule/NAME`). What the rules do with the trail's events is
//! `delivery.rs`.

pub mod delivery;
pub mod rules;

use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::alerts::Pattern;
use crate::alerts::rules::InputTransformer;

use super::api::ApiRequest;
use super::authorize::{self, Ask};
use super::fleet::{Place, User};
use super::identity;
use super::pagination;
use super::router::ResponseBody;
use super::state::EmulatorState;
use super::{json11, places};
use rules::{RuleDefinition, RuleState, RuleStore, StoreError, StoredRule, StoredTarget};

/// The X-Amz-Target prefix of every EventBridge operation.
pub const TARGET_PREFIX: &str = "AWSEvents.";
/// The one event bus: each region's default.
pub const DEFAULT_BUS: &str = "default";
/// ListRules and ListTargetsByRule: `Limit` 1-100, default 100.
const MAX_LIMIT: i64 = 100;

struct EventsError {
    code: &'static str,
    message: String,
}

impl EventsError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    fn no_rule(name: &str) -> Self {
        Self::new(
            "ResourceNotFoundException",
            format!("Rule {name} does not exist on EventBus {DEFAULT_BUS}."),
        )
    }
}

pub fn handle(
    state: &EmulatorState,
    target: &str,
    request: &ApiRequest<'_>,
) -> Response<ResponseBody> {
    let operation = json11::operation(target, TARGET_PREFIX);
    let caller = json11::authenticate(state, request);
    let region = identity::signing_region(&request.parts.headers);
    let result = match &caller {
        Err(refusal) => Err(EventsError::new(refusal.code, refusal.message)),
        Ok(user) => match &request.body {
            Err(err) => Err(EventsError::new("SerializationException", err.clone())),
            Ok(body) => dispatch(state, user, &region, &operation, body),
        },
    };
    let user = caller.as_ref().map_or("-", |user| user.name.as_str());
    match result {
        Ok(body) => {
            tracing::info!("events {operation} user={user} ok");
            json11::respond(StatusCode::OK, &body)
        }
        Err(err) => {
            tracing::info!("events {operation} user={user} error={}", err.code);
            json11::respond(
                StatusCode::BAD_REQUEST,
                &json11::error_body(err.code, &err.message),
            )
        }
    }
}

/// A rule's ARN in the account and region of its bus.
pub fn rule_arn(place: Place<'_>, name: &str) -> String {
    format!(
        "arn:aws:events:{}:{}:rule/{name}",
        place.region, place.account
    )
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, EventsError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|err| EventsError::new("SerializationException", err.to_string()))
}

/// The caller and what IAM needs to decide for them.
struct Caller<'a> {
    state: &'a EmulatorState,
    user: &'a User,
    region: &'a str,
}

impl Caller<'_> {
    /// The caller's account and the request's region: the bus this call reaches.
    fn place(&self) -> Place<'_> {
        self.user.place(self.region)
    }

    fn arn(&self, name: &str) -> String {
        rule_arn(self.place(), name)
    }

    /// The rules of the caller's bus.
    fn bus(&self) -> Result<Arc<RuleStore>, EventsError> {
        self.state
            .rules
            .at(self.place())
            .map_err(|places::TooManyPlaces| {
                EventsError::new(
                    "LimitExceededException",
                    format!(
                        "The emulator keeps event buses for at most {} (account, region) pairs.",
                        places::MAX_PLACES
                    ),
                )
            })
    }

    fn authorize(&self, operation: &str, resource: &str) -> Result<(), EventsError> {
        let action = format!("events:{operation}");
        authorize::check(
            self.state,
            self.user,
            self.region,
            &Ask::new(&action, resource),
        )
        .map(|_| ())
        .map_err(|denial| EventsError::new("AccessDeniedException", denial.message))
    }
}

fn dispatch(
    state: &EmulatorState,
    user: &User,
    region: &str,
    operation: &str,
    body: &[u8],
) -> Result<Value, EventsError> {
    let caller = Caller {
        state,
        user,
        region,
    };
    match operation {
        "PutRule" => put_rule(&caller, parse(body)?),
        "DescribeRule" => describe_rule(&caller, parse(body)?),
        "ListRules" => list_rules(&caller, parse(body)?),
        "DeleteRule" => delete_rule(&caller, parse(body)?),
        "EnableRule" => set_state(&caller, parse(body)?, "EnableRule", RuleState::Enabled),
        "DisableRule" => set_state(&caller, parse(body)?, "DisableRule", RuleState::Disabled),
        "PutTargets" => put_targets(&caller, parse(body)?),
        "ListTargetsByRule" => list_targets(&caller, parse(body)?),
        "RemoveTargets" => remove_targets(&caller, parse(body)?),
        other => Err(EventsError::new(
            "UnknownOperationException",
            format!("Unknown operation {other}"),
        )),
    }
}

/// Rule names and target ids: 1-64 of `.-_A-Za-z0-9` (the API reference's pattern).
fn check_name(what: &str, name: &str) -> Result<(), EventsError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if valid {
        Ok(())
    } else {
        Err(EventsError::validation(format!(
            "1 validation error detected: Value '{}' at '{what}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64",
            name.chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        )))
    }
}

/// Only the default bus exists: its name or its ARN (in the caller's account).
fn check_bus(caller: &Caller<'_>, bus: Option<&str>) -> Result<(), EventsError> {
    let place = caller.place();
    match bus {
        None | Some(DEFAULT_BUS) => Ok(()),
        Some(arn)
            if arn
                == format!(
                    "arn:aws:events:{}:{}:event-bus/default",
                    place.region, place.account
                ) =>
        {
            Ok(())
        }
        Some(other) => Err(EventsError::new(
            "ResourceNotFoundException",
            format!(
                "Event bus {} does not exist.",
                other
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(256)
                    .collect::<String>()
            ),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRuleRequest {
    name: String,
    event_pattern: Option<String>,
    schedule_expression: Option<String>,
    state: Option<String>,
    description: Option<String>,
    role_arn: Option<String>,
    event_bus_name: Option<String>,
}

fn put_rule(caller: &Caller<'_>, request: PutRuleRequest) -> Result<Value, EventsError> {
    check_name("name", &request.name)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    let arn = caller.arn(&request.name);
    caller.authorize("PutRule", &arn)?;
    if request.event_pattern.is_none() && request.schedule_expression.is_none() {
        return Err(EventsError::validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    if request
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 512)
    {
        return Err(EventsError::validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512",
        ));
    }
    let pattern = request
        .event_pattern
        .as_deref()
        .map(Pattern::parse)
        .transpose()
        .map_err(|err| EventsError::new("InvalidEventPatternException", err.to_string()))?;
    let state = match request.state.as_deref() {
        None => RuleState::Enabled,
        Some(text) => RuleState::parse(text).ok_or_else(|| {
            EventsError::validation(format!(
                "1 validation error detected: Value '{}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                text.chars().filter(|c| !c.is_control()).take(64).collect::<String>(),
                RuleState::NAMES.join(", ")
            ))
        })?,
    };
    caller
        .bus()?
        .put(RuleDefinition {
                name: request.name,
                arn: arn.clone(),
                event_pattern: request.event_pattern,
                pattern,
                schedule_expression: request.schedule_expression,
                state,
                description: request.description,
                role_arn: request.role_arn,
            })
        .map_err(|_| {
            EventsError::new(
                "LimitExceededException",
                format!(
                    "The requested resource exceeds the maximum number allowed ({} rules per event bus).",
                    rules::MAX_RULES_PER_BUS
                ),
            )
        })?;
    Ok(json!({ "RuleArn": arn }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NamedRule {
    name: String,
    event_bus_name: Option<String>,
}

fn existing(caller: &Caller<'_>, name: &str) -> Result<StoredRule, EventsError> {
    caller
        .bus()?
        .get(name)
        .ok_or_else(|| EventsError::no_rule(name))
}

fn describe(account: &str, rule: &StoredRule) -> Value {
    let mut described = json!({
        "Name": rule.name,
        "Arn": rule.arn,
        "State": rule.state.as_str(),
        "EventBusName": DEFAULT_BUS,
        "CreatedBy": account,
    });
    for (key, value) in [
        ("EventPattern", &rule.event_pattern),
        ("ScheduleExpression", &rule.schedule_expression),
        ("Description", &rule.description),
        ("RoleArn", &rule.role_arn),
    ] {
        if let Some(value) = value {
            described[key] = json!(value);
        }
    }
    described
}

fn describe_rule(caller: &Caller<'_>, request: NamedRule) -> Result<Value, EventsError> {
    check_name("name", &request.name)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize("DescribeRule", &caller.arn(&request.name))?;
    Ok(describe(
        caller.place().account,
        &existing(caller, &request.name)?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRulesRequest {
    name_prefix: Option<String>,
    event_bus_name: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

fn limit(given: Option<i64>) -> Result<usize, EventsError> {
    match given {
        None => Ok(MAX_LIMIT as usize),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n as usize),
        Some(n) => Err(EventsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {MAX_LIMIT}"
        ))),
    }
}

fn start_of(token: Option<&str>) -> Result<usize, EventsError> {
    match token {
        None | Some("") => Ok(0),
        Some(token) => pagination::decode(token)
            .ok_or_else(|| EventsError::validation("The nextToken provided is invalid.")),
    }
}

fn list_rules(caller: &Caller<'_>, request: ListRulesRequest) -> Result<Value, EventsError> {
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize("ListRules", "*")?;
    let limit = limit(request.limit)?;
    let start = start_of(request.next_token.as_deref())?;
    let all = caller
        .bus()?
        .list(request.name_prefix.as_deref().unwrap_or(""));
    let (page, next) = pagination::page(&all, start, limit);
    let account = caller.place().account;
    let listed: Vec<Value> = page.iter().map(|rule| describe(account, rule)).collect();
    let mut answer = json!({ "Rules": listed });
    if let Some(token) = next {
        answer["NextToken"] = json!(token);
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteRuleRequest {
    name: String,
    event_bus_name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // accepted: it only matters for managed rules, which never exist here
    force: bool,
}

fn delete_rule(caller: &Caller<'_>, request: DeleteRuleRequest) -> Result<Value, EventsError> {
    check_name("name", &request.name)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize("DeleteRule", &caller.arn(&request.name))?;
    caller
        .bus()?
        .delete(&request.name)
        .map_err(|_| EventsError::validation("Rule can't be deleted since it has targets."))?;
    Ok(json!({}))
}

fn set_state(
    caller: &Caller<'_>,
    request: NamedRule,
    operation: &str,
    state: RuleState,
) -> Result<Value, EventsError> {
    check_name("name", &request.name)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize(operation, &caller.arn(&request.name))?;
    caller
        .bus()?
        .set_state(&request.name, state)
        .map_err(|_| EventsError::no_rule(&request.name))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetRequest {
    id: String,
    arn: String,
    role_arn: Option<String>,
    input: Option<String>,
    input_path: Option<String>,
    input_transformer: Option<InputTransformer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutTargetsRequest {
    rule: String,
    event_bus_name: Option<String>,
    targets: Vec<TargetRequest>,
}

fn put_targets(caller: &Caller<'_>, request: PutTargetsRequest) -> Result<Value, EventsError> {
    check_name("rule", &request.rule)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize("PutTargets", &caller.arn(&request.rule))?;
    if request.targets.is_empty() || request.targets.len() > 10 {
        return Err(EventsError::validation(
            "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10",
        ));
    }
    existing(caller, &request.rule)?;
    let mut targets = Vec::new();
    for target in request.targets {
        check_name("targets.member.id", &target.id)?;
        if !target.arn.starts_with("arn:") || target.arn.len() > 1600 {
            return Err(EventsError::validation(
                "Provided Arn is not in correct format.",
            ));
        }
        let inputs = [
            target.input.is_some(),
            target.input_path.is_some(),
            target.input_transformer.is_some(),
        ];
        if inputs.iter().filter(|given| **given).count() > 1 {
            return Err(EventsError::validation(format!(
                "Only one of Input, InputPath, or InputTransformer must be provided for target {}.",
                target.id
            )));
        }
        if let Some(input) = &target.input
            && serde_json::from_str::<Value>(input).is_err()
        {
            return Err(EventsError::validation(format!(
                "Target {} Input is not a valid JSON text.",
                target.id
            )));
        }
        if let Some(transformer) = &target.input_transformer {
            // The paths and the template are checked as delivery will read them.
            crate::alerts::apply(transformer, &json!({})).map_err(|err| {
                EventsError::validation(format!(
                    "InputTransformer of target {} is not valid: {err}",
                    target.id
                ))
            })?;
        }
        if let Some(path) = &target.input_path {
            crate::alerts::transform::select(path, &json!({})).map_err(|_| {
                EventsError::validation(format!(
                    "Target {} InputPath is not a valid JSON path.",
                    target.id
                ))
            })?;
        }
        targets.push(StoredTarget {
            id: target.id,
            arn: target.arn,
            input: target.input,
            input_path: target.input_path,
            input_transformer: target.input_transformer,
            role_arn: target.role_arn,
        });
    }
    caller
        .bus()?
        .put_targets(&request.rule, targets)
        .map_err(|err| match err {
            StoreError::NoSuchRule => EventsError::no_rule(&request.rule),
            _ => EventsError::new(
                "LimitExceededException",
                format!(
                    "The requested resource exceeds the maximum number allowed ({} targets per rule).",
                    rules::MAX_TARGETS_PER_RULE
                ),
            ),
        })?;
    Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTargetsRequest {
    rule: String,
    event_bus_name: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

fn list_targets(caller: &Caller<'_>, request: ListTargetsRequest) -> Result<Value, EventsError> {
    check_name("rule", &request.rule)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize("ListTargetsByRule", &caller.arn(&request.rule))?;
    let limit = limit(request.limit)?;
    let start = start_of(request.next_token.as_deref())?;
    let rule = existing(caller, &request.rule)?;
    let (page, next) = pagination::page(&rule.targets, start, limit);
    let listed: Vec<Value> = page
        .iter()
        .map(|target| {
            let mut listed = json!({"Id": target.id, "Arn": target.arn});
            if let Some(input) = &target.input {
                listed["Input"] = json!(input);
            }
            if let Some(path) = &target.input_path {
                listed["InputPath"] = json!(path);
            }
            if let Some(transformer) = &target.input_transformer {
                listed["InputTransformer"] = json!(transformer);
            }
            if let Some(role) = &target.role_arn {
                listed["RoleArn"] = json!(role);
            }
            listed
        })
        .collect();
    let mut answer = json!({ "Targets": listed });
    if let Some(token) = next {
        answer["NextToken"] = json!(token);
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemoveTargetsRequest {
    rule: String,
    event_bus_name: Option<String>,
    ids: Vec<String>,
}

fn remove_targets(
    caller: &Caller<'_>,
    request: RemoveTargetsRequest,
) -> Result<Value, EventsError> {
    check_name("rule", &request.rule)?;
    check_bus(caller, request.event_bus_name.as_deref())?;
    caller.authorize("RemoveTargets", &caller.arn(&request.rule))?;
    if request.ids.is_empty() || request.ids.len() > 100 {
        return Err(EventsError::validation(
            "1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100",
        ));
    }
    caller
        .bus()?
        .remove_targets(&request.rule, &request.ids)
        .map_err(|_| EventsError::no_rule(&request.rule))?;
    Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}
