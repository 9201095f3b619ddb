//! The AWS CLI from PyPI (`pip install awscli`), installed into a venv under the target dir
//! on first use and reused afterwards, run against an emulator with explicit credentials.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Both tests may race to install; one installs, the other waits.
static INSTALL: Mutex<()> = Mutex::new(());

fn aws_cli() -> PathBuf {
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("awscli-venv");
    let aws = venv.join("bin/aws");
    if aws.exists() {
        return aws;
    }
    let created = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .unwrap();
    assert!(created.success(), "python3 -m venv failed");
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "awscli"])
        .status()
        .unwrap();
    assert!(installed.success(), "pip install awscli failed");
    aws
}

/// Runs `aws --endpoint-url … ARGS --output json` as the given identity, isolated from any
/// AWS configuration on the machine.
pub fn aws_json(endpoint: &str, access_key_id: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(aws_cli())
        .arg("--endpoint-url")
        .arg(endpoint)
        .args(args)
        .args(["--output", "json"])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ACCESS_KEY_ID", access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", "gangway")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "aws {args:?} failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}
