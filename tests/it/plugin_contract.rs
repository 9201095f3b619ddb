//! The `session-manager-plugin` contract at the process level: gangway under that name (a
//! symlink) answers `--version`, its bare name and bad calls as the reference does, with a
//! status instead of a panic, and never prints the token it was handed.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::cli::temp_home;
use crate::support::emulator::GANGWAY;

fn plugin() -> PathBuf {
    let link = temp_home().join("session-manager-plugin");
    std::os::unix::fs::symlink(GANGWAY, &link).unwrap();
    link
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(plugin())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("HOME", temp_home())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn version_and_bare_name_answer_like_the_reference() {
    let version = run(&["--version"], &[]);
    assert!(version.status.success());
    let printed = String::from_utf8(version.stdout).unwrap();
    assert_eq!(
        printed,
        format!("{}\n", gangway::commands::plugin::contract::PLUGIN_VERSION)
    );

    let bare = run(&[], &[]);
    assert!(bare.status.success());
    assert!(
        String::from_utf8_lossy(&bare.stdout)
            .contains("The Session Manager plugin was installed successfully.")
    );

    let unknown = run(&["--help"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown).contains("Unknown operation --help."));
}

#[test]
fn bad_calls_get_a_status_and_no_secret() {
    let response =
        r#"{"SessionId": "s-1", "StreamUrl": "wss://x/secret-url", "TokenValue": "secret-token"}"#;
    let wrong_operation = run(&[response, "us-east-1", "ResumeSession"], &[]);
    assert_eq!(wrong_operation.status.code(), Some(2));
    assert!(text(&wrong_operation).contains("Invalid Operation"));

    // The variable the CLI names is not set: an error, not a crash.
    let unset = run(
        &[
            "AWS_SSM_START_SESSION_RESPONSE",
            "us-east-1",
            "StartSession",
            "",
            r#"{"Target": "i-0123456789abcdef0"}"#,
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(unset.status.code(), Some(2));
    assert!(text(&unset).starts_with("Cannot perform start session: "));

    // A response with a field of the wrong type, the token in it: not echoed.
    let broken =
        r#"{"SessionId": 1, "StreamUrl": "wss://x/secret-url", "TokenValue": "secret-token"}"#;
    let bad = run(
        &[
            "AWS_SSM_START_SESSION_RESPONSE",
            "us-east-1",
            "StartSession",
        ],
        &[("AWS_SSM_START_SESSION_RESPONSE", broken)],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(!text(&bad).contains("secret"), "{}", text(&bad));

    // Parameters without a Target (the reference crashes here).
    let no_target = run(&[response, "us-east-1", "StartSession", "", "{}", ""], &[]);
    assert_eq!(no_target.status.code(), Some(2));
    assert!(text(&no_target).contains("Target"));
    assert!(!text(&no_target).contains("secret"));
}
