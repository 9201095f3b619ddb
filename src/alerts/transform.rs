//! EventBridge input transformers: what a target receives instead of the event
//! (EventBridge user guide, "Amazon EventBridge input transformation",
//! docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html, and the
//! API reference's `InputTransformer`).
//!
//! - `InputPathsMap` names up to 100 variables, each a JSON path into the event in the subset
//!   EventBridge evaluates: `$`, dot notation (names with letters, digits, `-`, `_`, `/`) and
//!   array indices (`$.detail.items[0].name`).
//! - `<name>` in `InputTemplate` is replaced by the variable's value. A template that is a JSON
//!   object (it starts with `{`) gets a string value with its quotes where the placeholder
//!   stands as a JSON value, and without them inside a JSON string; any other template (a
//!   quoted string such as `"instance <instance> is in <state>"`, quotes kept in the output,
//!   or bare text) gets the text of the value. Values are not escaped ("EventBridge doesn't
//!   escape values extracted by Input Path").
//! - A path that does not exist in the event creates no variable, so its placeholder leaves
//!   nothing in the output (the guide's "Common issues"); a placeholder naming no variable
//!   stays as written.
//! - The JSON passed to a target is minified.
//! - The predefined `aws.events.rule-name`, `aws.events.rule-arn` and
//!   `aws.events.event.ingestion-time` are filled from the [`Delivery`] given to
//!   [`apply_with`] ([`apply`] knows only the event, so they leave nothing);
//!   `aws.events.event.json` (the event) and `aws.events.event` (the event without `detail`)
//!   are JSON, inserted unescaped.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// EventBridge's limit on `InputPathsMap` entries.
pub const MAX_VARIABLES: usize = 100;
/// `InputTemplate`'s maximum length (API reference: 8192).
pub const MAX_TEMPLATE_CHARS: usize = 8192;

/// A target's `InputTransformer`, as `put-targets` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input_paths_map: BTreeMap<String, String>,
    pub input_template: String,
}

/// What EventBridge knows at delivery besides the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery<'a> {
    pub rule_name: Option<&'a str>,
    pub rule_arn: Option<&'a str>,
    /// ISO 8601.
    pub ingestion_time: Option<&'a str>,
}

const PREDEFINED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event",
    "aws.events.event.ingestion-time",
    "aws.events.event.json",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformError {
    TooManyVariables(usize),
    TemplateTooLong(usize),
    /// A variable whose name is predefined by EventBridge.
    ReservedName(String),
    /// A path outside the subset EventBridge evaluates; `variable` says which
    /// (`InputPathsMap.NAME`, or `InputPath`).
    BadPath {
        variable: String,
        path: String,
        reason: &'static str,
    },
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::TooManyVariables(n) => write!(
                f,
                "InputPathsMap has {n} variables; EventBridge takes at most {MAX_VARIABLES}"
            ),
            TransformError::TemplateTooLong(n) => write!(
                f,
                "InputTemplate has {n} characters; EventBridge takes at most {MAX_TEMPLATE_CHARS}"
            ),
            TransformError::ReservedName(name) => write!(
                f,
                "InputPathsMap: `{name}` is a predefined variable and cannot be defined"
            ),
            TransformError::BadPath {
                variable,
                path,
                reason,
            } => write!(f, "{variable}: `{path}` {reason}"),
        }
    }
}

impl std::error::Error for TransformError {}

/// What a target with `InputPath` receives: the value at `path` as JSON text, minified (a
/// string keeps its quotes, an object or array is itself), since EventBridge hands a target
/// JSON; `None` when the path is not in the event.
pub fn select(path: &str, event: &Value) -> Result<Option<String>, TransformError> {
    let steps = parse_path(path).map_err(|reason| TransformError::BadPath {
        variable: "InputPath".to_owned(),
        path: path.to_owned(),
        reason,
    })?;
    Ok(resolve(event, &steps).map(Value::to_string))
}

/// The input a target receives for `event`.
pub fn apply(transformer: &InputTransformer, event: &Value) -> Result<String, TransformError> {
    apply_with(transformer, event, &Delivery::default())
}

