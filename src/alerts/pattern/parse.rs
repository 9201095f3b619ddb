//! JSON → pattern tree, refusing what PutRule refuses with its reason (the wording of
//! event-ruler's `JsonRuleCompiler`, which is what EventBridge answers).

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{AnythingBut, Bound, Cidr, Field, Matcher, Object, PatternError, Range, Wildcard};

type Parsed<T> = Result<T, PatternError>;

/// Field names that are operators and may not be field names inside `$or`
/// (event-ruler's `RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP`).
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
];

fn fail<T>(path: &str, reason: impl Into<String>) -> Parsed<T> {
    Err(PatternError {
        path: path.to_owned(),
        reason: reason.into(),
        line_column: None,
    })
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, at: usize) -> String {
    format!("{path}[{at}]")
}

/// The whole pattern: a non-empty object.
pub(super) fn pattern(value: &Value) -> Parsed<Object> {
    match value {
        Value::Object(fields) => object(fields, "", false),
        _ => fail("", "Filter is not an object"),
    }
}

fn object(fields: &Map<String, Value>, path: &str, inside_or: bool) -> Parsed<Object> {
    if fields.is_empty() {
        return fail(path, "Empty objects are not allowed");
    }
    let mut parsed = Object {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in fields {
        let here = child(path, key);
        if key == "$or" {
            parsed.ors.push(or_group(value, &here)?);
            continue;
        }
        if inside_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return fail(
                &here,
                format!("{key} is Ruler reserved fieldName which cannot be used inside $or."),
            );
        }
        let field = match value {
            Value::Object(inner) => Field::Object(object(inner, &here, inside_or)?),
            Value::Array(items) => Field::Leaf(leaf(items, &here)?),
            _ => return fail(&here, format!("\"{key}\" must be an object or an array")),
        };
        parsed.fields.push((key.clone(), field));
    }
    Ok(parsed)
}

fn or_group(value: &Value, path: &str) -> Parsed<Vec<Object>> {
    let Value::Array(items) = value else {
        return fail(path, "It must be an Array followed with $or.");
    };
    let mut group = Vec::with_capacity(items.len());
    for (at, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return fail(
                &index(path, at),
                "Only JSON object is allowed in array of $or relationship.",
            );
        };
        group.push(object(fields, &index(path, at), true)?);
    }
    if group.len() < 2 {
        return fail(
            path,
            "There must have at least 2 Objects in $or relationship.",
        );
    }
    Ok(group)
}

fn leaf(items: &[Value], path: &str) -> Parsed<Vec<Matcher>> {
    if items.is_empty() {
        return fail(path, "Empty arrays are not allowed");
    }
    let mut matchers = Vec::with_capacity(items.len());
    for (at, item) in items.iter().enumerate() {
        let here = index(path, at);
        matchers.push(match item {
            Value::String(text) => Matcher::String(text.clone()),
            Value::Number(number) => match number.as_f64() {
                Some(value) => Matcher::Number(value),
                None => return fail(&here, format!("Cannot compare number : {number}")),
            },
            Value::Null => Matcher::Null,
            Value::Bool(value) => Matcher::Bool(*value),
            Value::Object(expression) => match_expression(expression, &here)?,
            Value::Array(_) => {
                return fail(
                    &here,
                    "Match value must be String, number, true, false, or null",
                );
            }
        });
    }
    Ok(matchers)
}

/// `{ "operator": operand }`: exactly one operator.
fn only_key<'a>(
    expression: &'a Map<String, Value>,
    path: &str,
    missing: &str,
) -> Parsed<(&'a String, &'a Value)> {
    let mut entries = expression.iter();
    let Some(first) = entries.next() else {
        return fail(path, missing);
    };
    if entries.next().is_some() {
        return fail(path, "Only one key allowed in match expression");
    }
    Ok(first)
}

fn string<'a>(value: &'a Value, path: &str, reason: &str) -> Parsed<&'a str> {
    match value {
        Value::String(text) => Ok(text),
        _ => fail(path, reason),
    }
}

