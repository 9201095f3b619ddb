//! EventBridge event patterns: the grammar, the validation errors and the matching rules of
//! the AWS documentation ("Creating Amazon EventBridge event patterns", "Content filtering in
//! Amazon EventBridge event patterns" and "Comparison operators for use in event patterns",
//! docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
//! Where the documentation is silent (error wording, what a number literal matches, where an
//! operator may stand) the parser follows aws/event-ruler, the open-source engine behind
//! EventBridge (`JsonRuleCompiler.processMatchExpression`, `writeRules`, `CIDR.cidr`,
//! `WildcardParser` in its sources); its messages are the "Reason: …" AWS returns from PutRule
//! and TestEventPattern.
//!
//! `parse.rs` turns JSON into the tree below, `matching.rs` decides an event,
//! `wildcard.rs` holds `*` patterns, `complexity.rs` refuses wildcard patterns EventBridge
//! finds too complex.

pub mod complexity;
mod matching;
mod parse;
mod wildcard;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

use serde_json::Value;

pub use matching::Mismatch;
pub use wildcard::Wildcard;

/// PutRule refuses a longer `EventPattern` (API reference: "Maximum length of 4096"); the
/// default account quota is 2048, which `alerts new` keeps its own patterns under.
pub const MAX_PATTERN_CHARS: usize = 4096;
/// The account quota on a pattern's size that applies unless raised.
pub const DEFAULT_QUOTA_CHARS: usize = 2048;

/// A parsed, valid event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Object,
}

/// Why a pattern is refused: where (a path such as `detail.eventName[1]`, empty for the
/// whole pattern; line and column for JSON that does not parse) and EventBridge's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub path: String,
    pub reason: String,
    /// 1-based, for text that is not JSON.
    pub line_column: Option<(usize, usize)>,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event pattern is not valid. Reason: {}", self.reason)?;
        if !self.path.is_empty() {
            write!(f, " (at {})", self.path)?;
        }
        if let Some((line, column)) = self.line_column {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PatternError {}

impl Pattern {
    /// Parses and validates a pattern as PutRule would.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let chars = text.chars().count();
        if chars > MAX_PATTERN_CHARS {
            return Err(PatternError {
                path: String::new(),
                reason: format!(
                    "the pattern has {chars} characters; EventBridge takes at most {MAX_PATTERN_CHARS}"
                ),
                line_column: None,
            });
        }
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError {
            path: String::new(),
            reason: format!("not JSON: {}", json_reason(&e)),
            line_column: Some((e.line(), e.column())),
        })?;
        Pattern::from_value(&value)
    }

    /// Validates a pattern already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Pattern, PatternError> {
        let root = parse::pattern(value)?;
        complexity::check(&root)?;
        Ok(Pattern { root })
    }

    /// Whether EventBridge would deliver `event` to a rule with this pattern.
    pub fn matches(&self, event: &Value) -> bool {
        matching::object(&self.root, Some(event))
    }

    /// Why `event` does not match: the first field of the pattern (by name) that fails, with
    /// the event's value there; `None` when it matches.
    pub fn mismatch(&self, event: &Value) -> Option<Mismatch> {
        matching::mismatch(&self.root, Some(event), "")
    }
}

/// serde_json's message without its own " at line L column C" (the error carries those).
fn json_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// An object of the pattern: every field must match (AND), and each `$or` group needs one
/// of its objects to match.
#[derive(Debug, Clone, PartialEq)]
struct Object {
    fields: Vec<(String, Field)>,
    ors: Vec<Vec<Object>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Object(Object),
    /// The array of a leaf: matches when any of its matchers does.
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    String(String),
    /// The number as written and its value: `300` matches `3.0e2` and `300`.
    Number(f64),
    Null,
    Bool(bool),
    Prefix {
        text: String,
        ignore_case: bool,
    },
    Suffix {
        text: String,
        ignore_case: bool,
    },
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(Range),
    Exists(bool),
    Cidr(Cidr),
    AnythingBut(AnythingBut),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

/// A numeric range; `None` is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    low: Option<Bound>,
    high: Option<Bound>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    network: IpAddr,
    bits: u8,
}
