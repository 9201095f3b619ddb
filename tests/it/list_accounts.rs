//! `gangway list` across accounts (issue 13): `--profile a,b` and the config's
//! `[[accounts]]` (a role assumed from a base profile), against a spawned emulator serving
//! two accounts in two regions. The profiles live in temporary AWS files of this test
//! (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE), never ~/.aws.

use crate::support::accounts::{ACCOUNT_A, ACCOUNT_B, LOCKED_ROLE, OPS_ROLE, Sandbox};

fn names_by_account(rows: &[serde_json::Value]) -> Vec<(String, String, String)> {
    let mut found: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap_or("-").to_owned(),
                r["region"].as_str().unwrap().to_owned(),
                r["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn triple(account: &str, region: &str, name: &str) -> (String, String, String) {
    (account.into(), region.into(), name.into())
}

#[test]
fn several_profiles_list_every_account_and_region() {
    let sandbox = Sandbox::new("profiles");
    let emulator = sandbox.emulator();
    let out = sandbox.gangway(
        &emulator.endpoint,
        &[
            "--profile",
            "main,other",
            "--region",
            "us-east-1,eu-west-1",
            "list",
            "--output",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        names_by_account(&rows),
        [
            triple("main", "eu-west-1", "a-everywhere"),
            triple("main", "eu-west-1", "a-west-web"),
            triple("main", "us-east-1", "a-east-web"),
            triple("main", "us-east-1", "a-everywhere"),
            triple("other", "eu-west-1", "b-west-cache"),
            triple("other", "us-east-1", "b-east-db"),
        ]
    );
    let ids = |account: &str| {
        rows.iter()
            .filter(|r| r["account"] == account)
            .map(|r| r["account_id"].as_str().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(ids("main").into_iter().collect::<Vec<_>>(), [ACCOUNT_A]);
    assert_eq!(ids("other").into_iter().collect::<Vec<_>>(), [ACCOUNT_B]);
    // The table has the ACCOUNT column first, then REGION.
    let out = sandbox.gangway(
        &emulator.endpoint,
        &[
            "--profile",
            "main,other",
            "--region",
            "us-east-1,eu-west-1",
            "list",
        ],
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("ACCOUNT  REGION"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("other    us-east-1  b-east-db")),
        "{table}"
    );
}

#[test]
fn a_role_that_cannot_be_assumed_is_named_and_the_other_accounts_still_list() {
    let sandbox = Sandbox::new("locked");
    let emulator = sandbox.emulator();
    // Role profiles that aws-config assumes: ops works, locked is refused.
    let out = sandbox.gangway(
        &emulator.endpoint,
        &["--profile", "ops,locked", "list", "--output", "json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a failing account fails the command");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        names_by_account(&rows),
        [triple("ops", "eu-west-1", "b-west-cache")]
    );
    assert!(stderr.contains("locked/us-east-1: "), "{stderr}");
    assert!(
        stderr.contains("not authorized to perform: sts:AssumeRole"),
        "{stderr}"
    );
    // The same from the config file's [[accounts]], roles assumed by gangway itself.
    let config = sandbox.dir.join("gangway.toml");
    std::fs::write(
        &config,
        format!(
            "[[accounts]]\nname = \"prod-ops\"\nrole_arn = \"{OPS_ROLE}\"\nsource_profile = \"main\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n\
             [[accounts]]\nname = \"vault\"\nrole_arn = \"{LOCKED_ROLE}\"\nsource_profile = \"main\"\nregions = [\"us-east-1\"]\n\n\
             [[accounts]]\nprofile = \"main\"\nregions = [\"us-east-1\"]\n"
        ),
    )
    .unwrap();
    let out = sandbox.gangway(
        &emulator.endpoint,
        &[
            "list",
            "--config",
            config.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        names_by_account(&rows),
        [
            triple("main", "us-east-1", "a-east-web"),
            triple("main", "us-east-1", "a-everywhere"),
            triple("prod-ops", "eu-west-1", "b-west-cache"),
            triple("prod-ops", "us-east-1", "b-east-db"),
        ],
        "{stderr}"
    );
    assert!(stderr.contains("vault/us-east-1: "), "{stderr}");
    assert!(
        stderr.contains("AccessDenied") || stderr.contains("not authorized"),
        "{stderr}"
    );
}

/// `--profile main,nope` where `nope` is in no AWS file: that account cannot build its
/// clients, which is one line naming it and why, and main's rows are still listed.
#[test]
fn a_profile_that_does_not_exist_is_one_line_and_the_other_account_still_lists() {
    let sandbox = Sandbox::new("missing");
    let emulator = sandbox.emulator();
    let out = sandbox.gangway(
        &emulator.endpoint,
        &["--profile", "main,nope", "list", "--output", "json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a failing account fails the command");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        names_by_account(&rows),
        [
            triple("main", "us-east-1", "a-east-web"),
            triple("main", "us-east-1", "a-everywhere"),
        ]
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("gangway list: nope: "), "{stderr}");
    assert!(lines[0].contains("`nope` does not exist"), "{stderr}");
}
