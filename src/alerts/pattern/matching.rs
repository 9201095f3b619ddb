//! Deciding an event. A pattern object matches an event object when every field matches
//! and each `$or` group has a matching member; a leaf matches when any of its matchers
//! matches any of the event's values there. An event array stands for each of its elements
//! ("Matching on multiple field values": the pattern and the event array intersect), and a
//! pattern object under an event array of objects must match within one element (the
//! array consistency event-ruler keeps). Only leaves are values: a field holding an object
//! has no value of its own, so `exists: true` does not match it and `exists: false` does
//! (the operators page: existence matching works on leaf nodes only).
//!
//! Absence under an event array of objects follows event-ruler (`NameState.
//! getNameTransitions` with its `ArrayMembership`): a field counts as present when an element
//! consistent with the fields matched *before* it, in name order, has it. So an
//! `exists: false` leaf that sorts before every other field of its object must hold in every
//! element, and one after them only in the element they matched in. (`$or` members and
//! fields of outer objects are not part of that order here: an approximation.)

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{AnythingBut, Cidr, Field, Matcher, Object, Range};

/// `event` is the value at this object's place, `None` when absent.
pub(super) fn object(pattern: &Object, event: Option<&Value>) -> bool {
    let mut candidates = Vec::new();
    objects_in(event, &mut candidates);
    if candidates.is_empty() {
        return fields(pattern, None);
    }
    leading_absence_violation(pattern, &candidates).is_none()
        && candidates.into_iter().any(|map| fields(pattern, Some(map)))
}

/// The `exists: false` leaves that come before every other field of `pattern` (fields are
/// in name order) must hold in all the elements of an array: the first one present in an
/// element, with its value there.
fn leading_absence_violation<'a>(
    pattern: &'a Object,
    candidates: &[&Map<String, Value>],
) -> Option<(&'a str, Value)> {
    if candidates.len() < 2 {
        return None;
    }
    for (name, field) in &pattern.fields {
        let Field::Leaf(matchers) = field else {
            return None;
        };
        if !matchers.iter().all(|m| matches!(m, Matcher::Exists(false))) {
            return None;
        }
        for map in candidates {
            let mut values = Vec::new();
            leaves_in(map.get(name), &mut values);
            if let Some(value) = values.first() {
                return Some((name, (*value).clone()));
            }
        }
    }
    None
}

/// The objects at a place: the object itself, or the objects of an array (nested arrays
/// flattened).
fn objects_in<'a>(event: Option<&'a Value>, out: &mut Vec<&'a Map<String, Value>>) {
    match event {
        Some(Value::Object(map)) => out.push(map),
        Some(Value::Array(items)) => {
            for item in items {
                objects_in(Some(item), out);
            }
        }
        _ => {}
    }
}

/// The leaf values at a place: a scalar, or the scalars of an array (nested arrays
/// flattened); objects are not leaves.
fn leaves_in<'a>(event: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    match event {
        Some(Value::Array(items)) => {
            for item in items {
                leaves_in(Some(item), out);
            }
        }
        Some(Value::Object(_)) | None => {}
        Some(scalar) => out.push(scalar),
    }
}

fn fields(pattern: &Object, map: Option<&Map<String, Value>>) -> bool {
    let each = pattern.fields.iter().all(|(name, field)| {
        let value = map.and_then(|map| map.get(name));
        match field {
            Field::Object(inner) => object(inner, value),
            Field::Leaf(matchers) => leaf(matchers, value),
        }
    });
    each && pattern
        .ors
        .iter()
        .all(|group| group.iter().any(|member| fields(member, map)))
}

fn leaf(matchers: &[Matcher], event: Option<&Value>) -> bool {
    let mut values = Vec::new();
    leaves_in(event, &mut values);
    matchers.iter().any(|matcher| match matcher {
        Matcher::Exists(wanted) => values.is_empty() != *wanted,
        _ => values.iter().any(|value| one(matcher, value)),
    })
}

