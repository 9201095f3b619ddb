//! Condition operators (IAM JSON policy elements: Condition operators): parsed at load, so a
//! name IAM does not know is refused there instead of silently never matching, and every
//! value is checked against its operator's type (a date that is not ISO 8601, a number that
//! is not one).

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

use super::context::Context;
use super::variables::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const BASES: &[(&str, Base)] = &[
    ("StringEquals", Base::StringEquals),
    ("StringNotEquals", Base::StringNotEquals),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Base::StringNotEqualsIgnoreCase),
    ("StringLike", Base::StringLike),
    ("StringNotLike", Base::StringNotLike),
    ("NumericEquals", Base::NumericEquals),
    ("NumericNotEquals", Base::NumericNotEquals),
    ("NumericLessThan", Base::NumericLessThan),
    ("NumericLessThanEquals", Base::NumericLessThanEquals),
    ("NumericGreaterThan", Base::NumericGreaterThan),
    ("NumericGreaterThanEquals", Base::NumericGreaterThanEquals),
    ("DateEquals", Base::DateEquals),
    ("DateNotEquals", Base::DateNotEquals),
    ("DateLessThan", Base::DateLessThan),
    ("DateLessThanEquals", Base::DateLessThanEquals),
    ("DateGreaterThan", Base::DateGreaterThan),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals),
    ("Bool", Base::Bool),
    ("ArnEquals", Base::ArnEquals),
    ("ArnLike", Base::ArnLike),
    ("ArnNotEquals", Base::ArnNotEquals),
    ("ArnNotLike", Base::ArnNotLike),
    ("Null", Base::Null),
];

/// IAM operators gangway does not evaluate: refused by name rather than called unknown.
const UNSUPPORTED: &[&str] = &["BinaryEquals", "IpAddress", "NotIpAddress"];

impl Base {
    pub fn name(self) -> &'static str {
        BASES
            .iter()
            .find(|(_, base)| *base == self)
            .map_or("?", |(name, _)| name)
    }

    /// Operators that hold when the key does NOT match (and so when it is absent).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Self::StringNotEquals
                | Self::StringNotEqualsIgnoreCase
                | Self::StringNotLike
                | Self::NumericNotEquals
                | Self::DateNotEquals
                | Self::ArnNotEquals
                | Self::ArnNotLike
        )
    }

    /// Operators whose values may hold policy variables (strings and ARNs).
    fn takes_variables(self) -> bool {
        matches!(
            self,
            Self::StringEquals
                | Self::StringNotEquals
                | Self::StringEqualsIgnoreCase
                | Self::StringNotEqualsIgnoreCase
                | Self::StringLike
                | Self::StringNotLike
                | Self::ArnEquals
                | Self::ArnLike
                | Self::ArnNotEquals
                | Self::ArnNotLike
        )
    }

    pub fn is_date(self) -> bool {
        matches!(
            self,
            Self::DateEquals
                | Self::DateNotEquals
                | Self::DateLessThan
                | Self::DateLessThanEquals
                | Self::DateGreaterThan
                | Self::DateGreaterThanEquals
        )
    }

    fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::NumericEquals
                | Self::NumericNotEquals
                | Self::NumericLessThan
                | Self::NumericLessThanEquals
                | Self::NumericGreaterThan
                | Self::NumericGreaterThanEquals
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub set: Option<SetQualifier>,
    pub base: Base,
    pub if_exists: bool,
}

