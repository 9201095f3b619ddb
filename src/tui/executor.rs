//! Runs effects on tokio tasks and answers with messages, so no AWS call ever blocks input
//! (issue 6). Each region's client works independently; answers carry the region. Errors are
//! reduced to `LoadError` here: `AwsError`'s text never holds tokens or signed URLs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::aws::retry::{Patience, with_patience};
use crate::aws::{AccessScope, AwsClient, AwsError, HistoryFilter, Instance, diagnose};
use crate::local::activity;
use crate::shell::{PaneControl, SessionRecords};
use crate::tui::effect::Effect;
use crate::tui::model::{ErrorKind, LoadError, SessionRef, ShellTarget};
use crate::tui::msg::{HistoryPage, Msg, PaneMsg};
use crate::tui::pane_task::{self, PaneStart, PaneTask};
use crate::tui::tunnel_list::TunnelRequest;
use crate::tunnel::{Destination, ForwardSpec, Tunnel, TunnelEvent};

/// How long quitting waits for an embedded shell's session to end.
const CLOSE_PANES_WITHIN: Duration = Duration::from_secs(3);

/// How often a running tunnel reports its byte totals (the view's bytes/s).
const TRAFFIC_EVERY: Duration = Duration::from_secs(1);

/// A tunnel's task and the switch that stops it.
struct TunnelTask {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub fn load_error(error: &AwsError) -> LoadError {
    let kind = match error {
        AwsError::Credentials { .. } | AwsError::NoRegion => ErrorKind::Credentials,
        AwsError::Unreachable { .. } => ErrorKind::Unreachable,
        AwsError::AccessDenied(_) => ErrorKind::AccessDenied,
        _ => ErrorKind::Other,
    };
    LoadError {
        kind,
        message: error.to_string(),
        hint: error.hint(),
    }
}

/// How far back `:audit` reads CloudTrail (`gangway audit`'s default `--since`).
const AUDIT_SPAN: std::time::Duration = std::time::Duration::from_secs(86_400);

#[derive(Clone)]
pub struct Executor {
    clients: Arc<Vec<AwsClient>>,
    messages: UnboundedSender<Msg>,
    tag_filters: Arc<Vec<(String, String)>>,
    scope: Arc<AccessScope>,
    /// Where the activity files of this machine's sessions are read from; `None`: nowhere.
    activity_dir: Option<Arc<PathBuf>>,
    /// The tunnels started from the UI, by id; they run on the UI's runtime until stopped.
    tunnels: Arc<Mutex<HashMap<u64, TunnelTask>>>,
    /// Fleet listings in flight at once (`FLEET_CONCURRENCY`).
    fleet_loads: Arc<tokio::sync::Semaphore>,
    /// The shells inside the UI, by pane id, while their sessions run.
    panes: Arc<Mutex<HashMap<u64, PaneTask>>>,
    /// Where embedded shells are recorded and keep their activity files.
    records: Arc<SessionRecords>,
}

/// How many account × region fleet listings run at once; the others wait their turn and
/// their rows follow as each answers.
pub const FLEET_CONCURRENCY: usize = 8;

/// Sessions as the UI keys them: their `region` becomes the client's location, so that a
/// terminate or a history page goes back to the account it came from.
fn located(
    client: &AwsClient,
    mut sessions: Vec<crate::aws::types::SessionInfo>,
) -> Vec<crate::aws::types::SessionInfo> {
    if client.account().is_some() {
        for session in &mut sessions {
            session.region = client.location();
        }
    }
    sessions
}

impl Executor {
    pub fn new(
        clients: Vec<AwsClient>,
        messages: UnboundedSender<Msg>,
        tag_filters: Vec<(String, String)>,
        scope: AccessScope,
    ) -> Self {
        Self {
            clients: Arc::new(clients),
            messages,
            tag_filters: Arc::new(tag_filters),
            scope: Arc::new(scope),
            activity_dir: None,
            tunnels: Arc::default(),
            fleet_loads: Arc::new(tokio::sync::Semaphore::new(FLEET_CONCURRENCY)),
            panes: Arc::default(),
            records: Arc::new(SessionRecords::default()),
        }
    }

    /// Reads the activity files in `dir` with every sessions load (the sessions view's idle
    /// column for sessions run by other gangway processes on this machine).
    pub fn with_activity_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.activity_dir = dir.map(Arc::new);
        self
    }

    /// Where embedded shells' recordings and activity files go (`[recording]`).
    pub fn with_records(mut self, records: SessionRecords) -> Self {
        self.records = Arc::new(records);
        self
    }

