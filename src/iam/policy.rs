//! The IAM identity-policy grammar (IAM JSON policy language grammar; IAM JSON policy
//! elements reference): parsed once, at load, into types the evaluator walks. Every error
//! says where: `Statement[1].Condition.DateLessThan.aws:CurrentTime: …`.

use std::fmt;

use serde_json::{Map, Value};

use super::condition::{Condition, Operator};
use super::pattern::Pattern;
use super::variables::Template;

/// A policy document larger than this many non-whitespace characters is refused: IAM's
/// quota for a managed policy (6,144), so nothing bigger could be attached in AWS either.
pub const MAX_POLICY_CHARS: usize = 6_144;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are replaced.
    V2012,
    /// `2008-10-17`, or no Version at all: `${…}` is plain text.
    V2008,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` (these) or `NotAction` (everything but these); the same for resources.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets<T> {
    Only(Vec<T>),
    AllBut(Vec<T>),
}

impl<T> Targets<T> {
    pub fn items(&self) -> &[T] {
        match self {
            Self::Only(items) | Self::AllBut(items) => items,
        }
    }

    pub fn is_negated(&self) -> bool {
        matches!(self, Self::AllBut(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub source: String,
    pub pattern: Pattern,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` array (0 for a lone object).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Targets<Action>,
    pub resources: Targets<Template>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// How the statement is named in messages: its Sid, else its position.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("statement {sid}"),
            None => format!("Statement[{}]", self.index),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// Why a policy document was refused, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// `Statement[0].Effect`, or empty for the document itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PolicyError {}

fn error(path: &str, message: impl Into<String>) -> PolicyError {
    PolicyError {
        path: path.to_owned(),
        message: message.into(),
    }
}

