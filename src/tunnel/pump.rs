//! What the two port-forwarding pumps (mux and basic) share: the connections a slot hands
//! them, how they end, and the bookkeeping of one connection's life.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::connection::{ConnectionTasks, Downstream, Traffic, Upstream};
use super::event::TunnelEvent;
use crate::transport::ChannelEvent;

/// A local connection, accepted by a listener and given to one session slot.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) connection: u64,
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    /// The tunnel's byte counters.
    pub(crate) traffic: Arc<Traffic>,
}

/// How a pump stopped.
#[derive(Debug)]
pub(crate) enum PumpEnd {
    /// The user stopped the tunnel.
    Stopped,
    /// The session is over (service closed it, resume failed, protocol error): the reason.
    Ended(String),
}

/// Queue of local reads waiting for the session: a few chunks, so a busy session slows the
/// local senders down instead of buffering.
pub(crate) const UPSTREAM_QUEUE: usize = 64;

/// What a pump needs from its slot.
pub(crate) struct PumpContext<'a> {
    pub(crate) listener: usize,
    pub(crate) session_id: &'a str,
    pub(crate) events: &'a mpsc::UnboundedSender<TunnelEvent>,
    /// Connections this slot carries (the listener reads it to spread new ones).
    pub(crate) load: &'a Arc<AtomicUsize>,
    pub(crate) stop: &'a mut watch::Receiver<bool>,
    pub(crate) incoming: &'a mut mpsc::UnboundedReceiver<Accepted>,
}

impl PumpContext<'_> {
    pub(crate) fn emit(&self, event: TunnelEvent) {
        let _ = self.events.send(event);
    }

    pub(crate) fn opened(&self, accepted: &Accepted) {
        self.emit(TunnelEvent::ConnectionOpened {
            listener: self.listener,
            connection: accepted.connection,
            peer: accepted.peer,
            session_id: self.session_id.to_owned(),
        });
    }

    /// One connection is over: say so and free its place in the slot's load.
    pub(crate) fn closed(&self, life: &Life, reason: Option<String>) {
        self.load.fetch_sub(1, Ordering::AcqRel);
        self.emit(TunnelEvent::ConnectionClosed {
            listener: self.listener,
            connection: life.connection,
            bytes_up: life.bytes_up,
            bytes_down: life.bytes_down,
            reason,
        });
    }

    /// The channel events both pumps treat alike; `Some` when the session is over.
    pub(crate) fn on_channel_state(&self, event: Option<&ChannelEvent>) -> Option<PumpEnd> {
        match event {
            None => Some(PumpEnd::Ended("the data channel stopped".into())),
            Some(ChannelEvent::Closed { reason }) => Some(PumpEnd::Ended(
                reason
                    .clone()
                    .unwrap_or_else(|| "the service closed the session".into()),
            )),
            Some(ChannelEvent::Lost(error)) => Some(PumpEnd::Ended(error.to_string())),
            Some(ChannelEvent::Reconnecting) => {
                self.emit(TunnelEvent::Reconnecting {
                    listener: self.listener,
                    session_id: self.session_id.to_owned(),
                });
                None
            }
            Some(ChannelEvent::Reconnected) => {
                self.emit(TunnelEvent::Resumed {
                    listener: self.listener,
                    session_id: self.session_id.to_owned(),
                });
                None
            }
            Some(_) => None,
        }
    }
}

/// The queues between a pump and its connections' tasks.
pub(crate) struct Queues {
    pub(crate) upstream_tx: mpsc::Sender<Upstream>,
    pub(crate) upstream: mpsc::Receiver<Upstream>,
    pub(crate) downstream_tx: mpsc::UnboundedSender<Downstream>,
    pub(crate) downstream: mpsc::UnboundedReceiver<Downstream>,
}

impl Queues {
    pub(crate) fn new() -> Self {
        let (upstream_tx, upstream) = mpsc::channel(UPSTREAM_QUEUE);
        let (downstream_tx, downstream) = mpsc::unbounded_channel();
        Self {
            upstream_tx,
            upstream,
            downstream_tx,
            downstream,
        }
    }

    pub(crate) fn spawn(&self, accepted: Accepted) -> ConnectionTasks {
        super::connection::spawn(
            accepted.connection,
            accepted.stream,
            self.upstream_tx.clone(),
            self.downstream_tx.clone(),
            accepted.traffic,
        )
    }
}

/// Counters and state of one connection inside a pump.
pub(crate) struct Life {
    pub(crate) connection: u64,
    pub(crate) bytes_up: u64,
    pub(crate) bytes_down: u64,
    /// The local side sent FIN (and it was passed on).
    pub(crate) read_done: bool,
    /// The writer finished (remote FIN written as shutdown, or a write error).
    pub(crate) write_done: bool,
    pub(crate) tasks: ConnectionTasks,
}

impl Life {
    pub(crate) fn new(connection: u64, tasks: ConnectionTasks) -> Self {
        Self {
            connection,
            bytes_up: 0,
            bytes_down: 0,
            read_done: false,
            write_done: false,
            tasks,
        }
    }
}

/// Resolves when the tunnel is asked to stop (or its owner is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Until `deadline`, or forever.
pub(crate) async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