/// [`apply`] with the predefined variables of a delivery.
pub fn apply_with(
    transformer: &InputTransformer,
    event: &Value,
    delivery: &Delivery<'_>,
) -> Result<String, TransformError> {
    let variables = variables(transformer, event, delivery)?;
    let template = &transformer.input_template;
    let json = template.trim_start().starts_with('{');
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest[1..].find('>')
            && let name = &rest[1..1 + end]
            && let Some(value) = variables.get(name)
        {
            match value {
                None => {
                    if json && !in_string {
                        out.push_str("\"\"");
                    }
                }
                Some(Filled::Json(text)) => out.push_str(text),
                Some(Filled::Value(value)) => {
                    if json && !in_string {
                        out.push_str(&value.to_string());
                    } else {
                        out.push_str(&text_of(value));
                    }
                }
            }
            rest = &rest[end + 2..];
            continue;
        }
        if json {
            if in_string && escaped {
                escaped = false;
            } else if in_string && c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = !in_string;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if json && serde_json::from_str::<serde::de::IgnoredAny>(&out).is_ok() {
        return Ok(minify(&out));
    }
    Ok(out)
}

/// Valid JSON without the white space between tokens, its keys in their order.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

enum Filled {
    Value(Value),
    /// Inserted as is wherever it stands (the predefined JSON of the event).
    Json(String),
}

/// Each variable's value: `None` when its path is not in the event.
fn variables(
    transformer: &InputTransformer,
    event: &Value,
    delivery: &Delivery<'_>,
) -> Result<BTreeMap<String, Option<Filled>>, TransformError> {
    let count = transformer.input_paths_map.len();
    if count > MAX_VARIABLES {
        return Err(TransformError::TooManyVariables(count));
    }
    let chars = transformer.input_template.chars().count();
    if chars > MAX_TEMPLATE_CHARS {
        return Err(TransformError::TemplateTooLong(chars));
    }
    let mut out = BTreeMap::new();
    for (name, path) in &transformer.input_paths_map {
        if PREDEFINED.contains(&name.as_str()) {
            return Err(TransformError::ReservedName(name.clone()));
        }
        let steps = parse_path(path).map_err(|reason| TransformError::BadPath {
            variable: format!("InputPathsMap.{name}"),
            path: path.clone(),
            reason,
        })?;
        out.insert(
            name.clone(),
            resolve(event, &steps).map(|value| Filled::Value(value.clone())),
        );
    }
    let text = |value: Option<&str>| value.map(|v| Filled::Value(Value::String(v.to_owned())));
    out.insert("aws.events.rule-name".to_owned(), text(delivery.rule_name));
    out.insert("aws.events.rule-arn".to_owned(), text(delivery.rule_arn));
    out.insert(
        "aws.events.event.ingestion-time".to_owned(),
        text(delivery.ingestion_time),
    );
    out.insert(
        "aws.events.event.json".to_owned(),
        Some(Filled::Json(event.to_string())),
    );
    // The event without its `detail` (the guide's current wording of `aws.events.event`).
    let mut without_detail = event.clone();
    if let Value::Object(fields) = &mut without_detail {
        fields.remove("detail");
    }
    out.insert(
        "aws.events.event".to_owned(),
        Some(Filled::Json(without_detail.to_string())),
    );
    Ok(out)
}

/// The text of a value placed inside a string: a string without its quotes, anything else
/// as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `$`, `$.a.b`, `$.a[0].b`, `$.detail-type`.
fn parse_path(path: &str) -> Result<Vec<Step>, &'static str> {
    let Some(mut rest) = path.strip_prefix('$') else {
        return Err("is not a JSON path: it must start with `$`");
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() {
                return Err("has an empty name after `.`");
            }
            if !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '$' | '@' | ':'))
            {
                return Err("has a name EventBridge's JSON path does not take");
            }
            steps.push(Step::Key(name.to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Err("has a `[` without `]`");
            };
            let Ok(at) = after[..end].parse::<usize>() else {
                return Err("has an array index that is not a number");
            };
            steps.push(Step::Index(at));
            rest = &after[end + 1..];
        } else {
            return Err("is not in dot notation (`$.detail.name`, `$.items[0]`)");
        }
    }
    Ok(steps)
}

fn resolve<'a>(event: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(event, |value, step| match step {
        Step::Key(name) => value.get(name.as_str()),
        Step::Index(at) => value.get(*at),
    })
}

#[cfg(test)]
#[path = "transform_tests.rs"]
mod tests;
