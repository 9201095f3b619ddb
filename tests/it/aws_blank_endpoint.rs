//! An endpoint variable set but empty (`export AWS_ENDPOINT_URL=`, a CI template with the
//! value left out): the AWS CLI takes it as unset, and so must gangway, for every command;
//! aws-config passed the empty URL to the SDK's endpoint resolver, which panicked.

use std::process::{Output, Stdio};

use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::cli::{aws_env, temp_home};
use crate::support::emulator::{GANGWAY, spawn};
use gangway::commands::exit;

/// `gangway ARGS` as the admin with the usual environment, `vars` set over it.
async fn run(endpoint: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
    tokio::time::timeout(
        PATIENCE,
        Command::new(GANGWAY)
            .args(args)
            .envs(aws_env(endpoint, ADMIN))
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("gangway hung")
    .unwrap()
}

/// `gangway list --output json` succeeded and listed the emulator's two instances.
fn listed_two(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    let fleet: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fleet.len(), 2, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_global_variable_yields_to_the_endpoint_flag() {
    let emulator = spawn(&["--instances", "2"]);
    let args = [
        "list",
        "--output",
        "json",
        "--endpoint-url",
        &emulator.endpoint,
    ];
    let out = run(&emulator.endpoint, &args, &[("AWS_ENDPOINT_URL", "")]).await;
    listed_two(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_global_variable_yields_to_the_service_variables() {
    let emulator = spawn(&["--instances", "2"]);
    let url = emulator.endpoint.as_str();
    let vars = [
        ("AWS_ENDPOINT_URL", ""),
        ("AWS_ENDPOINT_URL_EC2", url),
        ("AWS_ENDPOINT_URL_SSM", url),
        ("AWS_ENDPOINT_URL_STS", url),
    ];
    let out = run(url, &["list", "--output", "json"], &vars).await;
    listed_two(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_service_variable_yields_to_the_global_one() {
    let emulator = spawn(&["--instances", "2"]);
    // AWS_ENDPOINT_URL is the emulator (aws_env sets it).
    let vars = [("AWS_ENDPOINT_URL_SSM", ""), ("AWS_ENDPOINT_URL_EC2", "")];
    let out = run(&emulator.endpoint, &["list", "--output", "json"], &vars).await;
    listed_two(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_with_an_empty_global_variable_uses_the_profile_endpoint() {
    let emulator = spawn(&["--instances", "2"]);
    // As the AWS CLI does: the empty variable is skipped and the profile's `endpoint_url`
    // is the next source.
    let config = temp_home().join("config");
    std::fs::write(
        &config,
        format!("[default]\nendpoint_url = {}\n", emulator.endpoint),
    )
    .unwrap();
    let vars = [
        ("AWS_ENDPOINT_URL", ""),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ];
    let out = run(
        &emulator.endpoint,
        &["forward", "no-such-host", "80"],
        &vars,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The target was looked up in the emulator's fleet and not found: a usage error, where
    // the SDK's panic used to end the process with status 101.
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{stderr}");
    assert!(stderr.contains("no-such-host"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = run(&emulator.endpoint, &["list", "--output", "json"], &vars).await;
    listed_two(&out);
}
