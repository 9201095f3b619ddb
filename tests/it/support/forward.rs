//! Port forwarding as a user runs it: a TCP echo server the emulator's instance "has" (the
//! fleet file maps its port there), `gangway forward --json` as a child whose events the
//! test reads, and byte-exact round trips through the tunnel.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::PATIENCE;
use super::aws_clients::ADMIN;
use super::cli::{aws_env, pipe_payload, temp_file};
use super::emulator::GANGWAY;

/// The instance of [`fleet_file`].
pub const INSTANCE: &str = "i-0f0f0f0f0f0f0f0f1";
pub const INSTANCE_NAME: &str = "tunnel-1";

/// A TCP server on 127.0.0.1:0 that echoes every connection until it closes.
pub struct EchoServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EchoServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.into_split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        Self { addr, task }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fleet file with one Linux instance whose TCP ports `ports` lead to the given loopback
/// addresses, and which reaches `hosts` (`"name:port"`) likewise.
pub fn fleet_file(ports: &[(u16, SocketAddr)], hosts: &[(&str, SocketAddr)]) -> PathBuf {
    fleet_file_with_agent(ports, hosts, None)
}

/// [`fleet_file`] whose instance runs the SSM agent `agent_version` (the emulator's default
/// when `None`): 3.0.196.0 or older has no mux, so both ends run basic mode (§6.4).
pub fn fleet_file_with_agent(
    ports: &[(u16, SocketAddr)],
    hosts: &[(&str, SocketAddr)],
    agent_version: Option<&str>,
) -> PathBuf {
    let mut text = format!("[[instances]]\nid = \"{INSTANCE}\"\nname = \"{INSTANCE_NAME}\"\n");
    if let Some(version) = agent_version {
        text.push_str(&format!("agent_version = \"{version}\"\n"));
    }
    if !ports.is_empty() {
        let entries: Vec<String> = ports
            .iter()
            .map(|(port, addr)| format!("\"{port}\" = \"{addr}\""))
            .collect();
        text.push_str(&format!("ports = {{ {} }}\n", entries.join(", ")));
    }
    if !hosts.is_empty() {
        let entries: Vec<String> = hosts
            .iter()
            .map(|(host, addr)| format!("\"{host}\" = \"{addr}\""))
            .collect();
        text.push_str(&format!("hosts = {{ {} }}\n", entries.join(", ")));
    }
    temp_file("fleet.toml", &text)
}

/// `gangway forward --json` as a child, killed when dropped; its JSON events in order.
pub struct Forward {
    pub child: Child,
    events: mpsc::UnboundedReceiver<serde_json::Value>,
    stderr: JoinHandle<String>,
}

impl Forward {
    /// Starts `gangway forward TARGET ARGS… --json` as the admin against `endpoint`.
    pub fn spawn(endpoint: &str, target: &str, args: &[&str]) -> Self {
        let mut child = Command::new(GANGWAY)
            .arg("forward")
            .arg(target)
            .args(args)
            .arg("--json")
            .envs(aws_env(endpoint, ADMIN))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let value: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|error| panic!("not a JSON line: {line:?}: {error}"));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text).await;
            text
        });
        Self {
            child,
            events,
            stderr,
        }
    }

    /// The next event named `name` (the ones before it are returned too, in order).
    pub async fn until(&mut self, name: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
        let mut before = Vec::new();
        let found = tokio::time::timeout(PATIENCE, async {
            while let Some(event) = self.events.recv().await {
                if event["event"] == name {
                    return Some(event);
                }
                before.push(event);
            }
            None
        })
        .await;
        match found {
            Ok(Some(event)) => (event, before),
            Ok(None) => panic!(
                "gangway forward ended before a {name:?} event; events {before:?}, stderr {}",
                self.stderr_now().await
            ),
            Err(_) => panic!("no {name:?} event within {PATIENCE:?}; events {before:?}"),
        }
    }

    /// The local address of the next `listening` event.
    pub async fn listening(&mut self) -> SocketAddr {
        let (event, _) = self.until("listening").await;
        event["local"].as_str().unwrap().parse().unwrap()
    }

    /// Events that arrived so far, without waiting.
    pub fn drain(&mut self) -> Vec<serde_json::Value> {
        std::iter::from_fn(|| self.events.try_recv().ok()).collect()
    }

    /// SIGINT (Ctrl-C), then the exit status and stderr.
    pub async fn interrupt(mut self) -> (Option<i32>, String) {
        let pid = nix::unistd::Pid::from_raw(self.child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("gangway forward did not stop on Ctrl-C")
            .unwrap();
        let stderr = self.stderr.await.unwrap();
        (status.code(), stderr)
    }

    async fn stderr_now(&mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        (&mut self.stderr).await.unwrap_or_default()
    }
}

/// Sends `size` bytes (seeded, all byte values) through `addr` while reading the echo, then
/// checks length and SHA-256. Never half-closes before the echo is all back: the agent, like
/// the plugin, closes both directions at a stream's first EOF (§6.3).
pub async fn echo_round_trip(addr: SocketAddr, size: usize, seed: u8) {
    let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    let data: Vec<u8> = pipe_payload(size)
        .into_iter()
        .map(|byte| byte.wrapping_add(seed))
        .collect();
    let expected = Sha256::digest(&data);
    let writer = tokio::spawn(async move {
        write.write_all(&data).await.unwrap();
        write
    });
    let mut back = vec![0u8; size];
    tokio::time::timeout(PATIENCE * 4, read.read_exact(&mut back))
        .await
        .unwrap_or_else(|_| panic!("echo of {size} bytes (seed {seed}) timed out"))
        .unwrap();
    let _write = writer.await.unwrap();
    assert_eq!(Sha256::digest(&back), expected, "seed {seed}: bytes differ");
}

/// A short round trip, to check a tunnel carries anything at all.
pub async fn ping(addr: SocketAddr) {
    echo_round_trip(addr, 4096, 7).await;
}
