//! Multiplexed mode (protocol.md §6.3): the agent is the smux v1 server (`proto::smux`, role
//! Server) over the data channel's PT 1 bytes; every stream the client opens is one TCP
//! connection to the destination. Agent: plugins/port/port_mux.go.
//!
//! - The smux byte stream goes out at the agent's pace: at most 1024 bytes of it per Output,
//!   then 1 ms before the next (func transferDataToMgs). One pace for the whole session, all
//!   streams together, smux headers included.
//! - A stream the client opens dials the destination (func handleServerConnections). A failed
//!   dial sends the flag ConnectToPortError (PT 10) and closes the stream (FIN).
//! - Each stream copies both ways (func handleDataTransfer, two io.Copy): when the destination
//!   closes, the stream is closed (FIN) after what was read from it; when the client closes
//!   its stream (FIN), what it sent is written and the TCP connection closed.
//! - smux keepalive as the agent sets it from the ClientVersion (`Mode::choose`); a dead mux
//!   (keepalive timeout, protocol error) fails the session.
//! - DisconnectToPort is ignored (func HandleStreamMessage has no case for it).
//!
//! Bounds: the client's input is fed to the mux only while it wants more (4 MiB unconsumed,
//! xtaci's MaxReceiveBuffer); TCP reads wait while more than [`TRANSMIT_HIGH_WATER`] bytes of
//! smux output wait for the pace (the agent's smux writes block on its unix socket the same
//! way).

use std::collections::HashMap;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::destination::{Target, dial};
use super::{Control, PortEnd, WorkerIo};
use crate::emulator::agent::process::{AGENT_READ_PAUSE, AgentPace, Output};
use crate::emulator::agent::utf8_chunks::MAX_OUTPUT_CHUNK;
use crate::proto::PayloadFlag;
use crate::proto::smux::{Mux, MuxConfig, MuxEvent, Role, StreamId};

/// smux output waiting for the pace past which no more is read from TCP.
const TRANSMIT_HIGH_WATER: usize = 64 * 1024;
/// One TCP read (io.Copy's buffer): at most one smux frame of data.
const TCP_READ: usize = 32 * 1024;
/// TCP reads waiting for the mux, all streams together (FIFO, so streams take turns).
const READ_QUEUE: usize = 16;
/// With the pace off (benchmarks only), one Output round takes up to this much smux output.
const UNPACED_ROUND: usize = 16 * 1024;

/// A TCP read for the mux: bytes, or `None` at the destination's EOF (or a read error).
struct Read {
    stream: StreamId,
    bytes: Option<Vec<u8>>,
}

/// What a stream's tasks report.
enum StreamEvent {
    Dialed(StreamId, Result<TcpStream, String>),
    Wrote(StreamId, usize),
    /// The writer stopped: the client finished the stream and all was written, or a write
    /// failed.
    WriterDone(StreamId),
}

/// One accepted stream.
enum Stream {
    /// Dialing; the client's data waits, and whether it already sent FIN.
    Dialing {
        pending: Vec<Vec<u8>>,
        finished: bool,
    },
    Open {
        writer: Option<mpsc::UnboundedSender<Vec<u8>>>,
        /// Held only to stop the reader when the stream goes.
        _reader: Reader,
    },
}

