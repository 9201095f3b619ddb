//! Table tests from the examples of the EventBridge user guide: "Creating Amazon EventBridge
//! event patterns" (eb-event-patterns), "Content filtering in Amazon EventBridge event
//! patterns" (eb-event-patterns-content-based-filtering), "Comparison operators for use in
//! event patterns" (eb-create-pattern-operators), "Matching on multiple field values"
//! (eb-event-patterns-arrays) and "Matching null values and empty strings"
//! (eb-event-patterns-null-values), restated in our own events; the error reasons are
//! event-ruler's (`JsonRuleCompiler`), which EventBridge returns.

use serde_json::{Value, json};

use super::{Pattern, PatternError};

fn pattern(text: &str) -> Pattern {
    match Pattern::parse(text) {
        Ok(pattern) => pattern,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn error(text: &str) -> PatternError {
    match Pattern::parse(text) {
        Ok(_) => panic!("{text}: accepted"),
        Err(e) => e,
    }
}

/// The EC2 state-change event the guide's first examples use (our values).
fn instance_event() -> Value {
    json!({
        "version": "0",
        "id": "3c1f2a9e-0000-4000-8000-000000000001",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-10-02T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:111122223333:instance/i-0abc"],
        "detail": {"instance-id": "i-0abc", "state": "terminated"}
    })
}

#[track_caller]
fn check(rows: &[(&str, Value, bool)]) {
    for (text, event, expected) in rows {
        assert_eq!(
            pattern(text).matches(event),
            *expected,
            "pattern {text} on {event}"
        );
    }
}

#[test]
fn exact_values_and_nesting() {
    let event = instance_event();
    check(&[
        // The guide's first pattern: source, detail-type and a nested field.
        (
            r#"{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"source":["aws.ec2"],"detail":{"state":["running"]}}"#,
            event.clone(),
            false,
        ),
        // Several values in one array: any of them (OR).
        (
            r#"{"source":["aws.ec2","aws.fargate"]}"#,
            event.clone(),
            true,
        ),
        // Every field named must be there (AND), with the same nesting.
        (
            r#"{"source":["aws.ec2"],"detail":{"missing":["x"]}}"#,
            event.clone(),
            false,
        ),
        (r#"{"state":["terminated"]}"#, event.clone(), false),
        // Matching is case-sensitive and exact.
        (r#"{"source":["AWS.EC2"]}"#, event.clone(), false),
        (r#"{"source":["aws.ec"]}"#, event.clone(), false),
        // Fields the pattern does not name are ignored.
        (r#"{"region":["us-west-1"]}"#, event, true),
    ]);
}

#[test]
fn numbers_null_booleans_and_empty_strings() {
    let event = json!({"detail": {
        "count": 300, "ratio": 0.5, "user": null, "enabled": true, "last": "", "code": "300"
    }});
    check(&[
        (r#"{"detail":{"count":[300]}}"#, event.clone(), true),
        // A number is compared as a number: 3.0e2 is 300.
        (r#"{"detail":{"count":[3.0e2]}}"#, event.clone(), true),
        // A string never equals a number, nor the reverse.
        (r#"{"detail":{"count":["300"]}}"#, event.clone(), false),
        (r#"{"detail":{"code":[300]}}"#, event.clone(), false),
        (r#"{"detail":{"ratio":[0.5]}}"#, event.clone(), true),
        // null matches a null value, not an absent field; an empty string matches "".
        (r#"{"detail":{"user":[null]}}"#, event.clone(), true),
        (r#"{"detail":{"nobody":[null]}}"#, event.clone(), false),
        (r#"{"detail":{"last":[""]}}"#, event.clone(), true),
        (r#"{"detail":{"last":[null]}}"#, event.clone(), false),
        (r#"{"detail":{"enabled":[true]}}"#, event.clone(), true),
        (r#"{"detail":{"enabled":[false]}}"#, event.clone(), false),
        (r#"{"detail":{"enabled":["true"]}}"#, event, false),
    ]);
}

#[test]
fn arrays_match_when_they_intersect() {
    // The arrays page: a pattern array and an event array match when they share a value.
    let event = json!({"resources": [
        "arn:aws:autoscaling:us-east-1:111122223333:autoScalingGroup:grp",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"
    ]});
    check(&[
        (
            r#"{"resources":["arn:aws:ec2:us-east-1:111122223333:instance/i-0abc","arn:aws:ec2:us-east-1:444455556666:instance/i-0abc"]}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"resources":["arn:aws:ec2:us-east-1:444455556666:instance/i-0abc"]}"#,
            event.clone(),
            false,
        ),
        (r#"{"resources":[{"prefix":"arn:aws:ec2:"}]}"#, event, true),
    ]);
    // Objects in an event array: the fields must match inside one element.
    let event = json!({"detail": {"items": [
        {"name": "a", "size": 1},
        {"name": "b", "size": 2}
    ]}});
    check(&[
        (
            r#"{"detail":{"items":{"name":["b"],"size":[2]}}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"items":{"name":["a"],"size":[2]}}}"#,
            event,
            false,
        ),
    ]);
}

#[test]
fn prefix_and_suffix() {
    let event = json!({"time": "2017-10-02T18:43:48Z", "detail": {
        "service": "EventBridge", "FileName": "photo.PNG", "region": "us-east-1", "n": 5
    }});
    check(&[
        (r#"{"time":[{"prefix":"2017-10-02"}]}"#, event.clone(), true),
        (
            r#"{"time":[{"prefix":"2017-10-03"}]}"#,
            event.clone(),
            false,
        ),
        (
            r#"{"detail":{"service":[{"prefix":{"equals-ignore-case":"eventb"}}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"service":[{"prefix":"eventb"}]}}"#,
            event.clone(),
            false,
        ),
        (
            r#"{"detail":{"FileName":[{"suffix":".png"}]}}"#,
            event.clone(),
            false,
        ),
        (
            r#"{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"service":[{"suffix":{"equals-ignore-case":"TBRIDGE"}}]}}"#,
            event.clone(),
            true,
        ),
        // Prefix and suffix apply to strings only.
        (r#"{"detail":{"n":[{"prefix":"5"}]}}"#, event, false),
    ]);
}

#[test]
fn anything_but() {
    let event = |state: Value| json!({"detail": {"state": state, "x-limit": 200, "FilePath": "/usr/lib/a.so"}});
    check(&[
        (
            r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
            event(json!("running")),
            true,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
            event(json!("initializing")),
            false,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}"#,
            event(json!("overloaded")),
            false,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}"#,
            event(json!("pending")),
            true,
        ),
        (
            r#"{"detail":{"x-limit":[{"anything-but":123}]}}"#,
            event(json!("x")),
            true,
        ),
        (
            r#"{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}"#,
            event(json!("x")),
            false,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}"#,
            event(json!("initializing")),
            false,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}"#,
            event(json!("running")),
            true,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":{"suffix":".png"}}]}}"#,
            event(json!("a.png")),
            false,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":{"equals-ignore-case":["initializing","stopped"]}}]}}"#,
            event(json!("INITIALIZING")),
            false,
        ),
        (
            r#"{"detail":{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}}"#,
            event(json!("Running")),
            true,
        ),
        (
            r#"{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}"#,
            event(json!("x")),
            false,
        ),
        (
            r#"{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/bin/*"}}]}}"#,
            event(json!("x")),
            true,
        ),
        // Anything-but needs the field: an absent one does not match.
        (
            r#"{"detail":{"absent":[{"anything-but":"initializing"}]}}"#,
            event(json!("running")),
            false,
        ),
        // An event array matches when one of its values is not excluded.
        (
            r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
            event(json!(["initializing", "running"])),
            true,
        ),
    ]);
}

#[test]
fn numeric_ranges() {
    let event = json!({"detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "text": "5"}});
    check(&[
        // The guide's numeric example: all three hold.
        (
            r#"{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}"#,
            event.clone(),
            false,
        ),
        (
            r#"{"detail":{"c-count":[{"numeric":[">=",5]}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"c-count":[{"numeric":[">",5]}]}}"#,
            event.clone(),
            false,
        ),
        (
            r#"{"detail":{"d-count":[{"numeric":["<=",3]}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"d-count":[{"numeric":["=",3]}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"x-limit":[{"numeric":[">",-1e9,"<=",1e9]}]}}"#,
            event.clone(),
            true,
        ),
        // Numeric matching is for JSON numbers only.
        (r#"{"detail":{"text":[{"numeric":["=",5]}]}}"#, event, false),
    ]);
}

#[test]
fn exists_works_on_leaves() {
    // The guide's exists example: no `detail.c-count` leaf, whether the field is absent or
    // holds an object.
    let without = json!({"detail": {"state": ["initializing", "running"]}});
    let object = json!({"detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}});
    let leaf = json!({"detail": {"c-count": 7}});
    let null = json!({"detail": {"c-count": null}});
    let absent_parent = json!({"source": "aws.ec2"});
    let not_exists = r#"{"detail":{"c-count":[{"exists":false}]}}"#;
    let exists = r#"{"detail":{"c-count":[{"exists":true}]}}"#;
    check(&[
        (not_exists, without.clone(), true),
        (not_exists, object.clone(), true),
        (not_exists, leaf.clone(), false),
        (not_exists, absent_parent.clone(), true),
        (exists, without, false),
        (exists, object, false),
        (exists, leaf, true),
        // null is a value: the field exists.
        (exists, null, true),
        (exists, absent_parent, false),
    ]);
    // Under an array of objects: an absence tested before any other field (by name) must
    // hold in every element; one tested after them, in the element they matched in.
    let items = json!({"a": [{"b": 1, "z": 1}, {"c": "2"}]});
    check(&[
        (r#"{"a":{"b":[{"exists":false}]}}"#, items.clone(), false),
        (
            r#"{"a":{"b":[{"exists":false}],"c":["2"]}}"#,
            items.clone(),
            false,
        ),
        (
            r#"{"a":{"c":["2"],"z":[{"exists":false}]}}"#,
            items.clone(),
            true,
        ),
        (r#"{"a":{"d":[{"exists":false}]}}"#, items.clone(), true),
        (r#"{"a":{"b":[{"exists":true}],"c":["2"]}}"#, items, false),
    ]);
}

#[test]
fn equals_ignore_case_and_wildcard() {
    let event = json!({"detail": {
        "name": "Alice",
        "EventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/orders",
        "path": "dir/sub/photo.png",
        "star": "a*b",
        "number": 12
    }});
    check(&[
        (
            r#"{"detail":{"name":[{"equals-ignore-case":"alice"}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"name":[{"equals-ignore-case":"alicia"}]}}"#,
            event.clone(),
            false,
        ),
        (
            r#"{"detail":{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"path":[{"wildcard":"dir/*.png"}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"path":[{"wildcard":"dir/*.jpg"}]}}"#,
            event.clone(),
            false,
        ),
        // `*` may stand for nothing; `\*` is a star.
        (
            r#"{"detail":{"path":[{"wildcard":"dir/sub/*photo.png"}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"star":[{"wildcard":"a\\*b"}]}}"#,
            event.clone(),
            true,
        ),
        (
            r#"{"detail":{"name":[{"wildcard":"A\\*e"}]}}"#,
            event.clone(),
            false,
        ),
        (r#"{"detail":{"number":[{"wildcard":"1*"}]}}"#, event, false),
    ]);
}

#[test]
fn cidr() {
    let event = |ip: &str| json!({"detail": {"sourceIPAddress": ip}});
    let v4 = r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}"#;
    let v6 = r#"{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/32"}]}}"#;
    check(&[
        (v4, event("10.0.0.17"), true),
        (v4, event("10.0.1.17"), false),
        (v4, event("not an address"), false),
        (v6, event("2001:db8::1"), true),
        (v6, event("2001:DB8:0::1"), true),
        // A plain IPv6 address matches however the event writes it.
        (
            r#"{"detail":{"sourceIPAddress":["2001:db8::1"]}}"#,
            event("2001:0db8:0000::0001"),
            true,
        ),
        (v6, event("2001:db9::1"), false),
        (v6, event("10.0.0.17"), false),
    ]);
}

#[test]
fn or_between_fields() {
    let pattern_text = r#"{"source":["aws.ec2"],"$or":[{"detail":{"Location":["New York"]}},{"detail":{"Day":["Monday"]}}]}"#;
    check(&[
        (
            pattern_text,
            json!({"source": "aws.ec2", "detail": {"Location": "New York", "Day": "Friday"}}),
            true,
        ),
        (
            pattern_text,
            json!({"source": "aws.ec2", "detail": {"Location": "Boston", "Day": "Monday"}}),
            true,
        ),
        (
            pattern_text,
            json!({"source": "aws.ec2", "detail": {"Location": "Boston", "Day": "Friday"}}),
            false,
        ),
        (
            pattern_text,
            json!({"source": "aws.s3", "detail": {"Location": "New York"}}),
            false,
        ),
        // $or nested inside an object, with a numeric member.
        (
            r#"{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]}]}}"#,
            json!({"detail": {"d-count": 3}}),
            true,
        ),
    ]);
}

#[test]
fn invalid_patterns_say_why_and_where() {
    let rows: &[(&str, &str, &str)] = &[
        (r#"["aws.ec2"]"#, "", "Filter is not an object"),
        ("{}", "", "Empty objects are not allowed"),
        (r#"{"source":[]}"#, "source", "Empty arrays are not allowed"),
        (
            r#"{"source":"aws.ec2"}"#,
            "source",
            "\"source\" must be an object or an array",
        ),
        (
            r#"{"detail":{"n":[[1]]}}"#,
            "detail.n[0]",
            "Match value must be String, number, true, false, or null",
        ),
        (
            r#"{"detail":{"n":[{"contains":"x"}]}}"#,
            "detail.n[0].contains",
            "Unrecognized match type contains",
        ),
        (
            r#"{"detail":{"n":[{}]}}"#,
            "detail.n[0]",
            "Match expression name not found",
        ),
        (
            r#"{"detail":{"n":[{"prefix":"a","suffix":"b"}]}}"#,
            "detail.n[0]",
            "Only one key allowed in match expression",
        ),
        (
            r#"{"n":[{"prefix":1}]}"#,
            "n[0].prefix",
            "prefix match pattern must be a string",
        ),
        (
            r#"{"n":[{"prefix":{"wildcard":"a"}}]}"#,
            "n[0].prefix",
            "Unsupported prefix pattern: wildcard",
        ),
        (
            r#"{"n":[{"numeric":"5"}]}"#,
            "n[0].numeric",
            "Value of numeric must be an array.",
        ),
        (
            r#"{"n":[{"numeric":[">","5"]}]}"#,
            "n[0].numeric[1]",
            "Value of > must be numeric",
        ),
        (
            r#"{"n":[{"numeric":["!=",5]}]}"#,
            "n[0].numeric",
            "Unrecognized numeric range operator: !=",
        ),
        (
            r#"{"n":[{"numeric":[">",5,">",6]}]}"#,
            "n[0].numeric[2]",
            "Bad numeric range operator: >",
        ),
        (
            r#"{"n":[{"numeric":[">",5,"<",1]}]}"#,
            "n[0].numeric",
            "Bottom must be less than top",
        ),
        (
            r#"{"n":[{"numeric":["<",5,">",1]}]}"#,
            "n[0].numeric",
            "Too many elements in numeric expression",
        ),
        (
            r#"{"n":[{"numeric":[]}]}"#,
            "n[0].numeric",
            "Invalid member in numeric match: ]",
        ),
        (
            r#"{"n":[{"exists":"yes"}]}"#,
            "n[0].exists",
            "exists match pattern must be either true or false.",
        ),
        (
            r#"{"n":[{"anything-but":["a",1]}]}"#,
            "n[0].anything-but",
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
        (
            r#"{"n":[{"anything-but":[null]}]}"#,
            "n[0].anything-but[0]",
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            r#"{"n":[{"anything-but":{"numeric":[">",1]}}]}"#,
            "n[0].anything-but",
            "Unsupported anything-but pattern: numeric",
        ),
        (
            r#"{"n":[{"anything-but":{"prefix":""}}]}"#,
            "n[0].anything-but.prefix",
            "Null prefix/suffix not allowed",
        ),
        (
            r#"{"n":[{"anything-but":true}]}"#,
            "n[0].anything-but",
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            r#"{"n":[{"wildcard":"abc**def"}]}"#,
            "n[0].wildcard",
            "Consecutive wildcard characters at pos 4",
        ),
        (
            r#"{"n":[{"wildcard":"a*c\\def"}]}"#,
            "n[0].wildcard",
            "Invalid escape character at pos 4",
        ),
        (
            r#"{"n":[{"cidr":"10.0.0.0"}]}"#,
            "n[0].cidr",
            "Malformed CIDR, one '/' required",
        ),
        (
            r#"{"n":[{"cidr":"10.0.0.0/x"}]}"#,
            "n[0].cidr",
            "Malformed CIDR, mask bits must be an integer",
        ),
        (
            r#"{"n":[{"cidr":"10.0.0.0/32"}]}"#,
            "n[0].cidr",
            "IPv4 mask bits must be < 32",
        ),
        (
            r#"{"n":[{"cidr":"300.0.0.0/8"}]}"#,
            "n[0].cidr",
            "Invalid IP address: 300.0.0.0",
        ),
        (
            r#"{"$or":{"a":["b"]}}"#,
            "$or",
            "It must be an Array followed with $or.",
        ),
        (
            r#"{"$or":[{"a":["b"]}]}"#,
            "$or",
            "There must have at least 2 Objects in $or relationship.",
        ),
        (
            r#"{"$or":[{"a":["b"]},"c"]}"#,
            "$or[1]",
            "Only JSON object is allowed in array of $or relationship.",
        ),
        (
            r#"{"$or":[{"a":["b"]},{"prefix":["c"]}]}"#,
            "$or[1].prefix",
            "prefix is Ruler reserved fieldName which cannot be used inside $or.",
        ),
    ];
    for (text, path, reason) in rows {
        let e = error(text);
        assert_eq!(
            (e.path.as_str(), e.reason.as_str()),
            (*path, *reason),
            "{text}"
        );
        assert!(
            e.to_string()
                .starts_with("Event pattern is not valid. Reason: ")
        );
    }
}

#[test]
fn text_that_is_not_json_says_line_and_column() {
    let e = error("{\n  \"source\": [\"aws.ec2\",]\n}");
    assert_eq!(e.line_column.map(|(line, _)| line), Some(2), "{e}");
    assert!(e.reason.starts_with("not JSON: "), "{e}");
    assert!(e.to_string().contains("line 2, column"), "{e}");
    let long = format!("{{\"a\":[\"{}\"]}}", "x".repeat(super::MAX_PATTERN_CHARS));
    assert!(error(&long).reason.contains("at most 4096"));
}

#[test]
fn a_mismatch_names_the_first_failing_field() {
    let p = pattern(
        r#"{"source":["aws.ec2"],"detail":{"state":["running"],"$or":[{"a":["1"]},{"b":["2"]}]}}"#,
    );
    let found = p.mismatch(&instance_event()).map(|m| (m.path, m.found));
    assert_eq!(
        found,
        Some(("detail.state".to_owned(), Some(json!("terminated"))))
    );
    let absent = p
        .mismatch(&json!({"source": "aws.ec2"}))
        .map(|m| (m.path, m.found));
    assert_eq!(absent, Some(("detail.state".to_owned(), None)));
    let or = p.mismatch(&json!({"source": "aws.ec2", "detail": {"state": "running"}}));
    assert_eq!(or.map(|m| m.path).as_deref(), Some("detail.$or"));
    let matching = json!({"source": "aws.ec2", "detail": {"state": "running", "b": "2"}});
    assert!(p.matches(&matching) && p.mismatch(&matching).is_none());
}

/// Any JSON value: scalars, and arrays and objects of them a few levels deep, with the
/// operator names among the keys so that the parser's branches are reached.
fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|n| json!(n)),
        "[a-z*\\\\/.0-9]{0,6}".prop_map(Value::String),
        prop_oneof![
            Just(">"),
            Just("<="),
            Just("="),
            Just("10.0.0.0/8"),
            Just("a**b")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        let key = prop_oneof![
            "[a-z]{1,3}",
            Just("prefix".to_owned()),
            Just("suffix".to_owned()),
            Just("anything-but".to_owned()),
            Just("numeric".to_owned()),
            Just("exists".to_owned()),
            Just("wildcard".to_owned()),
            Just("cidr".to_owned()),
            Just("equals-ignore-case".to_owned()),
            Just("$or".to_owned()),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// Parsing and matching never panic, whatever the pattern and the event; a pattern that
    /// parses from a value parses from its text alike.
    #[test]
    fn any_pattern_on_any_event_decides_without_panicking(pattern in any_json(), event in any_json()) {
        let from_value = Pattern::from_value(&pattern);
        let from_text = Pattern::parse(&pattern.to_string());
        proptest::prop_assert_eq!(from_value.is_ok(), from_text.is_ok());
        if let Ok(parsed) = from_value {
            let matched = parsed.matches(&event);
            proptest::prop_assert_eq!(matched, parsed.mismatch(&event).is_none());
        }
    }

    #[test]
    fn any_text_is_refused_or_parsed_without_panicking(text in "\\PC{0,64}") {
        let _ = Pattern::parse(&text);
    }
}
