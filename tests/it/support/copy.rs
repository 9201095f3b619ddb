//! `gangway cp` as a user runs it, against a spawned emulator whose instances are this
//! machine (so a remote path is a local path the test can check).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use sha2::{Digest, Sha256};

use super::PATIENCE;
use super::aws_clients::ADMIN;
use super::cli::{aws_env, online_instance, pipe_payload, temp_home};
use super::emulator::{GANGWAY, SpawnedEmulator, spawn};

/// A spawned emulator, the id of an online instance on it, and the environment for
/// `gangway` (one HOME and log directory for every run, so a rerun's log can be read).
pub struct CopyRig {
    /// Kept for its `Drop`, which stops the emulator.
    _emulator: SpawnedEmulator,
    pub instance: String,
    /// `http://127.0.0.1:PORT` of the emulator.
    pub endpoint: String,
    pub env: Vec<(String, String)>,
    /// A fresh directory for the test's files, local and "remote" alike.
    pub dir: PathBuf,
}

impl CopyRig {
    /// `gangway emulator ARGS --instances 1`.
    pub async fn start(args: &[&str]) -> Self {
        let mut all = vec!["--instances", "1"];
        all.extend_from_slice(args);
        let emulator = spawn(&all);
        let instance = online_instance(&emulator.endpoint).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let env = aws_env(&emulator.endpoint, ADMIN);
        Self {
            endpoint: emulator.endpoint.clone(),
            _emulator: emulator,
            instance,
            env,
            dir: temp_home(),
        }
    }

    /// `INSTANCE:PATH`.
    pub fn remote(&self, path: &Path) -> String {
        format!("{}:{}", self.instance, path.display())
    }

    /// A `gangway cp ARGS` child with stdio piped, not yet awaited.
    pub fn spawn_cp(&self, args: &[&str]) -> tokio::process::Child {
        tokio::process::Command::new(GANGWAY)
            .arg("cp")
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// `gangway cp ARGS` to the end (within `PATIENCE` × 5: 64 MiB at the agent's pace on a
    /// loaded machine).
    pub async fn cp(&self, args: &[&str]) -> Output {
        let child = self.spawn_cp(args);
        tokio::time::timeout(PATIENCE * 5, child.wait_with_output())
            .await
            .expect("gangway cp hung")
            .unwrap()
    }

    /// The copy log of every run so far (`XDG_STATE_HOME/gangway/cp.log`).
    pub fn log(&self) -> String {
        let state = self
            .env
            .iter()
            .find(|(k, _)| k == "XDG_STATE_HOME")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap();
        std::fs::read_to_string(state.join("gangway/cp.log")).unwrap_or_default()
    }
}

/// `size` pseudo-random bytes written to `path`; returns their SHA-256.
pub fn random_file(path: &Path, size: usize) -> Vec<u8> {
    let data = pipe_payload(size);
    std::fs::write(path, &data).unwrap();
    Sha256::digest(&data).to_vec()
}

pub fn sha256_of(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a successful copy, showing its stderr otherwise.
pub fn assert_copied(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
}
