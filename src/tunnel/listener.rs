//! A tunnel: its local listeners, each with its session slots, and the events they report.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::connection::Traffic;
use super::event::TunnelEvent;
use super::open::{Destination, OpenError, OpenSession, open_port_session};
use super::port_holder::holder_of_port;
use super::pump::{Accepted, stopped};
use super::slot::Slot;
use crate::aws::AwsClient;

/// One `[LOCAL:]REMOTE` of `gangway forward`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSpec {
    /// 0: a free port, chosen by the OS and reported in `TunnelEvent::Listening`.
    pub local_port: u16,
    pub destination: Destination,
}

/// Why a tunnel did not start. One line each.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("local port {port} is in use{}", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    PortInUse { port: u16, holder: Option<String> },
    #[error("cannot listen on local port {port}: {error}")]
    Listen { port: u16, error: std::io::Error },
    #[error("forwarding to {remote}: {error}")]
    Open { remote: String, error: OpenError },
}

/// How long stopping may wait for the slots to end their sessions.
const STOP_WITHIN: Duration = Duration::from_secs(8);

/// A running tunnel. Dropping it stops its tasks without ending the sessions; call
/// [`stop`](Self::stop) to end them cleanly.
pub struct Tunnel {
    events: mpsc::UnboundedReceiver<TunnelEvent>,
    traffic: Arc<Traffic>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Tunnel {
    /// Binds every listener (127.0.0.1), then opens the first session of each, so that a
    /// refusal (document, permissions, agent) is reported here; further sessions
    /// (`sessions` > 1) open as connections arrive.
    pub async fn start(
        client: AwsClient,
        target: String,
        specs: Vec<ForwardSpec>,
        sessions: usize,
    ) -> Result<Tunnel, TunnelError> {
        let mut listeners = Vec::new();
        for spec in &specs {
            listeners.push(bind(spec.local_port).await?);
        }
        let (events_tx, events) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let ids = Arc::new(AtomicU64::new(1));
        let traffic = Arc::new(Traffic::default());
        for (index, (spec, listener)) in specs.into_iter().zip(listeners).enumerate() {
            let local = listener.local_addr().map_err(|error| TunnelError::Listen {
                port: spec.local_port,
                error,
            })?;
            let request = spec.destination.request(&target, Some(local.port()));
            let first = open_port_session(&client, &request)
                .await
                .map_err(|error| TunnelError::Open {
                    remote: spec.destination.describe(),
                    error,
                })?;
            let _ = events_tx.send(TunnelEvent::Listening {
                listener: index,
                local,
                remote: spec.destination.describe(),
            });
            let acceptor = Acceptor {
                index,
                listener,
                client: client.clone(),
                request,
                events: events_tx.clone(),
                stop: stop_rx.clone(),
                sessions: sessions.max(1),
                slots: Vec::new(),
                ids: Arc::clone(&ids),
                traffic: Arc::clone(&traffic),
            };
            tasks.push(tokio::spawn(acceptor.run(first)));
        }
        Ok(Tunnel {
            events,
            traffic,
            stop,
            tasks,
        })
    }

    /// One listener on 127.0.0.1:`local_port` (0: a free port) for a port session that is
    /// already open (gangway as `session-manager-plugin`: the AWS CLI started it). Binds after
    /// the handshake, as the plugin does; when the service ends `first`, new sessions are
    /// started with `request`. Returns the tunnel and the address it listens on.
    pub async fn adopt(
        client: AwsClient,
        request: crate::aws::StartSessionRequest,
        local_port: u16,
        first: OpenSession,
    ) -> Result<(Tunnel, SocketAddr), TunnelError> {
        let listener = bind(local_port).await?;
        let local = listener.local_addr().map_err(|error| TunnelError::Listen {
            port: local_port,
            error,
        })?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let traffic = Arc::new(Traffic::default());
        let _ = events_tx.send(TunnelEvent::Listening {
            listener: 0,
            local,
            remote: request
                .parameters
                .get("portNumber")
                .and_then(|ports| ports.first())
                .cloned()
                .unwrap_or_default(),
        });
        let acceptor = Acceptor {
            index: 0,
            listener,
            client,
            request,
            events: events_tx,
            stop: stop_rx,
            sessions: 1,
            slots: Vec::new(),
            ids: Arc::new(AtomicU64::new(1)),
            traffic: Arc::clone(&traffic),
        };
        let tasks = vec![tokio::spawn(acceptor.run(first))];
        Ok((
            Tunnel {
                events,
                traffic,
                stop,
                tasks,
            },
            local,
        ))
    }

    /// Bytes carried so far by every connection of every listener, live.
    pub fn traffic(&self) -> Arc<Traffic> {
        Arc::clone(&self.traffic)
    }

    /// The next event; `None` once every listener has stopped.
    pub async fn next_event(&mut self) -> Option<TunnelEvent> {
        self.events.recv().await
    }

    /// Stops accepting, ends every session (TerminateSession flag where the agent takes it,
    /// then the API), and waits for that, boundedly. Events emitted meanwhile are returned.
    pub async fn stop(mut self) -> Vec<TunnelEvent> {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let _ = tokio::time::timeout(STOP_WITHIN, futures_join(tasks)).await;
        let mut left = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            left.push(event);
        }
        left
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

async fn bind(port: u16) -> Result<TcpListener, TunnelError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(address).await.map_err(|error| {
        if error.kind() == std::io::ErrorKind::AddrInUse {
            TunnelError::PortInUse {
                port,
                holder: holder_of_port(port),
            }
        } else {
            TunnelError::Listen { port, error }
        }
    })
}

struct SlotHandle {
    to_slot: mpsc::UnboundedSender<Accepted>,
    load: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

/// Accepts a listener's connections and spreads them over its slots.
struct Acceptor {
    index: usize,
    listener: TcpListener,
    client: AwsClient,
    request: crate::aws::StartSessionRequest,
    events: mpsc::UnboundedSender<TunnelEvent>,
    stop: watch::Receiver<bool>,
    sessions: usize,
    slots: Vec<SlotHandle>,
    ids: Arc<AtomicU64>,
    traffic: Arc<Traffic>,
}

impl Acceptor {
    async fn run(mut self, first: OpenSession) {
        self.add_slot(Some(first));
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = stopped(&mut self.stop) => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let connection = self.ids.fetch_add(1, Ordering::Relaxed);
                    self.dispatch(Accepted {
                        connection,
                        stream,
                        peer,
                        traffic: Arc::clone(&self.traffic),
                    });
                }
                // Out of file descriptors and the like: wait a little instead of spinning.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            if self.slots.iter().all(|slot| slot.task.is_finished()) {
                break; // every slot gave up: the events said why
            }
        }
        drop(self.listener);
        for slot in self.slots {
            drop(slot.to_slot);
            let _ = slot.task.await;
        }
    }

    /// An idle slot if there is one; else a new slot while fewer than `sessions`; else the
    /// least loaded. Slots that gave up take nothing.
    fn dispatch(&mut self, accepted: Accepted) {
        let live = |slot: &&SlotHandle| !slot.task.is_finished();
        let load = |slot: &SlotHandle| slot.load.load(Ordering::Acquire);
        let idle = self
            .slots
            .iter()
            .position(|slot| live(&slot) && load(slot) == 0);
        let chosen = match idle {
            Some(index) => index,
            None if self.slots.len() < self.sessions => {
                self.add_slot(None);
                self.slots.len() - 1
            }
            None => match self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| live(slot))
                .min_by_key(|(_, slot)| load(slot))
            {
                Some((index, _)) => index,
                None => return, // dropped: the local client sees the connection close
            },
        };
        let slot = &self.slots[chosen];
        slot.load.fetch_add(1, Ordering::AcqRel);
        if slot.to_slot.send(accepted).is_err() {
            slot.load.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn add_slot(&mut self, first: Option<OpenSession>) {
        let (to_slot, incoming) = mpsc::unbounded_channel();
        let load = Arc::new(AtomicUsize::new(0));
        let slot = Slot {
            listener: self.index,
            client: self.client.clone(),
            request: self.request.clone(),
            events: self.events.clone(),
            load: Arc::clone(&load),
            stop: self.stop.clone(),
            incoming,
        };
        let task = tokio::spawn(slot.run(first));
        self.slots.push(SlotHandle {
            to_slot,
            load,
            task,
        });
    }
}
