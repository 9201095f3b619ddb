//! EventBridge's limit on `wildcard` patterns: "If a rule is too complex, EventBridge returns
//! an InvalidEventPatternException" (user guide, "Wildcards and event pattern complexity"),
//! with the reason "Rule is too complex - try using fewer wildcard characters or fewer
//! repeating character sequences after a wildcard character".
//!
//! The measure is event-ruler's `MachineComplexityEvaluator.evaluate`: for the wildcard
//! patterns (`wildcard` and `anything-but` `wildcard`) of one field, the most pattern prefixes
//! that one input value can be in at once, the worst value over all values. Here it is
//! computed as the largest set of positions the patterns' NFA can be in after at least one
//! byte, each pattern being its bytes between JSON quotes with a star as a self-loop
//! (`Wildcard::tokens`), explored by subset construction over the bytes the patterns name
//! plus one byte they do not; duplicate patterns count once. It reproduces the figures of
//! event-ruler's `MachineComplexityEvaluatorTest` (`complexity_tests` below).
//!
//! AWS does not publish the threshold. [`MAX_WILDCARD_COMPLEXITY`] is 10: rules reported
//! accepted by EventBridge measure 9 (three `*:stack/NAME/*` on one field) and 8, rules
//! reported refused 12 (four of the same) and 16 (four `*/datasync/*.EXT`).
//!
//! Where event-ruler builds one machine per field *and* per path of earlier values (a field
//! behind different `$or` branches), this groups a field's patterns by its path alone: an
//! upper bound, so a rule refused here whose wildcards sit in different `$or` branches might
//! pass on AWS.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::{AnythingBut, Field, Matcher, Object, PatternError};

/// The most a field's wildcard patterns may measure (see the module comment).
pub const MAX_WILDCARD_COMPLEXITY: usize = 10;
/// EventBridge's reason for a rule over the limit.
pub const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";
/// Sets of positions explored at most; a pattern set that needs more is refused as too
/// complex rather than let one PutRule spend unbounded time.
const MAX_STATE_SETS: usize = 20_000;

type Token = Option<u8>;

/// Refuses a pattern one of whose fields measures over the limit.
pub(super) fn check(root: &Object) -> Result<(), PatternError> {
    let mut by_field: BTreeMap<String, BTreeSet<Vec<Token>>> = BTreeMap::new();
    collect(root, "", &mut by_field);
    for (path, patterns) in &by_field {
        let patterns: Vec<Vec<Token>> = patterns.iter().cloned().collect();
        if measure(&patterns, MAX_WILDCARD_COMPLEXITY) > MAX_WILDCARD_COMPLEXITY {
            return Err(PatternError {
                path: path.clone(),
                reason: TOO_COMPLEX.to_owned(),
                line_column: None,
            });
        }
    }
    Ok(())
}

fn collect(object: &Object, path: &str, out: &mut BTreeMap<String, BTreeSet<Vec<Token>>>) {
    for (name, field) in &object.fields {
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        match field {
            Field::Object(inner) => collect(inner, &here, out),
            Field::Leaf(matchers) => {
                for matcher in matchers {
                    let wildcards = match matcher {
                        Matcher::Wildcard(wildcard) => std::slice::from_ref(wildcard),
                        Matcher::AnythingBut(AnythingBut::Wildcards(list)) => list.as_slice(),
                        _ => continue,
                    };
                    let set = out.entry(here.clone()).or_default();
                    set.extend(wildcards.iter().map(super::Wildcard::tokens));
                }
            }
        }
    }
    for group in &object.ors {
        for branch in group {
            collect(branch, path, out);
        }
    }
}

/// The most positions (pattern, tokens consumed) the patterns can be in at once after at
/// least one byte; stops early once it exceeds `cap` (returning more than `cap`).
fn measure(patterns: &[Vec<Token>], cap: usize) -> usize {
    let closure = |mut set: Vec<(usize, usize)>| {
        let mut at = 0;
        while at < set.len() {
            let (p, k) = set[at];
            // A star may match nothing: the position after it is reached too.
            if patterns[p].get(k) == Some(&None) && !set.contains(&(p, k + 1)) {
                set.push((p, k + 1));
            }
            at += 1;
        }
        set.sort_unstable();
        set.dedup();
        set
    };
    let mut alphabet: BTreeSet<Token> = patterns
        .iter()
        .flatten()
        .copied()
        .flatten()
        .map(Some)
        .collect();
    // One byte no pattern names stands for all of them.
    alphabet.insert(None);
    let start = closure((0..patterns.len()).map(|p| (p, 0)).collect());
    let mut seen: HashSet<Vec<(usize, usize)>> = HashSet::from([start.clone()]);
    let mut pending = vec![start];
    let mut most = 0;
    while let Some(set) = pending.pop() {
        for byte in &alphabet {
            let mut next = Vec::new();
            for &(p, k) in &set {
                let tokens = &patterns[p];
                // After a star, any byte keeps the position (the star's self-loop).
                if k > 0 && tokens[k - 1].is_none() {
                    next.push((p, k));
                }
                if byte.is_some() && tokens.get(k) == Some(byte) {
                    next.push((p, k + 1));
                }
            }
            if next.is_empty() {
                continue;
            }
            let next = closure(next);
            most = most.max(next.len());
            if most > cap || seen.len() >= MAX_STATE_SETS {
                return most.max(cap + 1);
            }
            if seen.insert(next.clone()) {
                pending.push(next);
            }
        }
    }
    most
}

#[cfg(test)]
#[path = "complexity_tests.rs"]
mod complexity_tests;
