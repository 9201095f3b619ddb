//! `gangway list` as a user runs it: the binary, the default credential chain fed by the
//! environment only, against a spawned `gangway emulator`.

use std::collections::HashSet;
use std::process::{Command, Output};

use crate::support::emulator::{GANGWAY, spawn};
use crate::support::unreachable_endpoint;

/// Runs `gangway` with an environment that holds nothing but what the test gives it.
fn gangway(args: &[&str], access_key: &str, endpoint: &str) -> Output {
    Command::new(GANGWAY)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", "gangway")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .unwrap()
}

#[test]
fn json_lists_every_instance_of_a_5000_instance_fleet() {
    let emulator = spawn(&["--instances", "5000"]);
    let out = gangway(
        &["list", "--output", "json"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 5000);
    let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5000, "no duplicates");
    for row in &rows {
        for field in ["id", "name", "state", "ping_status", "platform", "region"] {
            assert!(row[field].is_string(), "{field} in {row}");
        }
        assert!(row["tags"]["Env"].is_string(), "{row}");
        if row["ping_status"] != "NotManaged" {
            assert!(row["agent_version"].is_string(), "{row}");
        }
    }
    let online = rows.iter().filter(|r| r["ping_status"] == "Online").count();
    assert!(
        online > 4000 && online < 5000,
        "about 9 in 10 online: {online}"
    );
}

#[test]
fn table_and_tag_filters_for_the_demo_fleet() {
    let emulator = spawn(&[]);
    let out = gangway(
        &["list", "--tag", "Env=dev"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("worker-1") && table.contains("결제-api-1"),
        "{table}"
    );
    assert!(!table.contains("web-1"), "Env=prod filtered out:\n{table}");
    // Nothing from a tag can drive the terminal.
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "{table:?}"
    );
}

#[test]
fn errors_are_one_line_with_a_distinct_status() {
    let emulator = spawn(&[]);
    let out = gangway(&["list"], "AKIANOSUCHKEY00000", &emulator.endpoint);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(out.stdout.is_empty(), "no empty table on failure");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("credentials") && stderr.contains("AWS_PROFILE"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("gangway\n") && !stderr.contains("AKIANOSUCHKEY00000/"),
        "{stderr}"
    );

    let dead = unreachable_endpoint();
    let out = gangway(&["list"], "AKIAGANGWAYADMIN", &dead);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach AWS at {dead}")),
        "{stderr}"
    );

    // No credentials anywhere in the chain.
    let out = Command::new(GANGWAY)
        .args([
            "list",
            "--endpoint-url",
            &emulator.endpoint,
            "--region",
            "us-east-1",
        ])
        .env_clear()
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.starts_with("gangway list: no usable AWS credentials"),
        "{stderr}"
    );

    let out = gangway(
        &["list", "--tag", "novalue"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn several_regions_are_merged_with_a_region_column() {
    let emulator = spawn(&[]);
    let args = [
        "list",
        "--region",
        "us-east-1,eu-west-1",
        "--output",
        "json",
    ];
    let out = gangway(&args, "AKIAGANGWAYADMIN", &emulator.endpoint);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let in_region = |r: &str| rows.iter().filter(|row| row["region"] == r).count();
    assert_eq!((in_region("us-east-1"), in_region("eu-west-1")), (12, 12));

    let out = gangway(
        &["list", "--region", "us-east-1,eu-west-1"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("REGION"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("eu-west-1")), "{table}");
}

#[test]
fn the_config_files_scope_tags_narrow_the_list_and_a_missing_one_is_an_error() {
    let emulator = spawn(&[]);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("list-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, "[fleet]\ntags = { Env = \"dev\" }\n").unwrap();
    let config = config.to_str().unwrap();
    let rows = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = gangway(args, "AKIAGANGWAYADMIN", &emulator.endpoint);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = rows(&["list", "--output", "json"]);
    // Before the subcommand or after it, the config file applies (issue 16, bug 9).
    for args in [
        &["list", "--output", "json", "--config", config][..],
        &["--config", config, "list", "--output", "json"],
    ] {
        let scoped = rows(args);
        assert!(!scoped.is_empty() && scoped.len() < all.len(), "{args:?}");
        // Hybrid nodes (mi-) included: their tags come from SSM (issue 16, bug 1).
        assert!(
            scoped
                .iter()
                .any(|i| i["id"].as_str().unwrap().starts_with("mi-"))
        );
        assert!(scoped.iter().all(|i| i["tags"]["Env"] == "dev"), "{args:?}");
    }
    let out = gangway(
        &["list", "--config", "/nonexistent/config.toml"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn options_a_subcommand_does_not_use_are_refused() {
    for args in [
        &["emulator", "--tag", "Env=dev"][..],
        &["--endpoint-url", "http://127.0.0.1:9", "emulator"],
        &["--readonly", "connect", "web-1"],
    ] {
        let out = gangway(args, "AKIAGANGWAYADMIN", "http://127.0.0.1:9");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    }
}

/// Issue 16, "what may I reach, at a glance": `--reachable` keeps only the instances a shell
/// can open on now, and JSON says for every instance whether it can and why not.
#[test]
fn reachable_narrows_the_list_and_json_says_why_not() {
    let emulator = spawn(&[]);
    let json = gangway(
        &["list", "--output", "json"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    assert!(json.status.success(), "{json:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    let by_name = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {rows:?}"))
    };
    assert_eq!(by_name("web-1")["reachable"], true);
    assert_eq!(
        by_name("web-1")["unreachable_because"],
        serde_json::json!([])
    );
    assert_eq!(by_name("worker-2")["reachable"], false);
    assert_eq!(
        by_name("worker-2")["unreachable_because"],
        serde_json::json!(["stopped"])
    );
    assert_eq!(
        by_name("cache-1")["unreachable_because"],
        serde_json::json!(["agent offline"])
    );
    let reachable = rows.iter().filter(|r| r["reachable"] == true).count();

    let table = gangway(
        &["list", "--reachable"],
        "AKIAGANGWAYADMIN",
        &emulator.endpoint,
    );
    assert!(table.status.success(), "{table:?}");
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(table.lines().count(), reachable + 1, "{table}");
    assert!(table.contains("web-1"), "{table}");
    assert!(!table.contains("worker-2"), "stopped:\n{table}");
    assert!(!table.contains("✗"), "{table}");
}
