//! The agent's port plugin (protocol.md §6.3, §6.4): a Port session relays raw TCP bytes
//! between the data channel and a destination, in one of two modes the agent chooses from
//! the client's version, like agent/session/plugins/port/port.go (func GetSession):
//!
//! - `basic.rs`: one TCP connection, its bytes as PT 1 both ways (port_basic.go);
//! - `mux.rs`: the smux v1 server (`proto::smux`) over PT 1, one stream per client
//!   connection, each dialing the destination (port_mux.go).
//!
//! The worker runs as its own task and talks to the session task through channels, like a
//! shell process (`process.rs`): output comes as [`Output`] (PT 1 chunks of at most 1024
//! bytes, or a PT 10 flag), read at the real agent's pace (§0 item 16); input and flags go in
//! through [`PortWorker::write_input`] and [`PortWorker::flag`]; the end comes once, as a
//! [`PortEnd`]. `destination.rs` says where the worker connects.

mod basic;
pub mod destination;
mod mux;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use destination::PortMap;

use super::process::{AgentPace, Output};
use crate::proto::PayloadFlag;
use crate::proto::version::{self, MUX_AT_LEAST, SMUX_KEEPALIVE_OFF_ABOVE};

/// `properties.type` of port forwarding documents (agent: session/config/config.go,
/// LocalPortForwarding). Anything else (AWS-StartSSHSession has no type) is a basic session
/// that ends when the destination closes the connection.
pub const LOCAL_PORT_FORWARDING: &str = "LocalPortForwarding";
/// Output chunks buffered between the worker and the session loop, as for a process.
const OUTPUT_QUEUE: usize = 16;

/// Which wire mode the agent runs (§6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Basic,
    /// smux v1; `keepalive` is the agent's smux keepalive (NOP every 10 s, dead after 30 s
    /// without input).
    Mux {
        keepalive: bool,
    },
}

impl Mode {
    /// The agent's choice: mux for LocalPortForwarding when the HandshakeResponse's
    /// ClientVersion ≥ 1.1.70 (port.go, func GetSession), with smux keepalive off when it
    /// is > 1.2.331.0 (port_mux.go, func initialize); basic otherwise. The agent never looks
    /// at what the client chose (§0 item 8).
    pub fn choose(properties: &Value, client_version: &str) -> Self {
        let local_forwarding = properties["type"].as_str() == Some(LOCAL_PORT_FORWARDING);
        if local_forwarding
            && version::agent_compare(client_version, MUX_AT_LEAST) != std::cmp::Ordering::Less
        {
            Self::Mux {
                keepalive: version::agent_compare(client_version, SMUX_KEEPALIVE_OFF_ABOVE)
                    != std::cmp::Ordering::Greater,
            }
        } else {
            Self::Basic
        }
    }
}

/// What a port session is: the rendered document properties (as the handshake sent them)
/// and the instance's network.
#[derive(Debug, Clone, PartialEq)]
pub struct PortSpec {
    pub properties: Value,
    pub map: PortMap,
}

/// How a port session ended, for the session task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortEnd {
    /// A normal end (the SSH server closed its connection, the client sent
    /// TerminateSession): the History reason.
    Finished(String),
    /// The plugin failed (no connection to the destination, the mux died): the reason, sent
    /// to the client as the channel_closed Output.
    Failed(String),
}

/// Requests from the session task, in order.
#[derive(Debug)]
enum Control {
    Input(Vec<u8>),
    Flag(PayloadFlag),
}

/// What the worker task gets to work with.
struct WorkerIo {
    output: mpsc::Sender<Output>,
    control: mpsc::UnboundedReceiver<Control>,
    queued_input: Arc<AtomicUsize>,
    pace: AgentPace,
}