fn match_expression(expression: &Map<String, Value>, path: &str) -> Parsed<Matcher> {
    let (operator, operand) = only_key(expression, path, "Match expression name not found")?;
    let here = child(path, operator);
    let path = here.as_str();
    Ok(match operator.as_str() {
        "exactly" => Matcher::String(
            string(operand, path, "exact match pattern must be a string")?.to_owned(),
        ),
        "prefix" | "suffix" => {
            let (text, ignore_case) = match operand {
                Value::Object(inner) => (ignore_case_operand(inner, path, operator)?, true),
                _ => (
                    string(
                        operand,
                        path,
                        &format!("{operator} match pattern must be a string"),
                    )?
                    .to_owned(),
                    false,
                ),
            };
            if operator == "prefix" {
                Matcher::Prefix { text, ignore_case }
            } else {
                Matcher::Suffix { text, ignore_case }
            }
        }
        "equals-ignore-case" => Matcher::EqualsIgnoreCase(
            string(
                operand,
                path,
                "equals-ignore-case match pattern must be a string",
            )?
            .to_owned(),
        ),
        "wildcard" => {
            let text = string(operand, path, "wildcard match pattern must be a string")?;
            Matcher::Wildcard(Wildcard::parse(text).or_else(|reason| fail(path, reason))?)
        }
        "numeric" => match operand {
            Value::Array(terms) => Matcher::Numeric(numeric(terms, path)?),
            _ => return fail(path, "Value of numeric must be an array."),
        },
        "exists" => match operand {
            Value::Bool(value) => Matcher::Exists(*value),
            _ => {
                return fail(path, "exists match pattern must be either true or false.");
            }
        },
        "cidr" => Matcher::Cidr(cidr(
            string(operand, path, "cidr match pattern must be a string")?,
            path,
        )?),
        "anything-but" => Matcher::AnythingBut(anything_but(operand, path)?),
        other => return fail(path, format!("Unrecognized match type {other}")),
    })
}

/// `{"equals-ignore-case": "text"}` under `prefix` or `suffix`.
fn ignore_case_operand(inner: &Map<String, Value>, path: &str, operator: &str) -> Parsed<String> {
    let capital = if operator == "prefix" {
        "Prefix"
    } else {
        "Suffix"
    };
    let (name, value) = only_key(inner, path, &format!("{capital} expression name not found"))?;
    if name != "equals-ignore-case" {
        return fail(path, format!("Unsupported {operator} pattern: {name}"));
    }
    Ok(string(
        value,
        &child(path, name),
        "equals-ignore-case match pattern must be a string",
    )?
    .to_owned())
}

fn anything_but(operand: &Value, path: &str) -> Parsed<AnythingBut> {
    const SHAPE: &str = "Value of anything-but must be an array or single string/number value.";
    match operand {
        Value::String(text) => Ok(AnythingBut::Strings(vec![text.clone()])),
        Value::Number(number) => Ok(AnythingBut::Numbers(vec![finite(number, path)?])),
        Value::Array(items) => anything_but_list(items, path),
        Value::Object(inner) => {
            let (kind, values) = only_key(inner, path, "Anything-But expression name not found")?;
            let here = child(path, kind);
            let texts: Vec<(String, &Value)> = match values {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(at, item)| (index(&here, at), item))
                    .collect(),
                Value::String(_) | Value::Number(_) => vec![(here.clone(), values)],
                _ => return fail(&here, SHAPE),
            };
            let mismatch = match kind.as_str() {
                "equals-ignore-case" => {
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                }
                "wildcard" => "wildcard match pattern must be a string",
                "prefix" | "suffix" => "prefix/suffix match pattern must be a string",
                other => return fail(path, format!("Unsupported anything-but pattern: {other}")),
            };
            let mut strings = Vec::with_capacity(texts.len());
            for (at, value) in texts {
                let text = string(value, &at, mismatch)?;
                if (kind == "prefix" || kind == "suffix") && text.is_empty() {
                    return fail(&at, "Null prefix/suffix not allowed");
                }
                strings.push(text.to_owned());
            }
            Ok(match kind.as_str() {
                "equals-ignore-case" => AnythingBut::IgnoreCase(strings),
                "prefix" => AnythingBut::Prefixes(strings),
                "suffix" => AnythingBut::Suffixes(strings),
                _ => AnythingBut::Wildcards(
                    strings
                        .iter()
                        .map(|text| Wildcard::parse(text))
                        .collect::<Result<_, _>>()
                        .or_else(|reason| fail(&here, reason))?,
                ),
            })
        }
        _ => fail(path, SHAPE),
    }
}