fn one(matcher: &Matcher, value: &Value) -> bool {
    match matcher {
        // A string that is an IP address matches the same address however it is written
        // (event-ruler's `CIDR.ipToRangeIfPossible` turns such a pattern into a range).
        Matcher::String(text) => value.as_str().is_some_and(|v| {
            v == text
                || matches!(
                    (v.parse::<IpAddr>(), text.parse::<IpAddr>()),
                    (Ok(a), Ok(b)) if a == b
                )
        }),
        Matcher::Number(number) => value.as_f64() == Some(*number) && value.is_number(),
        Matcher::Null => value.is_null(),
        Matcher::Bool(wanted) => value.as_bool() == Some(*wanted),
        Matcher::Prefix { text, ignore_case } => value.as_str().is_some_and(|v| {
            if *ignore_case {
                lower(v).starts_with(&lower(text))
            } else {
                v.starts_with(text.as_str())
            }
        }),
        Matcher::Suffix { text, ignore_case } => value.as_str().is_some_and(|v| {
            if *ignore_case {
                lower(v).ends_with(&lower(text))
            } else {
                v.ends_with(text.as_str())
            }
        }),
        Matcher::EqualsIgnoreCase(text) => value.as_str().is_some_and(|v| lower(v) == lower(text)),
        Matcher::Wildcard(wildcard) => value.as_str().is_some_and(|v| wildcard.matches(v)),
        Matcher::Numeric(range) => value.as_f64().is_some_and(|v| in_range(range, v)),
        Matcher::Cidr(cidr) => value
            .as_str()
            .and_then(|v| v.parse::<IpAddr>().ok())
            .is_some_and(|ip| in_network(cidr, ip)),
        // Anything-but needs a value and matches every value it does not name, whatever
        // its type: a number is not any of the strings, a string is not any of the numbers.
        Matcher::AnythingBut(excluded) => !excludes(excluded, value),
        // Handled on the whole leaf.
        Matcher::Exists(_) => false,
    }
}

fn excludes(excluded: &AnythingBut, value: &Value) -> bool {
    let text = value.as_str();
    match excluded {
        AnythingBut::Strings(list) => text.is_some_and(|v| list.iter().any(|s| s == v)),
        AnythingBut::Numbers(list) => value
            .as_f64()
            .is_some_and(|v| value.is_number() && list.contains(&v)),
        AnythingBut::Prefixes(list) => {
            text.is_some_and(|v| list.iter().any(|p| v.starts_with(p.as_str())))
        }
        AnythingBut::Suffixes(list) => {
            text.is_some_and(|v| list.iter().any(|s| v.ends_with(s.as_str())))
        }
        AnythingBut::IgnoreCase(list) => {
            text.is_some_and(|v| list.iter().any(|s| lower(s) == lower(v)))
        }
        AnythingBut::Wildcards(list) => text.is_some_and(|v| list.iter().any(|w| w.matches(v))),
    }
}

/// Case folding for the ignore-case operators (Unicode lower case, as event-ruler folds).
fn lower(text: &str) -> String {
    text.to_lowercase()
}

fn in_range(range: &Range, value: f64) -> bool {
    let above = range.low.is_none_or(|low| {
        if low.inclusive {
            value >= low.value
        } else {
            value > low.value
        }
    });
    let below = range.high.is_none_or(|high| {
        if high.inclusive {
            value <= high.value
        } else {
            value < high.value
        }
    });
    above && below
}

fn in_network(cidr: &Cidr, ip: IpAddr) -> bool {
    match (cidr.network, ip) {
        (IpAddr::V4(network), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(cidr.bits)).unwrap_or(0);
            u32::from(network) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(ip)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(cidr.bits))
                .unwrap_or(0);
            u128::from(network) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// The first field (fields in the order of their names) that keeps `event` from matching, with the
/// event's value there: `None` when it matches.
pub(super) fn mismatch(pattern: &Object, event: Option<&Value>, path: &str) -> Option<Mismatch> {
    let mut candidates = Vec::new();
    objects_in(event, &mut candidates);
    if candidates.is_empty() {
        return fields_mismatch(pattern, None, path);
    }
    if let Some((name, value)) = leading_absence_violation(pattern, &candidates) {
        return Some(Mismatch {
            path: if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            },
            found: Some(value),
        });
    }
    if candidates.iter().any(|map| fields(pattern, Some(map))) {
        return None;
    }
    candidates
        .first()
        .and_then(|map| fields_mismatch(pattern, Some(map), path))
}

fn fields_mismatch(
    pattern: &Object,
    map: Option<&Map<String, Value>>,
    path: &str,
) -> Option<Mismatch> {
    let here = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for (name, field) in &pattern.fields {
        let value = map.and_then(|map| map.get(name));
        match field {
            Field::Object(inner) => {
                if let Some(found) = mismatch(inner, value, &here(name)) {
                    return Some(found);
                }
            }
            Field::Leaf(matchers) => {
                if !leaf(matchers, value) {
                    return Some(Mismatch {
                        path: here(name),
                        found: value.cloned(),
                    });
                }
            }
        }
    }
    pattern
        .ors
        .iter()
        .find(|group| !group.iter().any(|member| fields(member, map)))
        .map(|_| Mismatch {
            path: here("$or"),
            found: None,
        })
}

/// Where an event stops matching a pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The pattern's field, like `detail.eventName` (`…$or` for an `$or` no member matched).
    pub path: String,
    /// The event's value there; `None` when the event has none.
    pub found: Option<Value>,
}
