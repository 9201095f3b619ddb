//! One session slot of a listener: it opens a port session (or is given the first one),
//! runs the pump of the session's mode over the connections handed to it, and when the
//! service ends the session, opens a new one by itself and carries on with the connections
//! still waiting. `--sessions N` gives a listener N slots.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::event::TunnelEvent;
use super::open::{OpenSession, mode_name, open_port_session, terminate};
use super::pump::{Accepted, PumpContext, PumpEnd, stopped};
use super::{basic_pump, mux_pump};
use crate::aws::{AwsClient, StartSessionRequest};
use crate::proto::port_mode::PortMode;

/// Waits between attempts to open a session again: about two minutes in all, which
/// outlasts a service hiccup or a laptop's network change; then the slot gives up.
const REOPEN_DELAYS: [u64; 8] = [1, 2, 4, 8, 15, 30, 30, 30];
/// After the TerminateSession flag, how long the agent may take to close the channel
/// before the API is asked instead.
const FLAG_GRACE: Duration = Duration::from_secs(1);
/// A session that ends sooner than this after it opened counts as a failed open: the next
/// one waits as after one ([`REOPEN_DELAYS`]), and the slot gives up when they run out.
/// Without it, a destination the agent cannot reach in basic mode (the agent dials it as
/// the session starts and fails the session, §6.3) started a new session every ~80 ms.
const SHORT_LIVED: Duration = Duration::from_secs(10);

pub(crate) struct Slot {
    pub(crate) listener: usize,
    pub(crate) client: AwsClient,
    pub(crate) request: StartSessionRequest,
    pub(crate) events: mpsc::UnboundedSender<TunnelEvent>,
    pub(crate) load: Arc<AtomicUsize>,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) incoming: mpsc::UnboundedReceiver<Accepted>,
}

impl Slot {
    fn emit(&self, event: TunnelEvent) {
        let _ = self.events.send(event);
    }

    /// Runs until the tunnel stops or no session can be opened any more.
    pub(crate) async fn run(mut self, first: Option<OpenSession>) {
        let mut next = first;
        let mut opened_before = 0u32;
        // Sessions in a row that ended soon after opening.
        let mut short_lived = 0usize;
        loop {
            let session = match next.take() {
                Some(session) => session,
                None => match self.open_with_retries().await {
                    Some(session) => session,
                    None => return,
                },
            };
            self.emit(TunnelEvent::SessionOpened {
                listener: self.listener,
                session_id: session.session_id.clone(),
                mode: mode_name(session.offer.mode),
                reestablished: opened_before,
            });
            opened_before = opened_before.saturating_add(1);
            let opened_at = tokio::time::Instant::now();
            let OpenSession {
                mut channel,
                session_id,
                offer,
            } = session;
            let mut ctx = PumpContext {
                listener: self.listener,
                session_id: &session_id,
                events: &self.events,
                load: &self.load,
                stop: &mut self.stop,
                incoming: &mut self.incoming,
            };
            let end = match offer.mode {
                PortMode::Mux { keepalive } => {
                    mux_pump::run(&mut channel, keepalive, &mut ctx).await
                }
                PortMode::Basic => basic_pump::run(&mut channel, &mut ctx).await,
                PortMode::StandardStream => {
                    PumpEnd::Ended("the agent offered a stream session, not port forwarding".into())
                }
            };
            match end {
                PumpEnd::Stopped => {
                    if offer.terminate_flag && channel.input().terminate().await.is_ok() {
                        // Ctrl-C in a tunnel means stop (§6.3): the flag, as the plugin
                        // sends it; the agent closes the channel when it has it.
                        let _ = tokio::time::timeout(FLAG_GRACE, async {
                            while let Some(event) = channel.next_event().await {
                                if event.is_final() {
                                    return;
                                }
                            }
                        })
                        .await;
                    }
                    drop(channel);
                    terminate(&self.client, &session_id).await;
                    return;
                }
                PumpEnd::Ended(reason) => {
                    let stopping = *self.stop.borrow();
                    short_lived = if opened_at.elapsed() < SHORT_LIVED {
                        short_lived + 1
                    } else {
                        0
                    };
                    let delay = match short_lived {
                        0 => Some(0),
                        n => REOPEN_DELAYS.get(n - 1).copied(),
                    };
                    let reopening = !stopping && delay.is_some();
                    self.emit(TunnelEvent::SessionEnded {
                        listener: self.listener,
                        session_id: session_id.clone(),
                        reason: reason.clone(),
                        reopening,
                    });
                    drop(channel);
                    // The service may still count it as connected (a lost resume).
                    terminate(&self.client, &session_id).await;
                    if !reopening {
                        if !stopping {
                            self.emit(TunnelEvent::OpenFailed {
                                listener: self.listener,
                                error: format!("every new session ended at once: {reason}"),
                                retrying: false,
                            });
                        }
                        return;
                    }
                    if let Some(seconds) = delay.filter(|seconds| *seconds > 0) {
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(seconds)) => {}
                            () = stopped(&mut self.stop) => return,
                        }
                    }
                }
            }
        }
    }

    /// Opens a new session, retrying transient failures; `None` when stopped or given up.
    async fn open_with_retries(&mut self) -> Option<OpenSession> {
        let mut attempt = 0usize;
        loop {
            let opened = tokio::select! {
                opened = open_port_session(&self.client, &self.request) => opened,
                () = stopped(&mut self.stop) => return None,
            };
            let error = match opened {
                Ok(session) => return Some(session),
                Err(error) => error,
            };
            let delay = REOPEN_DELAYS
                .get(attempt)
                .copied()
                .filter(|_| error.is_transient());
            self.emit(TunnelEvent::OpenFailed {
                listener: self.listener,
                error: error.to_string(),
                retrying: delay.is_some(),
            });
            let delay = delay?;
            attempt += 1;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(delay)) => {}
                () = stopped(&mut self.stop) => return None,
            }
        }
    }
}