fn anything_but_list(items: &[Value], path: &str) -> Parsed<AnythingBut> {
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    for (at, item) in items.iter().enumerate() {
        match item {
            Value::String(text) => strings.push(text.clone()),
            Value::Number(number) => numbers.push(finite(number, &index(path, at))?),
            _ => {
                return fail(
                    &index(path, at),
                    "Inside anything but list, start|null|boolean is not supported.",
                );
            }
        }
    }
    match (strings.is_empty(), numbers.is_empty()) {
        (false, true) => Ok(AnythingBut::Strings(strings)),
        (true, false) => Ok(AnythingBut::Numbers(numbers)),
        _ => fail(
            path,
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
    }
}

fn finite(number: &serde_json::Number, path: &str) -> Parsed<f64> {
    match number.as_f64() {
        Some(value) if value.is_finite() => Ok(value),
        _ => fail(path, format!("Cannot compare number : {number}")),
    }
}

/// `["=", n]`, `[">"|">=", n]`, `["<"|"<=", n]` or `[">"|">=", low, "<"|"<=", high]`.
fn numeric(terms: &[Value], path: &str) -> Parsed<Range> {
    let shown = |value: Option<&Value>| value.map_or_else(|| "]".to_owned(), Value::to_string);
    let Some(Value::String(operator)) = terms.first() else {
        return fail(
            path,
            format!("Invalid member in numeric match: {}", shown(terms.first())),
        );
    };
    let number = |at: usize, operator: &str| -> Parsed<f64> {
        let name = if operator == "=" { "equals" } else { operator };
        match terms.get(at) {
            Some(Value::Number(number)) => finite(number, &index(path, at)),
            _ => fail(&index(path, at), format!("Value of {name} must be numeric")),
        }
    };
    let too_many = || fail(path, "Too many elements in numeric expression");
    match operator.as_str() {
        "=" => {
            let value = number(1, "=")?;
            if terms.len() > 2 {
                return too_many();
            }
            let bound = Some(Bound {
                value,
                inclusive: true,
            });
            Ok(Range {
                low: bound,
                high: bound,
            })
        }
        "<" | "<=" => {
            let value = number(1, operator)?;
            if terms.len() > 2 {
                return too_many();
            }
            Ok(Range {
                low: None,
                high: Some(Bound {
                    value,
                    inclusive: operator == "<=",
                }),
            })
        }
        ">" | ">=" => {
            let low = Bound {
                value: number(1, operator)?,
                inclusive: operator == ">=",
            };
            if terms.len() == 2 {
                return Ok(Range {
                    low: Some(low),
                    high: None,
                });
            }
            let top = match &terms[2] {
                Value::String(top) => top.as_str(),
                other => {
                    return fail(
                        &index(path, 2),
                        format!("Bad value in numeric range: {other}"),
                    );
                }
            };
            if top != "<" && top != "<=" {
                return fail(
                    &index(path, 2),
                    format!("Bad numeric range operator: {top}"),
                );
            }
            let high = Bound {
                value: number(3, top)?,
                inclusive: top == "<=",
            };
            if terms.len() > 4 {
                return fail(path, "Too many terms in numeric range expression");
            }
            if low.value >= high.value {
                return fail(path, "Bottom must be less than top");
            }
            Ok(Range {
                low: Some(low),
                high: Some(high),
            })
        }
        other => fail(
            path,
            format!("Unrecognized numeric range operator: {other}"),
        ),
    }
}

/// `a.b.c.d/n` or an IPv6 network (event-ruler's `CIDR.cidr`, with its limits: fewer mask
/// bits than the address has).
fn cidr(text: &str, path: &str) -> Parsed<Cidr> {
    let parts: Vec<&str> = text.split('/').collect();
    let [address, bits] = parts.as_slice() else {
        return fail(path, "Malformed CIDR, one '/' required");
    };
    let Ok(bits) = bits.parse::<i64>() else {
        return fail(path, "Malformed CIDR, mask bits must be an integer");
    };
    if bits < 0 {
        return fail(path, "Malformed CIDR, mask bits must not be negative");
    }
    let Ok(network) = address.parse::<IpAddr>() else {
        return fail(path, format!("Invalid IP address: {address}"));
    };
    let (limit, family) = match network {
        IpAddr::V4(_) => (32, "IPv4"),
        IpAddr::V6(_) => (128, "IPv6"),
    };
    if bits >= limit {
        return fail(path, format!("{family} mask bits must be < {limit}"));
    }
    Ok(Cidr {
        network,
        bits: u8::try_from(bits).unwrap_or(0),
    })
}
