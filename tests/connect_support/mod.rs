//! Running `gangway emulator` and `gangway connect` as real processes: the emulator on
//! 127.0.0.1:0, `connect` inside a real pseudo-terminal (pty-process) or with pipes, with
//! an environment that never reads the developer's ~/.aws.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::termios::{self, Termios};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub const GANGWAY: &str = env!("CARGO_BIN_EXE_gangway");
/// A generous bound for "eventually": a deadline against hangs, never a speed assertion.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Emulator {
    pub endpoint: String,
    child: Child,
}

impl Emulator {
    /// `gangway emulator --listen 127.0.0.1:0 ARGS…`; waits for its `endpoint=` line.
    pub async fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(GANGWAY)
            .arg("emulator")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("GANGWAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("emulator printed nothing")
            .unwrap()
            .expect("emulator exited");
        let endpoint = first
            .strip_prefix("endpoint=")
            .expect("endpoint= line")
            .to_owned();
        // Keep draining stdout so the emulator never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { endpoint, child }
    }
}

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

pub const ADMIN: &str = "AKIAGANGWAYADMIN";
pub const DEV: &str = "AKIAGANGWAYDEV";

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

/// `gangway connect` inside a real pseudo-terminal.
pub struct PtyConnect {
    pub pty: pty_process::Pty,
    pub pts: pty_process::Pts,
    pub child: Child,
    pub output: Vec<u8>,
}

impl PtyConnect {
    pub async fn spawn(
        endpoint: &str,
        access_key: &str,
        args: &[&str],
        rows: u16,
        cols: u16,
    ) -> Self {
        let (pty, pts) = pty_process::open().unwrap();
        pty.resize(pty_process::Size::new(rows, cols)).unwrap();
        let mut command = pty_process::Command::new(GANGWAY)
            .arg("connect")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(aws_env(endpoint, access_key))
            .kill_on_drop(true);
        let child = command.spawn_borrowed(&pts).unwrap();
        Self {
            pty,
            pts,
            child,
            output: Vec::new(),
        }
    }

    pub fn termios(&self) -> Termios {
        termios::tcgetattr(&self.pts).unwrap()
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.pty.write_all(bytes).await.unwrap();
        self.pty.flush().await.unwrap();
    }

    /// Reads until `needle` appears after `from` in the output; returns its end offset.
    pub async fn expect_from(&mut self, from: usize, needle: &str) -> usize {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(at) = find(
                &self.output[from.min(self.output.len())..],
                needle.as_bytes(),
            ) {
                return from + at + needle.len();
            }
            let mut buf = [0u8; 8192];
            let read = tokio::time::timeout_at(deadline, self.pty.read(&mut buf)).await;
            match read {
                Ok(Ok(n)) if n > 0 => self.output.extend_from_slice(&buf[..n]),
                Ok(_) => panic!(
                    "pty closed before {needle:?}; output: {}",
                    String::from_utf8_lossy(&self.output)
                ),
                Err(_) => panic!(
                    "timed out waiting for {needle:?}; output: {}",
                    String::from_utf8_lossy(&self.output)
                ),
            }
        }
    }

    pub async fn expect(&mut self, needle: &str) -> usize {
        let from = self.output.len();
        self.expect_from(from, needle).await
    }

    /// Reads everything until the child exits; returns its exit status code.
    pub async fn finish(&mut self) -> i32 {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let status = tokio::time::timeout_at(deadline, self.child.wait())
            .await
            .expect("gangway did not exit")
            .unwrap();
        // Collect what is left in the pty without blocking forever.
        let mut buf = [0u8; 8192];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), self.pty.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            self.output.extend_from_slice(&buf[..n]);
        }
        status.code().unwrap_or(-1)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The parts of the terminal modes a raw-mode leak would change.
pub fn modes(t: &Termios) -> (u64, u64, u64, u64, Vec<u8>) {
    (
        u64::from(t.input_flags.bits()),
        u64::from(t.output_flags.bits()),
        u64::from(t.control_flags.bits()),
        u64::from(t.local_flags.bits()),
        t.control_chars.to_vec(),
    )
}
