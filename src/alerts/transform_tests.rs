//! The input-transform examples of the EventBridge user guide ("Amazon EventBridge input
//! transformation": simple string, string with escaped quotes, simple JSON, JSON with strings
//! and variables, JSON mixing variables and static values, predefined variables), restated.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Delivery, InputTransformer, TransformError, apply, apply_with, select};

fn event() -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-4000-8000-00000000000a",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"],
        "detail": {"instance-id": "i-0abc", "state": "RUNNING", "count": 3, "tags": ["a", "b"]}
    })
}

fn transformer(template: &str) -> InputTransformer {
    let paths: BTreeMap<String, String> = [
        ("timestamp", "$.time"),
        ("instance", "$.detail.instance-id"),
        ("state", "$.detail.state"),
        ("count", "$.detail.count"),
        ("second", "$.detail.tags[1]"),
        ("missing", "$.detail.nothing.here"),
        ("kind", "$.detail-type"),
        ("detail", "$.detail"),
        ("resources", "$.resources"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    InputTransformer {
        input_paths_map: paths,
        input_template: template.to_owned(),
    }
}

#[track_caller]
fn check(template: &str, expected: &str) {
    let out = apply(&transformer(template), &event());
    assert_eq!(out.as_deref(), Ok(expected), "template {template}");
}

#[test]
fn string_templates_take_values_without_quotes() {
    check(
        r#""instance <instance> is in <state>""#,
        r#""instance i-0abc is in RUNNING""#,
    );
    check(
        r#""instance \"<instance>\" is in <state>""#,
        r#""instance \"i-0abc\" is in RUNNING""#,
    );
    // Bare text, numbers and array elements, `-` in a name.
    check(
        "<instance> has <count> tags, the second <second> (<kind>)",
        "i-0abc has 3 tags, the second b (EC2 Instance State-change Notification)",
    );
}

#[test]
fn json_templates_quote_values_outside_strings_and_are_minified() {
    check(
        "{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}",
        r#"{"instance":"i-0abc","state":"RUNNING"}"#,
    );
    check(
        r#"{"instance" : <instance>, "state": "<state>", "status": "instance \"<instance>\" is in <state>"}"#,
        r#"{"instance":"i-0abc","state":"RUNNING","status":"instance \"i-0abc\" is in RUNNING"}"#,
    );
    check(
        r#"{"instance": <instance>, "state": [9, <state>, true], "count": <count>, "Transformed": "Yes"}"#,
        r#"{"instance":"i-0abc","state":[9,"RUNNING",true],"count":3,"Transformed":"Yes"}"#,
    );
}

#[test]
fn a_path_missing_from_the_event_leaves_nothing() {
    check(r#""state <state><missing>.""#, r#""state RUNNING.""#);
    check(
        r#"{"a": "x<missing>y", "b": <missing>}"#,
        r#"{"a":"xy","b":""}"#,
    );
    // A placeholder naming no variable stays as written.
    check(r#""<unknown> <state>""#, r#""<unknown> RUNNING""#);
}

#[test]
fn predefined_variables() {
    let t = transformer(
        r#"{"rule": <aws.events.rule-name>, "arn": <aws.events.rule-arn>, "event": <aws.events.event.json>}"#,
    );
    let delivery = Delivery {
        rule_name: Some("example"),
        rule_arn: Some("arn:aws:events:us-east-2:111122223333:rule/example"),
        ingestion_time: None,
    };
    let out = apply_with(&t, &event(), &delivery).unwrap_or_default();
    let parsed: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(parsed["rule"], "example");
    assert_eq!(
        parsed["arn"],
        "arn:aws:events:us-east-2:111122223333:rule/example"
    );
    assert_eq!(parsed["event"], event());
    let t = transformer(r#""<aws.events.rule-name> triggered""#);
    assert_eq!(
        apply_with(&t, &event(), &delivery).as_deref(),
        Ok(r#""example triggered""#)
    );
}

#[test]
fn bad_transformers_are_refused() {
    let mut t = transformer("x");
    t.input_paths_map
        .insert("bad".to_owned(), "detail.state".to_owned());
    assert!(matches!(
        apply(&t, &event()),
        Err(TransformError::BadPath { .. })
    ));
    let mut t = transformer("x");
    t.input_paths_map
        .insert("aws.events.rule-name".to_owned(), "$.a".to_owned());
    assert_eq!(
        apply(&t, &event()),
        Err(TransformError::ReservedName(
            "aws.events.rule-name".to_owned()
        ))
    );
    let mut t = transformer("x");
    for n in 0..=super::MAX_VARIABLES {
        t.input_paths_map.insert(format!("v{n}"), "$.a".to_owned());
    }
    assert!(matches!(
        apply(&t, &event()),
        Err(TransformError::TooManyVariables(_))
    ));
    for bad in ["$.a[x]", "$.a[0", "$..a", "$a"] {
        let mut t = transformer("x");
        t.input_paths_map.insert("v".to_owned(), bad.to_owned());
        assert!(apply(&t, &event()).is_err(), "{bad}");
    }
}

#[test]
fn objects_and_arrays_are_substituted_as_json() {
    // (serde_json's maps keep keys sorted: an object comes out in key order, where
    // EventBridge keeps the event's order; docs/emulator.md says so.)
    // A JSON template takes an object or array value as JSON where the placeholder stands
    // as a value (the guide's "originalEvent": <aws.events.event> example, with a path).
    check(
        r#"{"d": <detail>, "r": <resources>, "s": <state>}"#,
        r#"{"d":{"count":3,"instance-id":"i-0abc","state":"RUNNING","tags":["a","b"]},"r":["arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"],"s":"RUNNING"}"#,
    );
    // Inside a string, or in a text template, the value is its JSON text, unescaped
    // ("EventBridge doesn't escape values extracted by Input Path").
    check(
        r#""tags <second> of <detail>""#,
        r#""tags b of {"count":3,"instance-id":"i-0abc","state":"RUNNING","tags":["a","b"]}""#,
    );
}

#[test]
fn input_path_hands_the_target_json() {
    let event = event();
    // The whole event, a part of it, a string with its quotes, a number, an array.
    assert_eq!(select("$", &event), Ok(Some(event.to_string())));
    assert_eq!(
        select("$.detail", &event).unwrap_or_default().as_deref(),
        Some(r#"{"count":3,"instance-id":"i-0abc","state":"RUNNING","tags":["a","b"]}"#)
    );
    assert_eq!(
        select("$.detail.state", &event),
        Ok(Some(r#""RUNNING""#.to_owned()))
    );
    assert_eq!(select("$.detail.count", &event), Ok(Some("3".to_owned())));
    assert_eq!(
        select("$.detail.tags", &event),
        Ok(Some(r#"["a","b"]"#.to_owned()))
    );
    assert_eq!(select("$.detail.nothing", &event), Ok(None));
    let refused = select("detail", &event).map_or_else(|e| e.to_string(), |_| String::new());
    assert!(refused.starts_with("InputPath: `detail`"), "{refused}");
}
