//! `gangway emulator` as a child process, as scripts and the AWS CLI meet it. Include with
//! `#[path = "support/emulator_process.rs"] mod emulator_process;`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct SpawnedEmulator {
    child: Child,
    /// `http://127.0.0.1:PORT`, read from the first stdout line.
    pub endpoint: String,
}

impl Drop for SpawnedEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn gangway() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gangway"));
    command
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE");
    command
}

/// Starts `gangway emulator ARGS` and waits for its `endpoint=` line.
pub fn spawn(args: &[&str]) -> SpawnedEmulator {
    spawn_with_stderr(args, Stdio::null())
}

/// The same, with the request log (stderr) going where the caller wants it.
pub fn spawn_with_stderr(args: &[&str], stderr: impl Into<Stdio>) -> SpawnedEmulator {
    let mut child = gangway()
        .arg("emulator")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("gangway binary runs");
    let stdout = child.stdout.take().unwrap();
    let mut first_line = String::new();
    BufReader::new(stdout).read_line(&mut first_line).unwrap();
    let endpoint = first_line
        .trim_end()
        .strip_prefix("endpoint=")
        .unwrap_or_else(|| panic!("first line should be endpoint=…, got {first_line:?}"))
        .to_owned();
    SpawnedEmulator { child, endpoint }
}