    /// The activity files, read off the async workers (small files, stale ones removed).
    fn load_local_activity(&self) {
        let Some(dir) = self.activity_dir.clone() else {
            return;
        };
        let messages = self.messages.clone();
        tokio::task::spawn_blocking(move || {
            let activity = activity::read_all(&dir)
                .into_iter()
                .map(|entry| (entry.session_id.clone(), entry.last_activity()))
                .collect();
            let _ = messages.send(Msg::LocalActivity(activity));
        });
    }

    /// The client of a location: its region, or `ACCOUNT/REGION` when several accounts
    /// are shown (`AwsClient::location`). Every "region" the model keeps is one of these.
    pub fn client(&self, location: &str) -> Option<&AwsClient> {
        self.clients.iter().find(|c| c.location() == location)
    }

    /// Starts an effect. `OpenShell` is not handled here: the runtime must hand over the
    /// terminal for it.
    pub fn spawn(&self, effect: Effect) {
        match effect {
            Effect::LoadFleet => self.per_region(|this, client| async move {
                // Bounded: twenty accounts × five regions must not all list at once.
                let _permit = this.fleet_loads.acquire().await;
                let result = client.list_instances(&this.tag_filters).await;
                Msg::FleetLoaded {
                    region: client.location(),
                    result: result.map_err(|e| load_error(&e)),
                }
            }),
            Effect::CheckConnectivity(instance) => self.check(*instance),
            Effect::LoadSessions => {
                self.load_local_activity();
                self.per_region(|_, client| async move {
                    let result = client
                        .active_sessions()
                        .await
                        .map(|sessions| located(&client, sessions));
                    Msg::SessionsLoaded {
                        region: client.location(),
                        result: result.map_err(|e| load_error(&e)),
                    }
                });
            }
            Effect::LoadHistory {
                region,
                query,
                next_token,
            } => self.history(region, query, next_token),
            Effect::LoadPreferences => self.per_region(|_, client| async move {
                let result = client.session_preferences().await;
                Msg::PreferencesLoaded {
                    region: client.location(),
                    result: result.map_err(|e| load_error(&e)),
                }
            }),
            Effect::LoadAudit => self.per_region(|_, client| async move {
                let since = std::time::SystemTime::now().checked_sub(AUDIT_SPAN);
                let result = client.session_events(since).await;
                Msg::AuditLoaded {
                    region: client.location(),
                    result: result.map_err(|e| load_error(&e)),
                }
            }),
            Effect::Terminate(session) => self.terminate(session),
            Effect::SendCommand { region, request } => {
                let notice = self.retry_notice();
                self.in_region(&region, move |client| async move {
                    // Throttling is waited out as `gangway run` waits it out.
                    let result =
                        with_patience(Patience::WRITES, notice, || client.send_command(&request))
                            .await;
                    Msg::CommandSent {
                        region: client.location(),
                        result: result.map_err(|e| load_error(&e)),
                    }
                });
            }
            Effect::LoadCommands => self.per_region(|this, client| async move {
                let result = with_patience(Patience::REPEATED_READS, this.retry_notice(), || {
                    client.commands_page(None, crate::aws::commands::PAGE_SIZE)
                })
                .await
                .map(|(commands, _)| commands);
                Msg::CommandsLoaded {
                    region: client.location(),
                    result: result.map_err(|e| load_error(&e)),
                }
            }),
            Effect::LoadInvocations { region, command_id } => {
                let notice = self.retry_notice();
                self.in_region(&region, move |client| async move {
                    // Throttling is waited out; another failed round is shown and the next
                    // tick tries again.
                    let result = with_patience(Patience::REPEATED_READS, notice, || {
                        client.command_invocations(&command_id)
                    })
                    .await
                    .map(|(all, pages)| (all, pages.max(1)));
                    Msg::InvocationsLoaded {
                        command_id,
                        result: result.map_err(|e| load_error(&e)),
                    }
                });
            }
            Effect::LoadOutput {
                region,
                command_id,
                instance_id,
            } => {
                let notice = self.retry_notice();
                self.in_region(&region, move |client| async move {
                    let result = with_patience(Patience::REPEATED_READS, notice, || {
                        client.command_output(&command_id, &instance_id)
                    })
                    .await;
                    Msg::OutputLoaded {
                        command_id,
                        instance_id,
                        result: result.map_err(|e| load_error(&e)),
                    }
                });
            }
            Effect::StartTunnel {
                id,
                target,
                request,
            } => self.start_tunnel(id, target, request),
            Effect::StopTunnel(id) => {
                if let Some(tunnel) = self.tunnels_lock().get(&id) {
                    let _ = tunnel.stop.send(true);
                }
            }
            Effect::OpenShell { .. } => tracing::error!("OpenShell reached the task executor"),
            Effect::OpenPane {
                id,
                target,
                reason,
                size,
                screen,
            } => self.open_pane(PaneStart {
                id,
                target,
                reason,
                size,
                screen,
            }),
            Effect::PaneInput { id, bytes } => self.pane_input(id, bytes),
            Effect::PaneResize { id, size } => {
                if let Some(pane) = self.panes_lock().get(&id) {
                    let _ = pane.control.try_send(PaneControl::Resize(size.0, size.1));
                }
            }
            Effect::ClosePane(id) => {
                if let Some(pane) = self.panes_lock().remove(&id) {
                    // The task ends the session (TerminateSession) and reports the end,
                    // which finds no pane and is dropped.
                    let _ = pane.control.try_send(PaneControl::Close);
                }
            }
        }
    }

