//! `gangway` as a user runs it, as a child process: an environment with explicit keys and a
//! HOME of its own, never the developer's ~/.aws.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::process::Command;

use super::aws_clients::ADMIN;
use super::emulator::GANGWAY;

/// A fresh directory under the target dir (HOME for the child: no ~/.aws there).
pub fn temp_home() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("connect-home-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The AWS environment of every child: explicit keys, no config files.
pub fn aws_env(endpoint: &str, access_key: &str) -> Vec<(String, String)> {
    let home = temp_home();
    [
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_ACCESS_KEY_ID", access_key),
        ("AWS_SECRET_ACCESS_KEY", "gangway"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("HOME", home.to_str().unwrap()),
        ("XDG_STATE_HOME", home.join("state").to_str().unwrap()),
        ("TERM", "xterm-256color"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `gangway list --output json` as the admin: the fleet as JSON values.
pub async fn fleet(endpoint: &str) -> Vec<serde_json::Value> {
    let out = Command::new(GANGWAY)
        .args(["list", "--output", "json"])
        .envs(aws_env(endpoint, ADMIN))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first running, online instance.
pub async fn online_instance(endpoint: &str) -> serde_json::Value {
    fleet(endpoint)
        .await
        .into_iter()
        .find(|i| i["state"] == "Running" || i["state"] == "running")
        .filter(|i| i["ping_status"] == "Online")
        .expect("an online instance")
}