impl Policy {
    /// Parses a policy document (JSON text).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let size = text.chars().filter(|c| !c.is_whitespace()).count();
        if size > MAX_POLICY_CHARS {
            return Err(error(
                "",
                format!(
                    "the policy has {size} characters (not counting white space); IAM allows at most {MAX_POLICY_CHARS}"
                ),
            ));
        }
        let value: Value = serde_json::from_str(text).map_err(|err| {
            error(
                "",
                format!(
                    "not valid JSON: line {}, column {}: {}",
                    err.line(),
                    err.column(),
                    without_position(&err.to_string())
                ),
            )
        })?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Self, PolicyError> {
        let Value::Object(document) = value else {
            return Err(error("", "a policy document is a JSON object"));
        };
        for key in document.keys() {
            if !["Version", "Id", "Statement"].contains(&key.as_str()) {
                return Err(error(
                    key,
                    "unknown element (a policy has Version, Id and Statement)",
                ));
            }
        }
        let version = match document.get("Version") {
            None => Version::V2008,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008,
            Some(other) => {
                return Err(error(
                    "Version",
                    format!("{other} is not a policy version (2012-10-17 or 2008-10-17)"),
                ));
            }
        };
        let id = match document.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(error("Id", "must be a string")),
        };
        let statements = match document.get("Statement") {
            None => return Err(error("Statement", "missing (every policy needs one)")),
            Some(Value::Object(one)) => vec![statement(0, "Statement", one, version)?],
            Some(Value::Array(many)) if many.is_empty() => {
                return Err(error("Statement", "an empty list"));
            }
            Some(Value::Array(many)) => many
                .iter()
                .enumerate()
                .map(|(index, value)| {
                    let path = format!("Statement[{index}]");
                    match value {
                        Value::Object(object) => statement(index, &path, object, version),
                        _ => Err(error(&path, "a statement is a JSON object")),
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(error(
                    "Statement",
                    "must be a statement object or a list of them",
                ));
            }
        };
        let mut sids: Vec<&str> = Vec::new();
        for s in &statements {
            if let Some(sid) = &s.sid {
                if sids.contains(&sid.as_str()) {
                    return Err(error(
                        &format!("Statement[{}].Sid", s.index),
                        format!("`{sid}` is used twice (Sids must be unique in a policy)"),
                    ));
                }
                sids.push(sid);
            }
        }
        Ok(Self {
            version,
            id,
            statements,
        })
    }
}

/// serde_json appends " at line L column C"; the message says it first.
fn without_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn statement(
    index: usize,
    path: &str,
    object: &Map<String, Value>,
    version: Version,
) -> Result<Statement, PolicyError> {
    const ELEMENTS: &[&str] = &[
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ];
    for key in object.keys() {
        if key == "Principal" || key == "NotPrincipal" {
            return Err(error(
                &format!("{path}.{key}"),
                "not allowed in an identity-based policy (the principal is the user it is attached to)",
            ));
        }
        if !ELEMENTS.contains(&key.as_str()) {
            return Err(error(
                &format!("{path}.{key}"),
                "unknown element (a statement has Sid, Effect, Action or NotAction, Resource or NotResource, Condition)",
            ));
        }
    }
    let sid = match object.get("Sid") {
        None => None,
        Some(Value::String(sid))
            if !sid.is_empty() && sid.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some(sid.clone())
        }
        Some(_) => {
            return Err(error(
                &format!("{path}.Sid"),
                "must be a string of letters A-Z, a-z and digits 0-9",
            ));
        }
    };
    let effect = match object.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(error(
                &format!("{path}.Effect"),
                format!("{other} is not Allow or Deny"),
            ));
        }
        None => return Err(error(&format!("{path}.Effect"), "missing")),
    };
    let (name, negated, value) = one_of(path, object, "Action", "NotAction")?;
    let items = strings(&format!("{path}.{name}"), value)?
        .into_iter()
        .map(|source| {
            action(&source).map_err(|m| error(&format!("{path}.{name}"), m))?;
            Ok(Action {
                pattern: Pattern::glob(&source),
                source,
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    let actions = if negated {
        Targets::AllBut(items)
    } else {
        Targets::Only(items)
    };
    let (name, negated, value) = one_of(path, object, "Resource", "NotResource")?;
    let at = format!("{path}.{name}");
    let items = strings(&at, value)?
        .into_iter()
        .map(|source| {
            if source != "*" && !source.starts_with("arn:") {
                return Err(error(
                    &at,
                    format!("`{source}` is not an ARN (arn:partition:service:region:account:resource) or *"),
                ));
            }
            Template::parse(&source, version == Version::V2012).map_err(|m| error(&at, m))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let resources = if negated {
        Targets::AllBut(items)
    } else {
        Targets::Only(items)
    };
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(value) => conditions(&format!("{path}.Condition"), value, version)?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        actions,
        resources,
        conditions,
    })
}

/// Exactly one of the two elements (`Action`/`NotAction`, `Resource`/`NotResource`).
fn one_of<'v>(
    path: &str,
    object: &'v Map<String, Value>,
    plain: &'static str,
    not: &'static str,
) -> Result<(&'static str, bool, &'v Value), PolicyError> {
    match (object.get(plain), object.get(not)) {
        (Some(value), None) => Ok((plain, false, value)),
        (None, Some(value)) => Ok((not, true, value)),
        (Some(_), Some(_)) => Err(error(
            path,
            format!("has both {plain} and {not}; a statement takes one of them"),
        )),
        (None, None) => Err(error(
            path,
            format!("needs {plain} or {not} (an identity-based policy names its resources)"),
        )),
    }
}

/// A string or a non-empty list of strings.
fn strings(path: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(error(&format!("{path}[{i}]"), "must be a string")),
            })
            .collect(),
        Value::Array(_) => Err(error(path, "an empty list")),
        _ => Err(error(path, "must be a string or a list of strings")),
    }
}

/// `*` or `service:ActionPattern`, as IAM requires.
fn action(source: &str) -> Result<(), String> {
    if source == "*" {
        return Ok(());
    }
    let valid = source.split_once(':').is_some_and(|(service, name)| {
        !service.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*?-_".contains(&b))
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{source}` is not an action (service:Action, like ssm:StartSession, or *)"
        ))
    }
}

fn conditions(path: &str, value: &Value, version: Version) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = value else {
        return Err(error(
            path,
            "must be an object of operators, like {\"StringEquals\": {\"aws:username\": \"alice\"}}",
        ));
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        let at = format!("{path}.{name}");
        let operator = Operator::parse(name).map_err(|m| error(path, m))?;
        let Value::Object(keys) = keys else {
            return Err(error(&at, "must be an object of condition keys and values"));
        };
        if keys.is_empty() {
            return Err(error(&at, "names no condition key"));
        }
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .map(|v| scalar(&format!("{at}.{key}"), v))
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(&format!("{at}.{key}"), other)?],
            };
            out.push(
                Condition::new(operator, key, values, version == Version::V2012)
                    .map_err(|m| error(&at, m))?,
            );
        }
    }
    Ok(out)
}

/// IAM takes a condition value as a string, number or boolean, compared as text.
fn scalar(path: &str, value: &Value) -> Result<String, PolicyError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(error(path, "a value must be a string, number or boolean")),
    }
}
