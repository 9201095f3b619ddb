//! Basic mode (protocol.md §6.3): one TCP connection to the destination at a time, its bytes
//! as PT 1 Output both ways. Agent: plugins/port/port_basic.go.
//!
//! - The destination is dialed at the start; failing that, the session fails with "Unable to
//!   connect to specified port: <error>" (func InitializeSession).
//! - Reading follows func WritePump: read at most 1024 bytes, send them, sleep 1 ms.
//! - DisconnectToPort (the client's local connection closed) closes the connection; the next
//!   Output from the client dials again and then is written (func HandleStreamMessage). A
//!   failed re-dial fails the session.
//! - When the destination closes or a read fails: for LocalPortForwarding the connection is
//!   closed and re-dialed on the next Output (func handlePortError); for any other type
//!   (AWS-StartSSHSession) EOF ends the session normally and an error fails it (func
//!   handleSSHDPortError).
//!
//! The connection's reader and writer are tasks of their own, so a destination that stops
//! reading never stops its output from being read (an echo server would otherwise deadlock).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::destination::{Target, dial};
use super::{Control, PortEnd, WorkerIo};
use crate::emulator::agent::process::{AGENT_READ_PAUSE, AgentPace, Output};
use crate::emulator::agent::utf8_chunks::MAX_OUTPUT_CHUNK;
use crate::proto::PayloadFlag;

/// With the pace off (benchmarks only), one read takes up to this much, sent as ≤ 1024-byte
/// payloads.
const UNPACED_READ: usize = 16 * 1024;

/// What a connection's tasks report. `generation` tells a stale report (from a connection
/// already closed) from a current one.
enum ConnEvent {
    /// The destination closed (`eof`) or reading failed.
    ReadEnded {
        generation: u64,
        eof: bool,
    },
    WriteFailed {
        generation: u64,
    },
}

struct Connection {
    generation: u64,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    reader: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The writer finishes what it was given and then closes its half.
        self.reader.abort();
    }
}

pub(super) async fn run(target: Target, local_forwarding: bool, mut io: WorkerIo) -> PortEnd {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut generation = 0;
    let connect = |generation: u64, io: &WorkerIo| {
        let target = target.clone();
        let output = io.output.clone();
        let queued = std::sync::Arc::clone(&io.queued_input);
        let events = events_tx.clone();
        let pace = io.pace;
        async move {
            let stream = dial(&target)
                .await
                .map_err(|err| format!("Unable to connect to specified port: {err}"))?;
            let (read_half, write_half) = stream.into_split();
            let (writer, writes) = mpsc::unbounded_channel();
            tokio::spawn(write_pump(
                write_half,
                writes,
                queued,
                events.clone(),
                generation,
            ));
            let reader = tokio::spawn(read_pump(read_half, output, pace, events, generation));
            Ok::<_, String>(Connection {
                generation,
                writer,
                reader,
            })
        }
    };
    let mut connection = match connect(generation, &io).await {
        Ok(connection) => Some(connection),
        Err(reason) => return PortEnd::Failed(reason),
    };
    loop {
        tokio::select! {
            control = io.control.recv() => match control {
                None => return PortEnd::Finished("The session ended.".to_owned()),
                Some(Control::Input(bytes)) => {
                    if connection.is_none() {
                        generation += 1;
                        match connect(generation, &io).await {
                            Ok(new) => connection = Some(new),
                            Err(reason) => {
                                io.done_with(bytes.len());
                                return PortEnd::Failed(reason);
                            }
                        }
                    }
                    if let Some(open) = &connection {
                        let len = bytes.len();
                        if open.writer.send(bytes).is_err() {
                            io.done_with(len);
                        }
                    }
                }
                Some(Control::Flag(PayloadFlag::DisconnectToPort)) => {
                    tracing::debug!("DisconnectToPort: closing the destination connection");
                    connection = None;
                }
                Some(Control::Flag(_)) => {}
            },
            Some(event) = events.recv() => match event {
                ConnEvent::ReadEnded { generation: ended, eof } => {
                    if connection.as_ref().is_some_and(|c| c.generation == ended) {
                        if !local_forwarding {
                            return if eof {
                                PortEnd::Finished("The destination closed the connection.".to_owned())
                            } else {
                                PortEnd::Failed("Failed to read from port.".to_owned())
                            };
                        }
                        // Re-dialed on the client's next Output (handlePortError).
                        connection = None;
                    }
                }
                ConnEvent::WriteFailed { generation: failed } => {
                    if connection.as_ref().is_some_and(|c| c.generation == failed) {
                        connection = None;
                    }
                }
            },
        }
    }
}

/// The agent's WritePump: at most 1024 bytes per read, sent at once, then a 1 ms pause.
async fn read_pump(
    mut reader: OwnedReadHalf,
    output: mpsc::Sender<Output>,
    pace: AgentPace,
    events: mpsc::UnboundedSender<ConnEvent>,
    generation: u64,
) {
    let mut buffer = vec![0u8; UNPACED_READ];
    let limit = match pace {
        AgentPace::Agent => MAX_OUTPUT_CHUNK,
        AgentPace::Off => UNPACED_READ,
    };
    let eof = loop {
        let read = match reader.read(&mut buffer[..limit]).await {
            Ok(0) => break true,
            Err(_) => break false,
            Ok(read) => read,
        };
        for chunk in buffer[..read].chunks(MAX_OUTPUT_CHUNK) {
            if output.send(Output::Stdout(chunk.to_vec())).await.is_err() {
                return;
            }
        }
        if pace == AgentPace::Agent {
            tokio::time::sleep(AGENT_READ_PAUSE).await;
        }
    };
    let _ = events.send(ConnEvent::ReadEnded { generation, eof });
}

async fn write_pump(
    mut writer: OwnedWriteHalf,
    mut writes: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    events: mpsc::UnboundedSender<ConnEvent>,
    generation: u64,
) {
    let mut failed = false;
    while let Some(bytes) = writes.recv().await {
        if !failed && writer.write_all(&bytes).await.is_err() {
            failed = true;
            let _ = events.send(ConnEvent::WriteFailed { generation });
        }
        queued.fetch_sub(bytes.len(), std::sync::atomic::Ordering::Relaxed);
    }
    let _ = writer.shutdown().await;
}
