//! The `gangway emulator` a bench measures against, as a child process on loopback, and the
//! environment that points a `gangway` client at it. Benches are crates of their own: each
//! that needs this includes the file with `#[path]`.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const GANGWAY: &str = env!("CARGO_BIN_EXE_gangway");

/// `gangway emulator --listen 127.0.0.1:0 ARGS` with its log at `warn`, and the endpoint
/// from its first stdout line (the child picks its port and says which). The rest of its
/// stdout is read and dropped, so it never blocks on a full pipe; killed when dropped.
pub async fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(GANGWAY)
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("GANGWAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("endpoint line");
    let endpoint = first.strip_prefix("endpoint=").unwrap().to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, endpoint)
}

/// The environment of a `gangway` child that signs in to the emulator at `endpoint` as its
/// administrator, with no AWS files (never the developer's ~/.aws).
pub fn aws_env(endpoint: &str) -> [(&'static str, String); 6] {
    [
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_ACCESS_KEY_ID", "AKIAGANGWAYADMIN".into()),
        ("AWS_SECRET_ACCESS_KEY", "gangway".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
    ]
}
