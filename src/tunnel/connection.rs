//! One local TCP connection's two halves, each on its own task, talking to the session task
//! that owns the data channel. The reader sends what it reads through a bounded queue (so a
//! busy session slows the local sender down); the writer writes what the session hands it
//! and reports each write as consumed on an unbounded queue, which must never wait: the
//! session stops reading the data channel until bytes are consumed, and a consumed report
//! stuck behind data would deadlock it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest local read: one smux frame (xtaci's default MaxFrameSize, §6.3).
pub(crate) const READ_CHUNK: usize = 32 * 1024;

/// Bytes a whole tunnel carried so far, counted where they meet the local sockets, so an
/// owner can show live rates (the UI's tunnels view) without waiting for connections to close.
#[derive(Debug, Default)]
pub struct Traffic {
    up: AtomicU64,
    down: AtomicU64,
}

impl Traffic {
    /// Bytes read from local clients (towards the instance).
    pub fn up(&self) -> u64 {
        self.up.load(Ordering::Relaxed)
    }

    /// Bytes written to local clients (from the instance).
    pub fn down(&self) -> u64 {
        self.down.load(Ordering::Relaxed)
    }
}

/// From a connection's reader.
#[derive(Debug)]
pub(crate) enum Upstream {
    Data(u64, Vec<u8>),
    /// The local side sent FIN.
    Eof(u64),
    /// The local side failed (reset).
    Failed(u64, String),
}

/// From a connection's writer.
#[derive(Debug)]
pub(crate) enum Downstream {
    /// This many bytes were written to the local side.
    Written(u64, usize),
    /// The writer is done: after `Finish` (shutdown sent), or on a write error.
    Done(u64, Option<String>),
}

/// What the session hands a writer.
#[derive(Debug)]
pub(crate) enum ToWriter {
    Data(Vec<u8>),
    /// No more data: shut down the write side (the remote end sent FIN).
    Finish,
}

/// The session's handle on one connection. Dropping it stops both tasks.
pub(crate) struct ConnectionTasks {
    pub(crate) to_writer: mpsc::UnboundedSender<ToWriter>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for ConnectionTasks {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// Starts the two tasks of connection `key`.
pub(crate) fn spawn(
    key: u64,
    stream: TcpStream,
    upstream: mpsc::Sender<Upstream>,
    downstream: mpsc::UnboundedSender<Downstream>,
    traffic: Arc<Traffic>,
) -> ConnectionTasks {
    // Small writes are latency-bound (an SSH keystroke, a database round trip).
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    spawn_halves(key, read, write, upstream, downstream, traffic)
}

/// [`spawn`] for any pair of halves (ssh-proxy's stdin and stdout).
pub(crate) fn spawn_halves<R, W>(
    key: u64,
    read: R,
    write: W,
    upstream: mpsc::Sender<Upstream>,
    downstream: mpsc::UnboundedSender<Downstream>,
    traffic: Arc<Traffic>,
) -> ConnectionTasks
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_writer, from_session) = mpsc::unbounded_channel();
    ConnectionTasks {
        to_writer,
        reader: tokio::spawn(read_loop(key, read, upstream, Arc::clone(&traffic))),
        writer: tokio::spawn(write_loop(key, write, from_session, downstream, traffic)),
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    key: u64,
    mut read: R,
    upstream: mpsc::Sender<Upstream>,
    traffic: Arc<Traffic>,
) {
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        let message = match read.read(&mut buffer).await {
            Ok(0) => Upstream::Eof(key),
            Ok(n) => {
                traffic.up.fetch_add(n as u64, Ordering::Relaxed);
                Upstream::Data(key, buffer[..n].to_vec())
            }
            Err(error) => Upstream::Failed(key, error.to_string()),
        };
        let last = !matches!(message, Upstream::Data(..));
        if upstream.send(message).await.is_err() || last {
            return;
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    key: u64,
    mut write: W,
    mut from_session: mpsc::UnboundedReceiver<ToWriter>,
    downstream: mpsc::UnboundedSender<Downstream>,
    traffic: Arc<Traffic>,
) {
    while let Some(message) = from_session.recv().await {
        match message {
            ToWriter::Data(bytes) => {
                // Flushed per message: stdout is buffered, and an SSH client waits for it.
                let written = match write.write_all(&bytes).await {
                    Ok(()) => write.flush().await,
                    Err(error) => Err(error),
                };
                if let Err(error) = written {
                    let _ = downstream.send(Downstream::Done(key, Some(error.to_string())));
                    return;
                }
                traffic
                    .down
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let _ = downstream.send(Downstream::Written(key, bytes.len()));
            }
            ToWriter::Finish => {
                let result = write.shutdown().await;
                let _ = downstream.send(Downstream::Done(
                    key,
                    result.err().map(|error| error.to_string()),
                ));
                return;
            }
        }
    }
}
