//! The default credential chain through named profiles, as users configure them: an SSO
//! profile without a login, `credential_process` that works and one that fails. The config
//! file and HOME are temporary files of this test, never the developer's ~/.aws.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::emulator::{GANGWAY, spawn};

const CONFIG: &str = r#"
[profile dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Engineer
region = us-east-1

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1

[profile proc]
region = us-east-1
credential_process = printf '{"Version":1,"AccessKeyId":"AKIAGANGWAYADMIN","SecretAccessKey":"gangway"}'

[profile broken]
region = us-east-1
credential_process = sh -c 'echo helper failed >&2; exit 3'
"#;

/// One directory per profile: tests run in parallel and must not rewrite each other's files.
fn sandbox(profile: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("profiles-{profile}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::write(dir.join("config"), CONFIG).unwrap();
    dir
}

fn list_with_profile(profile: &str, endpoint: &str) -> Output {
    let dir = sandbox(profile);
    Command::new(GANGWAY)
        .args(["--profile", profile, "list", "--output", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .unwrap()
}

#[test]
fn credential_process_profiles_work_and_their_failures_are_explained() {
    let emulator = spawn(&[]);
    let ok = list_with_profile("proc", &emulator.endpoint);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(rows.len(), 12);

    let broken = list_with_profile("broken", &emulator.endpoint);
    let stderr = String::from_utf8(broken.stderr).unwrap();
    assert_eq!(broken.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("helper failed") && stderr.contains("profile `broken`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_sso_profile_without_a_login_says_how_to_log_in() {
    let emulator = spawn(&[]);
    let out = list_with_profile("dev", &emulator.endpoint);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("run `aws sso login --profile dev`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_profile_is_named_with_the_files_looked_in() {
    let emulator = spawn(&[]);
    let out = list_with_profile("nosuch", &emulator.endpoint);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let config = sandbox("nosuch").join("config");
    assert!(
        stderr.contains(&format!(
            "the profile `nosuch` does not exist in {} or /dev/null",
            config.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("~/.aws"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn missing_credentials_name_the_files_actually_used() {
    let emulator = spawn(&[]);
    let dir = sandbox("nocreds");
    let out = Command::new(GANGWAY)
        .args(["list", "--region", "us-east-1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", &emulator.endpoint)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no profile `default`") && stderr.contains("AWS_ACCESS_KEY_ID"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("~/.aws") && !stderr.contains("IMDS"),
        "{stderr}"
    );
}