    /// Where a Run Command call that AWS throttles says it waits: the status line.
    fn retry_notice(&self) -> impl Fn(String) + Send + Sync + 'static {
        let messages = self.messages.clone();
        move |line| {
            let _ = messages.send(Msg::Retrying(line));
        }
    }

    fn per_region<F, Fut>(&self, call: F)
    where
        F: Fn(Executor, AwsClient) -> Fut,
        Fut: Future<Output = Msg> + Send + 'static,
    {
        for client in self.clients.iter() {
            let future = call(self.clone(), client.clone());
            let messages = self.messages.clone();
            tokio::spawn(async move {
                let _ = messages.send(future.await);
            });
        }
    }

    /// One call in one region's client (none when the region is not shown: nothing to do).
    fn in_region<F, Fut>(&self, region: &str, call: F)
    where
        F: FnOnce(AwsClient) -> Fut,
        Fut: Future<Output = Msg> + Send + 'static,
    {
        let Some(client) = self.client(region).cloned() else {
            return;
        };
        let future = call(client);
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let _ = messages.send(future.await);
        });
    }

    fn check(&self, instance: Instance) {
        let Some(client) = self.client(&instance.location()).cloned() else {
            return;
        };
        let messages = self.messages.clone();
        let scope = AccessScope::clone(&self.scope);
        tokio::spawn(async move {
            let result = match client.connection_status(&instance.id).await {
                Ok(connected) => Ok(diagnose(&instance, Some(connected), &scope)),
                Err(e) if e.is_access_expired() => {
                    let expired = AccessScope {
                        access_expired: true,
                        ..scope
                    };
                    Ok(diagnose(&instance, Some(false), &expired))
                }
                Err(e) => Err(load_error(&e)),
            };
            let _ = messages.send(Msg::Connectivity {
                id: instance.id.clone(),
                result,
            });
        });
    }

    fn history(&self, region: Option<String>, query: HistoryFilter, next_token: Option<String>) {
        let filter = query.clone();
        for client in self
            .clients
            .iter()
            .filter(|c| region.as_deref().is_none_or(|r| r == c.location()))
        {
            let (client, filter, query, token) = (
                client.clone(),
                filter.clone(),
                query.clone(),
                next_token.clone(),
            );
            let messages = self.messages.clone();
            tokio::spawn(async move {
                let result = client
                    .session_history(&filter, token)
                    .await
                    .map(|(sessions, next_token)| HistoryPage {
                        sessions: located(&client, sessions),
                        next_token,
                    })
                    .map_err(|e| load_error(&e));
                let _ = messages.send(Msg::HistoryLoaded {
                    region: client.location(),
                    query,
                    result,
                });
            });
        }
    }

    fn terminate(&self, session: SessionRef) {
        let Some(client) = self.client(&session.region).cloned() else {
            return;
        };
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let result = client
                .terminate_session(&session.session_id)
                .await
                .map_err(|e| load_error(&e));
            let _ = messages.send(Msg::Terminated {
                session_id: session.session_id,
                result,
            });
        });
    }
}