/// A stream's TCP reader, stopped when dropped.
struct Reader(JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) async fn run(target: Target, keepalive: bool, mut io: WorkerIo) -> PortEnd {
    let config = MuxConfig {
        keepalive,
        ..MuxConfig::default()
    };
    let mut mux = Mux::new(Role::Server, config, Instant::now());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (reads_tx, mut reads) = mpsc::channel::<Read>(READ_QUEUE);
    let mut streams: HashMap<StreamId, Stream> = HashMap::new();
    let mut next_send = tokio::time::Instant::now();
    loop {
        // What the mux has to say first: new streams, data, FINs, its death.
        while let Some(event) = mux.poll_event() {
            match event {
                MuxEvent::StreamAccepted(id) => {
                    streams.insert(
                        id,
                        Stream::Dialing {
                            pending: Vec::new(),
                            finished: false,
                        },
                    );
                    let target = target.clone();
                    let events = events_tx.clone();
                    tokio::spawn(async move {
                        let _ = events.send(StreamEvent::Dialed(id, dial(&target).await));
                    });
                }
                MuxEvent::Data(id, bytes) => match streams.get_mut(&id) {
                    Some(Stream::Dialing { pending, .. }) => pending.push(bytes),
                    Some(Stream::Open {
                        writer: Some(writer),
                        ..
                    }) => {
                        let _ = writer.send(bytes);
                    }
                    _ => {
                        let _ = mux.close(id);
                    }
                },
                MuxEvent::StreamFinished(id) => match streams.get_mut(&id) {
                    Some(Stream::Dialing { finished, .. }) => *finished = true,
                    // The writer writes what it has, then reports WriterDone.
                    Some(Stream::Open { writer, .. }) => *writer = None,
                    None => {}
                },
                MuxEvent::Error(error) => {
                    return PortEnd::Failed(format!(
                        "The port session's multiplexer failed: {error}"
                    ));
                }
            }
        }
        let wants_reads = mux.pending_transmit_bytes() < TRANSMIT_HIGH_WATER;
        let has_output = mux.pending_transmit_bytes() > 0;
        let mux_timeout = mux.poll_timeout();
        let pace_at = next_send;
        tokio::select! {
            control = io.control.recv(), if mux.wants_input() => match control {
                None => return PortEnd::Finished("The session ended.".to_owned()),
                Some(Control::Input(bytes)) => {
                    mux.handle_input(&bytes);
                    io.done_with(bytes.len());
                }
                // Mux mode has no use for DisconnectToPort; TerminateSession is the session's.
                Some(Control::Flag(_)) => {}
            },
            Some(read) = reads.recv(), if wants_reads => {
                let open = matches!(streams.get(&read.stream), Some(Stream::Open { .. }));
                match read.bytes {
                    Some(bytes) if open => {
                        let _ = mux.send(read.stream, &bytes);
                    }
                    Some(_) => {}
                    None => {
                        // The destination is done: FIN, and the writer finishes what it has
                        // (the stream side of io.Copy ends, tcp.Close follows).
                        let _ = mux.close(read.stream);
                        if let Some(Stream::Open { writer, .. }) = streams.get_mut(&read.stream) {
                            *writer = None;
                        }
                    }
                }
            },
            Some(event) = events.recv() => match event {
                StreamEvent::Dialed(id, result) => {
                    let Some(Stream::Dialing { pending, finished }) = streams.remove(&id) else {
                        continue;
                    };
                    match result {
                        Ok(connection) => {
                            let (read_half, write_half) = connection.into_split();
                            let (writer, writes) = mpsc::unbounded_channel();
                            tokio::spawn(write_pump(id, write_half, writes, events_tx.clone()));
                            for bytes in pending {
                                let _ = writer.send(bytes);
                            }
                            let reader = Reader(tokio::spawn(read_pump(id, read_half, reads_tx.clone())));
                            let writer = (!finished).then_some(writer);
                            streams.insert(id, Stream::Open { writer, _reader: reader });
                        }
                        Err(err) => {
                            tracing::debug!(stream = id.0, %err, "mux stream: the destination refused");
                            if io.output.send(Output::Flag(PayloadFlag::ConnectToPortError)).await.is_err() {
                                return PortEnd::Finished("The session ended.".to_owned());
                            }
                            let _ = mux.close(id);
                        }
                    }
                }
                StreamEvent::Wrote(id, n) => mux.consumed(id, n),
                StreamEvent::WriterDone(id) => {
                    // The TCP connection is closed (both halves): the stream goes too.
                    streams.remove(&id);
                    let _ = mux.close(id);
                }
            },
            permit = async {
                tokio::time::sleep_until(pace_at).await;
                io.output.reserve().await
            }, if has_output => {
                let Ok(permit) = permit else {
                    return PortEnd::Finished("The session ended.".to_owned());
                };
                match io.pace {
                    AgentPace::Agent => {
                        if let Some(chunk) = mux.poll_transmit(MAX_OUTPUT_CHUNK) {
                            permit.send(Output::Stdout(chunk));
                        }
                        next_send = tokio::time::Instant::now() + AGENT_READ_PAUSE;
                    }
                    AgentPace::Off => {
                        drop(permit);
                        if let Some(round) = mux.poll_transmit(UNPACED_ROUND) {
                            for chunk in round.chunks(MAX_OUTPUT_CHUNK) {
                                if io.output.send(Output::Stdout(chunk.to_vec())).await.is_err() {
                                    return PortEnd::Finished("The session ended.".to_owned());
                                }
                            }
                        }
                    }
                }
            },
            () = async {
                match mux_timeout {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            } => mux.handle_timeout(Instant::now()),
        }
    }
}

/// io.Copy(stream, tcp): reads of up to 32 KiB, then `None` at EOF or on an error.
async fn read_pump(stream: StreamId, mut reader: OwnedReadHalf, reads: mpsc::Sender<Read>) {
    let mut buffer = vec![0u8; TCP_READ];
    loop {
        let bytes = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => None,
            Ok(read) => Some(buffer[..read].to_vec()),
        };
        let end = bytes.is_none();
        if reads.send(Read { stream, bytes }).await.is_err() || end {
            return;
        }
    }
}

/// io.Copy(tcp, stream): writes until the stream's data ends (the sender is dropped) or a
/// write fails, reporting what was written; then the connection is shut down.
async fn write_pump(
    stream: StreamId,
    mut writer: OwnedWriteHalf,
    mut writes: mpsc::UnboundedReceiver<Vec<u8>>,
    events: mpsc::UnboundedSender<StreamEvent>,
) {
    while let Some(bytes) = writes.recv().await {
        if writer.write_all(&bytes).await.is_err() {
            break;
        }
        let _ = events.send(StreamEvent::Wrote(stream, bytes.len()));
    }
    let _ = writer.shutdown().await;
    let _ = events.send(StreamEvent::WriterDone(stream));
}
