//! One connected websocket as the driver holds it (`Link::Connected`): the write half, a
//! reader task, the keepalive timer, and when the peer was last heard from. Dropping a
//! [`Socket`] drops the websocket, so a link that is resuming holds none.
//!
//! The reader task drains the socket into a queue so that the peer is never blocked by us
//! while we are busy writing (both sides writing into full TCP buffers would otherwise
//! deadlock a large upload that is echoed back).

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

use super::TransportError;
use crate::proto::Session;

/// Any websocket the driver can own: the dialled one over TCP or TLS, or one over an
/// in-memory `tokio::io::duplex` in tests.
pub(crate) trait WsLink:
    Stream<Item = Result<Message, tungstenite::Error>>
    + Sink<Message, Error = tungstenite::Error>
    + Send
    + Unpin
    + 'static
{
}

impl<T> WsLink for T where
    T: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Send
        + Unpin
        + 'static
{
}

pub(crate) type BoxedWs = Box<dyn WsLink>;

/// After this many malformed frames in a row the link is declared corrupted: something
/// between us and the agent mangles every frame, and retransmission cannot help.
const MAX_MALFORMED_STREAK: u64 = 64;
/// Inbound frames handled before writing the answers (acks) in one flush.
pub(super) const INBOUND_BATCH: usize = 256;

pub(super) enum Inbound {
    Frame(Bytes),
    Alive,
    Gone(Option<TransportError>),
}

pub(super) struct Socket {
    sink: SplitSink<BoxedWs, Message>,
    pub(super) inbound: mpsc::UnboundedReceiver<Inbound>,
    reader: JoinHandle<()>,
    /// Websocket pings (§7.1), from the moment this socket was connected.
    pub(super) ping: Interval,
    pub(super) last_heard: Instant,
    malformed_streak: u64,
}

impl Socket {
    pub(super) fn new(ws: BoxedWs, ping_interval: Duration) -> Self {
        let (sink, stream) = ws.split();
        let (tx, inbound) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_socket(stream, tx));
        let mut ping = tokio::time::interval(ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            sink,
            inbound,
            reader,
            ping,
            last_heard: Instant::now(),
            malformed_streak: 0,
        }
    }

    /// Hands one frame to the session; an error once the link has mangled too many in a row.
    pub(super) fn on_frame(
        &mut self,
        session: &mut Session,
        bytes: &[u8],
    ) -> Result<(), TransportError> {
        self.last_heard = Instant::now();
        let before = session.stats().malformed_dropped;
        let noncanonical = session.stats().noncanonical_accepted;
        session.handle_frame(self.last_heard.into_std(), bytes);
        if session.stats().noncanonical_accepted > noncanonical {
            // Accepted as the references accept it (§2.1), but worth knowing about.
            tracing::debug!(
                len = bytes.len(),
                "frame with an unusual HeaderLength or PayloadLength accepted"
            );
        }
        if session.stats().malformed_dropped == before {
            self.malformed_streak = 0;
            return Ok(());
        }
        self.malformed_streak += 1;
        tracing::debug!(streak = self.malformed_streak, "malformed frame dropped");
        if self.malformed_streak >= MAX_MALFORMED_STREAK {
            return Err(TransportError::CorruptedFrames {
                count: self.malformed_streak,
            });
        }
        Ok(())
    }

    /// Writes every frame the session has ready, then flushes once.
    pub(super) async fn write_transmits(
        &mut self,
        session: &mut Session,
    ) -> Result<(), TransportError> {
        let now = Instant::now().into_std();
        let mut wrote = false;
        while let Some(frame) = session.poll_transmit(now) {
            wrote = true;
            self.sink
                .feed(Message::binary(frame))
                .await
                .map_err(ws_error)?;
        }
        if wrote {
            self.sink.flush().await.map_err(ws_error)?;
        }
        Ok(())
    }

    pub(super) async fn send_ping(&mut self) -> Result<(), TransportError> {
        // §7.1: the reference pings with the payload `keepalive`.
        let ping = Message::Ping(Bytes::from_static(b"keepalive"));
        self.sink.send(ping).await.map_err(ws_error)
    }

    /// Sends a close frame at the end of the channel; the socket is dropped afterwards.
    pub(super) async fn close(mut self) {
        let _ = self.sink.close().await;
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The reader holds the other half of the websocket: the socket is only released
        // (and the peer sees it end) once both halves are gone.
        self.reader.abort();
    }
}

fn ws_error(error: tungstenite::Error) -> TransportError {
    TransportError::from_ws(&error, "data channel")
}

async fn read_socket(mut stream: SplitStream<BoxedWs>, tx: mpsc::UnboundedSender<Inbound>) {
    while let Some(message) = stream.next().await {
        let inbound = match message {
            Ok(Message::Binary(bytes)) => Inbound::Frame(bytes),
            // §1.4: the reference runs any text frame through the binary parser too; the
            // session drops it as malformed unless it really is a frame.
            Ok(Message::Text(text)) => Inbound::Frame(Bytes::from(text)),
            Ok(Message::Ping(_) | Message::Pong(_)) => Inbound::Alive,
            Ok(Message::Close(_)) => break,
            Ok(Message::Frame(_)) => continue,
            Err(error) => {
                let _ = tx.send(Inbound::Gone(Some(ws_error(error))));
                return;
            }
        };
        if tx.send(inbound).is_err() {
            return;
        }
    }
    let _ = tx.send(Inbound::Gone(None));
}

/// `first`, then what `try_next` has ready, `limit` items at most. It takes nothing it
/// does not return: an item dropped here would be an ack or a frame lost, costing a
/// retransmission timeout (an earlier loop did that to 1 message in 257 on a deep queue).
pub(super) fn take_batch<T>(
    first: T,
    limit: usize,
    mut try_next: impl FnMut() -> Option<T>,
) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < limit {
        match try_next() {
            Some(item) => batch.push(item),
            None => break,
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    #[test]
    fn a_batch_returns_every_item_it_takes_and_leaves_the_rest() {
        let mut queue: VecDeque<u32> = (1..1000).collect();
        let batch = take_batch(0, 256, || queue.pop_front());
        assert_eq!(batch, (0..256).collect::<Vec<_>>());
        assert_eq!(
            queue.front(),
            Some(&256),
            "an item was taken and not returned"
        );
        let mut short: VecDeque<u32> = (1..3).collect();
        assert_eq!(take_batch(0, 256, || short.pop_front()), vec![0, 1, 2]);
    }
}