impl WorkerIo {
    /// Input handed over by the session and now written (or dropped): no longer queued.
    fn done_with(&self, bytes: usize) {
        self.queued_input.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The running port plugin of one session. Dropping it stops the worker and closes every
/// connection.
pub struct PortWorker {
    output: mpsc::Receiver<Output>,
    control: mpsc::UnboundedSender<Control>,
    queued_input: Arc<AtomicUsize>,
    end: Option<oneshot::Receiver<PortEnd>>,
    task: JoinHandle<()>,
}

/// What the worker did, from [`PortWorker::next_event`].
#[derive(Debug)]
pub enum PortEvent {
    /// Output, or `None` once the worker will send no more.
    Output(Option<Output>),
    Ended(PortEnd),
}

impl PortWorker {
    /// Starts the plugin in `mode` (after the handshake, as the agent does: it dials the
    /// destination once HandshakeComplete is out).
    pub fn start(spec: &PortSpec, mode: Mode, pace: AgentPace) -> Self {
        let (output_tx, output) = mpsc::channel(OUTPUT_QUEUE);
        let (control, control_rx) = mpsc::unbounded_channel();
        let queued_input = Arc::new(AtomicUsize::new(0));
        let (end_tx, end) = oneshot::channel();
        let io = WorkerIo {
            output: output_tx,
            control: control_rx,
            queued_input: Arc::clone(&queued_input),
            pace,
        };
        let target = destination::resolve(&spec.properties, &spec.map);
        let local_forwarding = spec.properties["type"].as_str() == Some(LOCAL_PORT_FORWARDING);
        let task = tokio::spawn(async move {
            let ended = match target {
                Err(reason) => PortEnd::Failed(reason),
                Ok(target) => match mode {
                    Mode::Basic => basic::run(target, local_forwarding, io).await,
                    Mode::Mux { keepalive } => mux::run(target, keepalive, io).await,
                },
            };
            let _ = end_tx.send(ended);
        });
        Self {
            output,
            control,
            queued_input,
            end: Some(end),
            task,
        }
    }

    pub fn write_input(&self, bytes: Vec<u8>) {
        self.queued_input.fetch_add(bytes.len(), Ordering::Relaxed);
        if self.control.send(Control::Input(bytes)).is_err() {
            self.queued_input.store(0, Ordering::Relaxed);
        }
    }

    /// A flag from the client other than TerminateSession (which the session task handles).
    pub fn flag(&self, flag: PayloadFlag) {
        let _ = self.control.send(Control::Flag(flag));
    }

    /// Input accepted from the client and not yet written to a connection.
    pub fn queued_input_bytes(&self) -> usize {
        self.queued_input.load(Ordering::Relaxed)
    }

    /// Stops the worker: every connection closes, no more output comes.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Waits for output (when `want_output`) or the end. Cancel-safe.
    pub async fn next_event(&mut self, want_output: bool) -> PortEvent {
        let watch_end = self.end.is_some();
        let end = self.end.as_mut();
        let event = tokio::select! {
            output = self.output.recv(), if want_output => PortEvent::Output(output),
            ended = async { match end { Some(end) => end.await.ok(), None => None } }, if watch_end => {
                PortEvent::Ended(ended.unwrap_or_else(|| PortEnd::Failed("The port plugin stopped.".to_owned())))
            }
            else => std::future::pending().await,
        };
        if matches!(event, PortEvent::Ended(_)) {
            self.end = None;
        }
        event
    }
}

impl Drop for PortWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_mode_follows_the_client_version_and_the_type() {
        let forwarding = json!({"portNumber": "80", "type": "LocalPortForwarding"});
        let ssh = json!({"portNumber": "22"});
        assert_eq!(
            Mode::choose(&forwarding, "1.2.677.0"),
            Mode::Mux { keepalive: false }
        );
        assert_eq!(
            Mode::choose(&forwarding, "1.2.331.0"),
            Mode::Mux { keepalive: true }
        );
        assert_eq!(
            Mode::choose(&forwarding, "1.2.0.0"),
            Mode::Mux { keepalive: true }
        );
        assert_eq!(
            Mode::choose(&forwarding, "1.1.70"),
            Mode::Mux { keepalive: true }
        );
        assert_eq!(Mode::choose(&forwarding, "1.1.61.0"), Mode::Basic);
        assert_eq!(Mode::choose(&forwarding, ""), Mode::Basic);
        assert_eq!(Mode::choose(&ssh, "1.2.677.0"), Mode::Basic);
    }
}
