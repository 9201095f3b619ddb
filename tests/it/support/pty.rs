//! `gangway connect` (or another subcommand) inside a real pseudo-terminal (pty-process), as a
//! user's terminal runs it, and the terminal modes a raw-mode leak would change.

use std::time::Duration;

use nix::sys::termios::{self, Termios};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;

use super::PATIENCE;
use super::cli::aws_env;
use super::emulator::GANGWAY;

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
        Self::spawn_command(endpoint, access_key, "connect", args, &[], (rows, cols))
    }

    /// `gangway SUBCOMMAND ARGS` (`connect`, `replay`, `run`) with `env` set over the AWS
    /// environment (a HOME and XDG directories of the test's own), on a `(rows, cols)` pty.
    pub fn spawn_command(
        endpoint: &str,
        access_key: &str,
        subcommand: &str,
        args: &[&str],
        env: &[(String, String)],
        (rows, cols): (u16, u16),
    ) -> Self {
        let mut all_env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())];
        all_env.extend(aws_env(endpoint, access_key));
        all_env.extend(env.iter().cloned());
        let mut all_args = vec![subcommand];
        all_args.extend_from_slice(args);
        Self::spawn_program(GANGWAY.as_ref(), &all_args, &all_env, rows, cols)
    }

    /// Any program in a pty of `rows`×`cols` with only the environment `env`.
    pub fn spawn_program(
        program: &std::path::Path,
        args: &[&str],
        env: &[(String, String)],
        rows: u16,
        cols: u16,
    ) -> Self {
        let (pty, pts) = pty_process::open().unwrap();
        pty.resize(pty_process::Size::new(rows, cols)).unwrap();
        let mut command = pty_process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