impl Operator {
    /// `[ForAnyValue:|ForAllValues:]Base[IfExists]`, names as IAM spells them.
    pub fn parse(name: &str) -> Result<Self, String> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (if_exists, bare) = match rest.strip_suffix("IfExists") {
            Some(bare) => (true, bare),
            None => (false, rest),
        };
        if UNSUPPORTED.contains(&bare) {
            return Err(format!(
                "condition operator `{name}` is valid IAM but gangway's evaluator does not support it"
            ));
        }
        let base = BASES
            .iter()
            .find(|(n, _)| *n == bare)
            .map(|(_, base)| *base)
            .ok_or_else(|| format!("unknown condition operator `{name}`"))?;
        if base == Base::Null && (if_exists || set.is_some()) {
            return Err(format!(
                "unknown condition operator `{name}` (Null takes no IfExists or set qualifier)"
            ));
        }
        Ok(Self {
            set,
            base,
            if_exists,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.set {
            Some(SetQualifier::ForAnyValue) => f.write_str("ForAnyValue:")?,
            Some(SetQualifier::ForAllValues) => f.write_str("ForAllValues:")?,
            None => {}
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// One `"operator": { "key": value(s) }` entry: a key tested against its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// As written (IAM compares key names case-insensitively).
    pub key: String,
    pub values: Vec<Template>,
}

impl Condition {
    /// Checks each value against the operator's type; `values` as the JSON had them, turned
    /// to text (IAM accepts `true`, `10` and `"10"` alike).
    pub fn new(
        operator: Operator,
        key: &str,
        values: Vec<String>,
        variables: bool,
    ) -> Result<Self, String> {
        if values.is_empty() {
            return Err(format!("`{key}`: an empty list of values"));
        }
        let base = operator.base;
        let mut templates = Vec::with_capacity(values.len());
        for value in values {
            if base.is_date() && parse_date(&value).is_none() {
                return Err(format!(
                    "`{key}`: `{value}` is not a date (ISO 8601 like 2026-12-31T23:59:59Z, or epoch seconds)"
                ));
            }
            if base.is_numeric() && parse_number(&value).is_none() {
                return Err(format!("`{key}`: `{value}` is not a number"));
            }
            if matches!(base, Base::Bool | Base::Null) && parse_bool(&value).is_none() {
                return Err(format!("`{key}`: `{value}` is not true or false"));
            }
            let template = Template::parse(&value, variables && base.takes_variables())
                .map_err(|err| format!("`{key}`: {err}"))?;
            templates.push(template);
        }
        Ok(Self {
            operator,
            key: key.to_owned(),
            values: templates,
        })
    }

    /// Whether the condition holds for `context` (IAM JSON policy elements: Condition
    /// operators; Single-valued vs. multivalued context keys; Set operators).
    pub fn holds(&self, context: &Context) -> bool {
        let Operator {
            set,
            base,
            if_exists,
        } = self.operator;
        let present = context.get(&self.key);
        if base == Base::Null {
            // `true`: the key must be absent; `false`: present. A key with no values (or one
            // empty string) counts as absent.
            let absent = present.is_none_or(|values| values.iter().all(String::is_empty));
            return self
                .values
                .iter()
                .any(|v| parse_bool(&v.source) == Some(absent));
        }
        let values = match present {
            None => {
                return match set {
                    // "ForAllValues … also returns true if there are no context keys in the
                    // request"; ForAnyValue needs at least one value.
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    None => if_exists || base.is_negated(),
                };
            }
            Some(values) => values,
        };
        // Each context value: does it match any policy value (with the positive operator)?
        // A negated operator asks that it match none of them.
        let verdict = |value: &str| {
            let hit = self
                .values
                .iter()
                .any(|policy| compare(base, value, policy, context));
            hit != base.is_negated()
        };
        match set {
            Some(SetQualifier::ForAllValues) => values.iter().all(|v| verdict(v)),
            Some(SetQualifier::ForAnyValue) => values.iter().any(|v| verdict(v)),
            // A single-valued operator on a multivalued key: negated ones must hold for every
            // value, positive ones for one.
            None if base.is_negated() => values.iter().all(|v| verdict(v)),
            None => values.iter().any(|v| verdict(v)),
        }
    }
}

/// The positive form of `base` (StringNotEquals compares as StringEquals, the caller negates).
fn compare(base: Base, value: &str, policy: &Template, context: &Context) -> bool {
    use Base as B;
    match base {
        B::StringEquals | B::StringNotEquals => policy.text(context).is_some_and(|p| p == value),
        B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => policy
            .text(context)
            .is_some_and(|p| p.to_lowercase() == value.to_lowercase()),
        B::StringLike | B::StringNotLike => policy
            .pattern(context)
            .is_some_and(|p| p.matches(value, false)),
        // IAM: ArnEquals and ArnLike both compare each ARN segment with wildcards.
        B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike => policy
            .pattern(context)
            .is_some_and(|p| p.matches_arn(value)),
        B::Bool => parse_bool(value) == parse_bool(&policy.source),
        B::NumericEquals
        | B::NumericNotEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => {
            let (Some(v), Some(p)) = (parse_number(value), parse_number(&policy.source)) else {
                return false;
            };
            match base {
                B::NumericLessThan => v < p,
                B::NumericLessThanEquals => v <= p,
                B::NumericGreaterThan => v > p,
                B::NumericGreaterThanEquals => v >= p,
                _ => v == p,
            }
        }
        B::DateEquals
        | B::DateNotEquals
        | B::DateLessThan
        | B::DateLessThanEquals
        | B::DateGreaterThan
        | B::DateGreaterThanEquals => {
            let (Some(v), Some(p)) = (parse_date(value), parse_date(&policy.source)) else {
                return false;
            };
            match base {
                B::DateLessThan => v < p,
                B::DateLessThanEquals => v <= p,
                B::DateGreaterThan => v > p,
                B::DateGreaterThanEquals => v >= p,
                _ => v == p,
            }
        }
        B::Null => false,
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let plain = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    plain.then(|| trimmed.parse::<f64>().ok()).flatten()
}

/// The dates IAM's Date operators accept: ISO 8601 (`2026-12-31T23:59:59Z`, with fractions
/// or an offset, or a bare `2026-12-31` meaning its midnight UTC) or epoch seconds.
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(date) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(date);
    }
    if let Ok(date) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(date);
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &day) {
        return Some(date.midnight().assume_utc());
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok());
    }
    None
}
