//! `gangway` as a user runs it, as a child process: an environment with explicit keys and a
//! HOME of its own, never the developer's ~/.aws.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::process::{Output, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::PATIENCE;
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

/// A child's process id as nix takes it.
pub fn pid_of(child: &tokio::process::Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap())
}

/// Sends `signal` to a child, as the user's terminal or `kill` would.
pub fn send_signal(child: &tokio::process::Child, signal: Signal) {
    kill(pid_of(child), signal).unwrap();
}

/// `gangway ARGS` (no AWS files, no profile) run to its end.
pub fn run_gangway(args: &[&str]) -> Output {
    super::emulator::gangway().args(args).output().unwrap()
}

/// A child's stdout as text, invalid UTF-8 replaced.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A child's stderr as text, invalid UTF-8 replaced.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `text` in a file called `name`, in a fresh directory of its own (tests run in parallel).
pub fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = temp_home().join(name);
    std::fs::write(&path, text).unwrap();
    path
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

/// Bytes a pipe-mode round trip sends: deterministic, covering all 256 values (raw mode passes
/// them unchanged).
pub fn pipe_payload(size: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// `gangway connect` in pipe mode as the admin: `size` bytes up through `head -c` in a raw pty
/// on `instance` and back down. Asserts exit 0 and a byte-exact, SHA-256-equal echo between
/// `READY` and `END`; returns gangway's stderr for the caller's own checks.
///
/// The bytes are [`pipe_payload`] as the agent's output scan passes them (protocol.md §5.3;
/// agent: shell.go, func processStdoutData): every valid U+FFFD (EF BF BD), which the agent
/// would cut to its first byte, has its last byte changed; and `END` follows the data, so
/// that undecodable bytes the agent holds back at the end of a read go out with it instead
/// of being lost when the output ends. The input direction is byte for byte.
pub async fn pipe_round_trip(endpoint: &str, instance: &str, size: usize) -> String {
    let command = format!("command=stty raw -echo; printf READY; head -c {size}; printf END");
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .args(["connect", instance])
            .args([
                "--document",
                "AWS-StartInteractiveCommand",
                "--parameter",
                &command,
            ])
            .envs(aws_env(endpoint, ADMIN)),
    );
    let mut data = pipe_payload(size);
    for at in 0..data.len().saturating_sub(2) {
        if data[at..at + 3] == *b"\xEF\xBF\xBD" {
            data[at + 2] = 0xBC;
        }
    }
    let expected = Sha256::digest(&data);
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        stdin.write_all(&data).await.unwrap();
        // stdin closes here: gangway sends EOT after the data.
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = tokio::spawn(async move {
        let mut out = Vec::with_capacity(size + 16);
        stdout.read_to_end(&mut out).await.unwrap();
        out
    });
    let (status, stderr) = exited(&mut child, PATIENCE * 5, "hung").await;
    writer.await.unwrap();
    let out = reader.await.unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    let tail = String::from_utf8_lossy(&out[out.len().saturating_sub(40)..]).into_owned();
    let what = format!("{} bytes out, ending {tail:?}; stderr: {stderr}", out.len());
    let body = out
        .strip_prefix(b"READY")
        .unwrap_or_else(|| panic!("READY first: {what}"));
    let body = body
        .strip_suffix(b"END")
        .unwrap_or_else(|| panic!("END last: {what}"));
    assert_eq!(body.len(), size, "stderr: {stderr}");
    assert_eq!(Sha256::digest(body), expected);
    stderr
}

/// Spawns `command` with stdin, stdout and stderr piped, killed if the test drops it.
pub fn spawn_piped(command: &mut Command) -> tokio::process::Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit, within `patience` (else fails saying `hung`), and reads all it
/// wrote on stderr, for the caller's assertions.
pub async fn exited(
    child: &mut tokio::process::Child,
    patience: std::time::Duration,
    hung: &str,
) -> (std::process::ExitStatus, String) {
    let status = tokio::time::timeout(patience, child.wait())
        .await
        .expect(hung)
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    (status, stderr)
}

/// A HOME of the test's own with its XDG directories, for the files gangway keeps on the
/// machine (config, recordings, activity files).
pub struct TestHome {
    pub root: PathBuf,
}

impl TestHome {
    pub fn new() -> Self {
        Self { root: temp_home() }
    }

    /// HOME, XDG_STATE_HOME and XDG_CONFIG_HOME, to set over [`aws_env`].
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("HOME", self.root.clone()),
            ("XDG_STATE_HOME", self.root.join("state")),
            ("XDG_CONFIG_HOME", self.root.join("config")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
    }

    /// Where recordings go by default.
    pub fn recordings(&self) -> PathBuf {
        self.root.join("state/gangway/recordings")
    }

    /// Where activity files go.
    pub fn sessions(&self) -> PathBuf {
        self.root.join("state/gangway/sessions")
    }

    /// Files in `dir` whose name ends with `suffix` (none if `dir` does not exist).
    pub fn files(dir: &std::path::Path, suffix: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_str().unwrap().ends_with(suffix))
            .collect();
        found.sort();
        found
    }

    /// `gangway connect TARGET` as the admin user, in a 24x80 pseudo-terminal, with this
    /// HOME.
    pub fn connect(&self, endpoint: &str, target: &str) -> super::pty::PtyConnect {
        super::pty::PtyConnect::spawn_command(
            endpoint,
            super::aws_clients::ADMIN,
            "connect",
            &[target],
            &self.env(),
            (24, 80),
        )
    }

    /// Writes the default config file.
    pub fn write_config(&self, text: &str) {
        let dir = self.root.join("config/gangway");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
    }
}