impl Executor {
    fn tunnels_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TunnelTask>> {
        // A panic while holding the lock leaves the map usable: it is only ids and handles.
        self.tunnels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts tunnel `id` on a task of this runtime: the tunnel layer's `Tunnel` (the same
    /// one `gangway forward` runs), its events and traffic sent as messages until it ends.
    fn start_tunnel(&self, id: u64, target: ShellTarget, request: TunnelRequest) {
        let messages = self.messages.clone();
        let Some(client) = self.client(&target.region).cloned() else {
            let _ = messages.send(Msg::TunnelEnded {
                id,
                reason: format!("no client for region {}", target.region),
            });
            return;
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run_tunnel(client, id, target, request, stopped, messages));
        let mut tunnels = self.tunnels_lock();
        tunnels.retain(|_, tunnel| !tunnel.task.is_finished());
        tunnels.insert(id, TunnelTask { stop, task });
    }

    /// Stops every tunnel and waits for them to end their sessions (each is bounded by the
    /// tunnel layer's own stop deadline). The runtime calls this when the UI quits.
    fn panes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, PaneTask>> {
        self.panes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open_pane(&self, start: PaneStart) {
        let id = start.id;
        let Some(client) = self.client(&start.target.region).cloned() else {
            let reason = format!("no client for region {}", start.target.region);
            let _ = self.messages.send(Msg::Pane {
                id,
                event: PaneMsg::Ended(Err(reason)),
            });
            return;
        };
        let task = pane_task::spawn(
            client,
            start,
            (*self.records).clone(),
            self.messages.clone(),
        );
        self.panes_lock().insert(id, task);
    }

    /// Keystrokes in order; a session that takes none for [`pane_task::INPUT_QUEUE`]
    /// messages gets no more, and the pane says so, rather than an unbounded queue.
    fn pane_input(&self, id: u64, bytes: Vec<u8>) {
        let refused = match self.panes_lock().get(&id) {
            Some(pane) => pane.input.try_send(bytes).is_err(),
            None => false,
        };
        if refused {
            let _ = self.messages.send(Msg::Pane {
                id,
                event: PaneMsg::Notice(
                    "input dropped: the session is not taking input (resuming?)".into(),
                ),
            });
        }
    }

    /// Ends every embedded shell's session (the UI quits), each within the shell layer's
    /// terminate grace.
    pub async fn close_panes(&self) {
        let panes: Vec<PaneTask> = self.panes_lock().drain().map(|(_, p)| p).collect();
        for pane in &panes {
            let _ = pane.control.try_send(PaneControl::Close);
        }
        for pane in panes {
            let _ = tokio::time::timeout(CLOSE_PANES_WITHIN, pane.task).await;
        }
    }

    pub async fn stop_tunnels(&self) {
        let tunnels: Vec<TunnelTask> = self.tunnels_lock().drain().map(|(_, t)| t).collect();
        for tunnel in &tunnels {
            let _ = tunnel.stop.send(true);
        }
        for tunnel in tunnels {
            let _ = tunnel.task.await;
        }
    }
}

async fn run_tunnel(
    client: AwsClient,
    id: u64,
    target: ShellTarget,
    request: TunnelRequest,
    mut stop: watch::Receiver<bool>,
    messages: UnboundedSender<Msg>,
) {
    let spec = ForwardSpec {
        local_port: request.local_port,
        destination: match request.host {
            Some(host) => Destination::RemoteHost {
                host,
                port: request.remote_port,
            },
            None => Destination::Port(request.remote_port),
        },
    };
    let ended = |reason: String| {
        let _ = messages.send(Msg::TunnelEnded { id, reason });
    };
    let started = tokio::select! {
        started = Tunnel::start(client, target.instance_id.to_string(), vec![spec], 1) => started,
        _ = stop.wait_for(|stop| *stop) => return ended("stopped before it started".to_owned()),
    };
    let mut tunnel = match started {
        Ok(tunnel) => tunnel,
        Err(error) => return ended(error.to_string()),
    };
    let traffic = tunnel.traffic();
    let mut ticks = tokio::time::interval(TRAFFIC_EVERY);
    let mut last = Instant::now();
    let reason = loop {
        tokio::select! {
            event = tunnel.next_event() => match event {
                Some(event) => {
                    let gave_up = match &event {
                        TunnelEvent::OpenFailed { error, retrying: false, .. } => {
                            Some(format!("could not open a new session: {error}"))
                        }
                        _ => None,
                    };
                    let _ = messages.send(Msg::Tunnel { id, event });
                    if let Some(reason) = gave_up {
                        break reason;
                    }
                }
                None => break "every session ended".to_owned(),
            },
            _ = ticks.tick() => {
                let _ = messages.send(Msg::TunnelTraffic {
                    id,
                    up: traffic.up(),
                    down: traffic.down(),
                    interval: last.elapsed(),
                });
                last = Instant::now();
            }
            _ = stop.wait_for(|stop| *stop) => break "stopped".to_owned(),
        }
    };
    for event in tunnel.stop().await {
        let _ = messages.send(Msg::Tunnel { id, event });
    }
    ended(reason);
}
