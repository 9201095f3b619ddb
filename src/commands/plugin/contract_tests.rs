//! The argument and environment shapes the AWS CLI produces, and the bad ones.

#![allow(clippy::unwrap_used)]

use std::ffi::OsString;

use super::contract::*;

const RESPONSE: &str = r#"{"SessionId": "dev-0123456789abcdef0", "TokenValue": "AAEAAsecret-token", "StreamUrl": "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/dev-0123456789abcdef0?role=publish_subscribe"}"#;
const PARAMETERS: &str = r#"{"Target": "i-0123456789abcdef0", "DocumentName": "AWS-StartPortForwardingSession", "Parameters": {"portNumber": ["80"], "localPortNumber": ["0"]}}"#;

fn args(words: &[&str]) -> Vec<OsString> {
    std::iter::once("session-manager-plugin")
        .chain(words.iter().copied())
        .map(OsString::from)
        .collect()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn started(call: Result<PluginCall, ContractError>) -> PluginStart {
    match call {
        Ok(PluginCall::Start(start)) => *start,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_seven_argument_form_of_the_cli() {
    let call = parse(
        &args(&[
            RESPONSE,
            "us-east-1",
            "StartSession",
            "",
            PARAMETERS,
            "https://ssm.us-east-1.amazonaws.com",
        ]),
        no_env,
    );
    let start = started(call);
    assert_eq!(start.session_id, "dev-0123456789abcdef0");
    assert_eq!(start.token.expose(), "AAEAAsecret-token");
    assert!(start.stream_url.expose().starts_with("wss://"));
    assert_eq!(start.region.as_deref(), Some("us-east-1"));
    assert_eq!(start.profile, None, "an empty profile means none");
    assert_eq!(
        start.ssm_endpoint.as_deref(),
        Some("https://ssm.us-east-1.amazonaws.com")
    );
    let request = start.request.unwrap();
    assert_eq!(request.target, "i-0123456789abcdef0");
    assert_eq!(
        request.document_name.as_deref(),
        Some("AWS-StartPortForwardingSession")
    );
    assert_eq!(request.parameters["portNumber"], ["80"]);
    assert_eq!(request.parameters["localPortNumber"], ["0"]);
    assert_eq!(request.reason, None);
}

#[test]
fn the_response_comes_from_the_variable_the_first_argument_names() {
    let env = |name: &str| (name == RESPONSE_ENV_VAR).then(|| RESPONSE.to_owned());
    let call = parse(
        &args(&[
            RESPONSE_ENV_VAR,
            "eu-west-1",
            "StartSession",
            "dev",
            r#"{"Target": "i-0123456789abcdef0"}"#,
            "http://127.0.0.1:4566",
        ]),
        env,
    );
    let start = started(call);
    assert_eq!(start.session_id, "dev-0123456789abcdef0");
    assert_eq!(start.profile.as_deref(), Some("dev"));
    assert_eq!(start.request.unwrap().document_name, None);

    // Any name with that prefix is a variable name, as in the plugin.
    let env = |name: &str| (name == "AWS_SSM_START_SESSION_RESPONSE_2").then(|| RESPONSE.into());
    let call = parse(
        &args(&[
            "AWS_SSM_START_SESSION_RESPONSE_2",
            "eu-west-1",
            "StartSession",
        ]),
        env,
    );
    assert_eq!(started(call).session_id, "dev-0123456789abcdef0");
}

#[test]
fn a_variable_that_is_not_set_is_an_error_that_names_no_secret() {
    let error = parse(
        &args(&[
            RESPONSE_ENV_VAR,
            "us-east-1",
            "StartSession",
            "",
            PARAMETERS,
        ]),
        no_env,
    )
    .unwrap_err();
    assert!(matches!(error, ContractError::Response(_)));
    assert!(
        error
            .to_string()
            .starts_with("Cannot perform start session: ")
    );
}

#[test]
fn the_legacy_four_argument_form_has_no_profile_parameters_or_endpoint() {
    let start = started(parse(
        &args(&[RESPONSE, "us-east-1", "StartSession"]),
        no_env,
    ));
    assert_eq!(start.region.as_deref(), Some("us-east-1"));
    assert_eq!(start.profile, None);
    assert_eq!(start.request, None);
    assert_eq!(start.ssm_endpoint, None);
}

#[test]
fn version_installed_and_unknown_calls() {
    assert_eq!(parse(&args(&[]), no_env), Ok(PluginCall::Installed));
    assert_eq!(
        parse(&args(&["--version"]), no_env),
        Ok(PluginCall::Version)
    );
    assert_eq!(
        parse(&args(&["--help"]), no_env),
        Ok(PluginCall::Unknown("--help".into()))
    );
    assert_eq!(
        parse(&args(&["a", "b"]), no_env),
        Ok(PluginCall::Unknown("a".into()))
    );
    assert!(unknown_operation_message("--help").contains("Unknown operation --help."));
    // `--version` with more after it is not the version query.
    assert_eq!(
        parse(&args(&["--version", "x"]), no_env),
        Ok(PluginCall::Unknown("--version".into()))
    );
}

#[test]
fn another_operation_is_refused_with_the_reference_wording() {
    let error = parse(&args(&[RESPONSE, "us-east-1", "ResumeSession"]), no_env).unwrap_err();
    assert_eq!(error, ContractError::InvalidOperation);
    assert_eq!(error.to_string(), "Invalid Operation");
}

#[test]
fn bad_responses_are_errors_and_never_echo_the_token() {
    let cases = [
        "",
        "not json",
        r#"{"SessionId": "s"}"#,
        r#"{"SessionId": "s", "StreamUrl": "wss://x", "TokenValue": ""}"#,
        r#"{"SessionId": 5, "StreamUrl": "wss://x", "TokenValue": "AAEAAsecret-token"}"#,
        r#""AAEAAsecret-token""#,
        r#"["AAEAAsecret-token"]"#,
        r#"{"SessionId": "s", "StreamUrl": "wss://x", "TokenValue": "AAEAAsecret-token""#,
    ];
    for case in cases {
        let error = parse(&args(&[case, "us-east-1", "StartSession"]), no_env).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, ContractError::Response(_)),
            "{case}: {text}"
        );
        assert!(!text.contains("secret-token"), "{case}: {text}");
        assert!(!format!("{error:?}").contains("secret-token"), "{case}");
    }
}

#[test]
fn bad_parameters_are_errors_not_panics() {
    for case in [
        "",
        "{",
        "[]",
        r#"{"DocumentName": "AWS-StartSSHSession"}"#,
        r#"{"Target": ""}"#,
        r#"{"Target": 5}"#,
        r#"{"Target": "i-1", "Parameters": {"portNumber": "80"}}"#,
    ] {
        let error = parse(
            &args(&[RESPONSE, "us-east-1", "StartSession", "", case]),
            no_env,
        )
        .unwrap_err();
        assert!(matches!(error, ContractError::Parameters(_)), "{case}");
    }
}

#[test]
fn extra_arguments_are_ignored_like_the_reference_does() {
    let start = started(parse(
        &args(&[
            RESPONSE,
            "us-east-1",
            "StartSession",
            "",
            PARAMETERS,
            "",
            "extra",
        ]),
        no_env,
    ));
    assert_eq!(start.ssm_endpoint, None, "an empty endpoint means none");
}

#[test]
fn arguments_that_are_not_utf8_are_refused() {
    use std::os::unix::ffi::OsStringExt;
    let mut words = args(&["x", "us-east-1", "StartSession"]);
    words[2] = OsString::from_vec(vec![0xff, 0xfe]);
    assert_eq!(parse(&words, no_env), Err(ContractError::NotUtf8(2)));
}

#[test]
fn the_cli_version_rule() {
    assert!(!cli_uses_env_hand_off("1.2.497.0"));
    assert!(cli_uses_env_hand_off("1.2.497.1"));
    assert!(cli_uses_env_hand_off(" 1.2.677.0\n"));
    assert!(cli_uses_env_hand_off("2"));
    assert!(!cli_uses_env_hand_off("1.2"));
    assert!(!cli_uses_env_hand_off("1.2.3.4.5"));
    assert!(!cli_uses_env_hand_off("v1.3"));
    assert!(!cli_uses_env_hand_off(""));
    assert!(!cli_uses_env_hand_off("1..3"));
    // What gangway prints for --version makes the CLI use the environment (no token in
    // the process list).
    assert!(cli_uses_env_hand_off(PLUGIN_VERSION));
}
