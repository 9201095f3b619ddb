//! The measure against event-ruler's `MachineComplexityEvaluatorTest` (each case's figure,
//! patterns added to a `ByteMachine` without quotes), then the limit on whole patterns.

use super::{MAX_WILDCARD_COMPLEXITY, TOO_COMPLEX, Token, measure};
use crate::alerts::Pattern;

/// Raw patterns, as those tests add them (no JSON quotes).
fn raw(patterns: &[&str]) -> usize {
    let tokens: Vec<Vec<Token>> = patterns
        .iter()
        .map(|p| p.bytes().map(|b| (b != b'*').then_some(b)).collect())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    measure(&tokens, usize::MAX - 1)
}

#[test]
fn event_rulers_documented_figures() {
    let cases: &[(usize, &[&str])] = &[
        (1, &["*"]),
        (3, &["*", "ab*c"]),
        (1, &["abc"]),
        (2, &["*ab"]),
        (3, &["*aa"]),
        (2, &["a*b"]),
        (2, &["aa*"]),
        (2, &["a*bc"]),
        (3, &["a*bb"]),
        (3, &["a*bcb"]),
        (4, &["a*bbb"]),
        (4, &["*ab*ad"]),
        (3, &["*ab*d"]),
        (4, &["*aba*"]),
        (5, &["a*b*bb"]),
        (4, &["a*b*cb"]),
        (3, &["a*b*cd"]),
        (4, &["a*b*b"]),
        (4, &["a*bb*"]),
        (3, &["ab*b*"]),
        (3, &["ab*c", "x*xx"]),
        (4, &["*abc", "*abcde"]),
        (4, &["a*bcd", "ab*cd"]),
        (4, &["a*bc", "a*bcde"]),
        (7, &["a*aaa", "aa*aa"]),
        (4, &["a*bc", "abc*d"]),
        (6, &["a*aaa", "aaa*a"]),
        (5, &["a*aax", "aaa*x"]),
        (4, &["a*bc", "abc*"]),
        (5, &["a*aa", "aaa*"]),
        (3, &["abc*", "abcde*"]),
        (6, &["ab*cd", "ab*wx", "ab*yz"]),
        (7, &["*ab*b*b*"]),
        (17, &["*a*a*a*a*a*a*a*a*"]),
        // Duplicates count once.
        (2, &["ab*c", "ab*c"]),
        (
            10,
            &["F*eatureFeature", "Fe*atureFeature", "Fea*tureFeature"],
        ),
    ];
    for (expected, patterns) in cases {
        assert_eq!(raw(patterns), *expected, "{patterns:?}");
    }
    // "testEvaluateQuaminaExploder".
    let exploder = "aahed* aal*ii aargh* aarti* a*baca *abaci a*back ab*acs abaf*t *abaka ab*amp \
        a*band *abase abash* abas*k ab*ate aba*ya abbas* abbed* ab*bes abbey* *abbot ab*cee \
        abea*m abe*ar a*bele a*bers abet*s *abhor abi*de a*bies *abled";
    let exploder: Vec<&str> = exploder.split_whitespace().collect();
    assert_eq!(raw(&exploder), 45);
}

#[test]
fn rules_over_the_limit_are_refused_with_eventbridges_reason() {
    // A rule's values are JSON strings: event-ruler's machine holds their quotes, which is
    // what "testEvaluateNestedMachinesViaNextNameStates" measures (11).
    let nested = Pattern::parse(
        r#"{"abc": [{"prefix": "a"}, "abcdef"], "def": [{"prefix": "b"}, {"wildcard": "a*a*a*a*a*a*"}]}"#,
    );
    let refused = nested.expect_err("complexity 11");
    assert_eq!(refused.reason, TOO_COMPLEX);
    assert_eq!(refused.path, "def");
    assert_eq!(
        refused.to_string(),
        format!("Event pattern is not valid. Reason: {TOO_COMPLEX} (at def)")
    );
    // Reported on EventBridge: three `*:stack/NAME/*` on a field pass (9), four do not (12).
    let stacks = |names: &[&str]| {
        let list: Vec<String> = names
            .iter()
            .map(|n| format!(r#"{{"wildcard": "*:stack/{n}/*"}}"#))
            .collect();
        Pattern::parse(&format!(
            r#"{{"detail": {{"stack-id": [{}]}}}}"#,
            list.join(",")
        ))
    };
    assert!(stacks(&["Shared", "App", "Data"]).is_ok());
    let four = stacks(&["Shared", "App", "Data", "Monitoring"]).expect_err("complexity 12");
    assert_eq!(four.path, "detail.stack-id");
    // `anything-but` wildcards count, and `$or` branches add up on the same field.
    let or = r#"{"$or": [{"k": [{"wildcard": "*:a/*"}, {"wildcard": "*:b/*"}]},
                         {"k": [{"anything-but": {"wildcard": ["*:c/*", "*:d/*"]}}]}]}"#;
    assert!(Pattern::parse(or).is_err());
    // One wildcard, however long, and the security rules' exact values are far below.
    assert!(Pattern::parse(r#"{"k": [{"wildcard": "*/lib/*.jar"}]}"#).is_ok());
}

#[test]
fn the_exploration_is_bounded() {
    // 30 patterns of stars over a two-letter alphabet: stops at the cap, quickly.
    let patterns: Vec<String> = (0..30)
        .map(|i| format!("{}*{}*a*b", "ab".repeat(i % 5), "ba".repeat(i % 7)))
        .collect();
    let tokens: Vec<Vec<Token>> = patterns
        .iter()
        .map(|p| p.bytes().map(|b| (b != b'*').then_some(b)).collect())
        .collect();
    assert!(measure(&tokens, MAX_WILDCARD_COMPLEXITY) > MAX_WILDCARD_COMPLEXITY);
}
