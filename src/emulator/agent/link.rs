//! One attached client websocket, as the session task sees it.
//!
//! Writes go through a small per-socket writer task so a slow client only ever stalls its own
//! writer, never the session loop (which keeps reading acks and input). Frames leave the
//! proto `Session` into `outbox` (after fault injection) and move to the writer as it has
//! room. Dropping a `Link` closes the TCP connection without a close frame, as a cut or a
//! superseded socket should.
//!
//! A socket that passed its token check leaves hyper and the main runtime as a
//! [`PendingSocket`] and becomes a websocket again on its session's thread, registered with
//! that thread's own I/O driver (`session_thread.rs`): its readiness (each input frame, each
//! ack) then wakes the session's thread directly, instead of waiting for one of the main
//! runtime's two workers, which also serve the API and every other connection, to poll
//! readiness and pass the wake on.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::echo_hops::{SessionHops, StampWakes};

/// The websocket of an upgraded `GET /v1/data-channel/{sid}` request, on its session's thread.
pub type AgentSocket = WebSocketStream<SessionIo>;

/// A data-channel connection between its token check (on the main runtime) and its
/// session's thread: the TCP stream taken back from hyper, out of every I/O driver, with
/// what hyper had read ahead of the websocket.
pub struct PendingSocket {
    stream: std::net::TcpStream,
    read_ahead: Bytes,
}

impl PendingSocket {
    /// Takes the TCP connection out of the upgraded request (served by `server.rs` as
    /// `TokioIo<TcpStream>`).
    pub fn take(io: TokioIo<hyper::upgrade::Upgraded>) -> Result<Self, NotTaken> {
        let parts = io
            .into_inner()
            .downcast::<TokioIo<TcpStream>>()
            .map_err(|upgraded| NotTaken::NotTcp(TokioIo::new(upgraded)))?;
        let stream = parts.io.into_inner().into_std().map_err(NotTaken::Lost)?;
        Ok(Self {
            stream,
            read_ahead: parts.read_buf,
        })
    }

    /// The websocket, registered with the I/O driver of the runtime this runs on.
    pub async fn open(self) -> io::Result<AgentSocket> {
        let io = SessionIo {
            read_ahead: self.read_ahead,
            stream: TcpStream::from_std(self.stream)?,
        };
        Ok(WebSocketStream::from_raw_socket(
            io,
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            Some(super::upgrade::socket_config()),
        )
        .await)
    }
}

/// Why [`PendingSocket::take`] could not take a connection.
pub enum NotTaken {
    /// Not a TCP stream from `server.rs`: given back, to be refused.
    NotTcp(TokioIo<hyper::upgrade::Upgraded>),
    /// The descriptor could not be taken off the main runtime's driver: the connection is
    /// gone.
    Lost(io::Error),
}

/// A data channel's TCP stream, first giving back what hyper had read ahead.
pub struct SessionIo {
    read_ahead: Bytes,
    stream: TcpStream,
}

impl AsyncRead for SessionIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read_ahead.is_empty() {
            return Pin::new(&mut self.stream).poll_read(cx, buf);
        }
        let take = self.read_ahead.len().min(buf.remaining());
        let head = self.read_ahead.split_to(take);
        buf.put_slice(&head);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SessionIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Frames queued towards the writer task; beyond it frames wait in `outbox`.
const WRITER_QUEUE: usize = 64;
/// Stop taking frames from the proto session while this many wait in `outbox`.
pub const OUTBOX_HIGH_WATER: usize = 64;
/// How long a graceful close may take to flush the last frames.
const CLOSE_FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// What reading the socket produced.
pub enum Incoming {
    Frame(Vec<u8>),
    /// Text, ping, pong: nothing for the session.
    Ignored,
    /// The socket is gone (error, close frame or EOF).
    Gone,
}

pub struct Link {
    reader: SplitStream<AgentSocket>,
    writer_queue: Option<mpsc::Sender<Vec<u8>>>,
    writer: JoinHandle<()>,
    pub outbox: VecDeque<Vec<u8>>,
    /// The load test's echo timing (`echo_hops.rs`), `None` unless asked for.
    hops: SessionHops,
}

impl Link {
    pub fn new(socket: AgentSocket, hops: SessionHops) -> Self {
        let (sink, reader) = socket.split();
        let (queue, frames) = mpsc::channel(WRITER_QUEUE);
        Self {
            reader,
            writer_queue: Some(queue),
            writer: tokio::spawn(write_frames(sink, frames, hops.clone())),
            outbox: VecDeque::new(),
            hops,
        }
    }

    /// The next frame from the client, or `None` when the writer can take another frame
    /// (only watched when `watch_writer`). Cancel-safe.
    pub async fn next_activity(&mut self, watch_writer: bool) -> Option<Incoming> {
        let queue = self.writer_queue.as_ref().filter(|_| watch_writer);
        let reader = &mut self.reader;
        let hops = self.hops.as_ref();
        let next = async move {
            match hops {
                Some(hops) => {
                    StampWakes {
                        inner: reader.next(),
                        hops,
                    }
                    .await
                }
                None => reader.next().await,
            }
        };
        tokio::select! {
            message = next => Some(classify(message)),
            _ = async { if let Some(queue) = queue { queue.reserve().await.map(drop) } else { std::future::pending().await } } => None,
        }
    }

    /// A frame that has already arrived, without waiting.
    pub fn try_next_incoming(&mut self) -> Option<Incoming> {
        self.reader.next().now_or_never().map(classify)
    }

    /// Moves frames from `outbox` to the writer while it has room; false once the writer is
    /// gone (the socket failed).
    pub fn push_to_writer(&mut self) -> bool {
        let Some(queue) = &self.writer_queue else {
            return false;
        };
        while let Some(frame) = self.outbox.pop_front() {
            match queue.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(frame)) => {
                    self.outbox.push_front(frame);
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    }

    /// Sends what is queued, then a close frame, waiting at most [`CLOSE_FLUSH_LIMIT`].
    pub async fn close_gracefully(mut self) {
        let deadline = tokio::time::Instant::now() + CLOSE_FLUSH_LIMIT;
        if let Some(queue) = self.writer_queue.take() {
            for frame in self.outbox.drain(..) {
                if tokio::time::timeout_at(deadline, queue.send(frame))
                    .await
                    .map_or(true, |sent| sent.is_err())
                {
                    break;
                }
            }
        }
        let _ = tokio::time::timeout_at(deadline, &mut self.writer).await;
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

fn classify(message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Incoming {
    match message {
        Some(Ok(Message::Binary(bytes))) => Incoming::Frame(bytes.to_vec()),
        Some(Ok(Message::Close(_)) | Err(_)) | None => Incoming::Gone,
        Some(Ok(_)) => Incoming::Ignored,
    }
}

async fn write_frames(
    mut sink: SplitSink<AgentSocket, Message>,
    mut frames: mpsc::Receiver<Vec<u8>>,
    hops: SessionHops,
) {
    while let Some(frame) = frames.recv().await {
        if sink.feed(Message::Binary(frame.into())).await.is_err() {
            return;
        }
        // Flush once the queue is momentarily empty: batches writes under load.
        if frames.is_empty() {
            if sink.flush().await.is_err() {
                return;
            }
            if let Some(hops) = &hops {
                hops.frame_sent();
            }
        }
    }
    // The queue was closed on purpose: a graceful end.
    let _ = sink.close().await;
}
