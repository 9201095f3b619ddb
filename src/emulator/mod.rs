//! The local AWS emulator: EC2 and SSM APIs plus the Session Manager agent.
//!
//! One HTTP port serves everything (`router.rs`): SSM JSON 1.1 (`ssm/`), KMS JSON 1.1
//! (`kms/`, for KMS-encrypted sessions), EC2 Query (`ec2/`, security groups included), STS,
//! CloudTrail LookupEvents over the trail of every call served (`trail/`), EventBridge
//! rules that run against that trail (`events/`) and the SNS topics they deliver to (`sns/`)
//! and the websocket of each session's StreamUrl (the agent, issue 4). State shared by all of
//! them lives in `state::EmulatorState`; sessions in `sessions::SessionRegistry`.

mod api;
pub mod authorize;
pub mod clean_env;
pub mod clock;
pub mod demo_past;
mod ec2;
pub mod events;
pub mod fleet;
mod identity;
pub mod ids;
mod json11;
pub mod kms;
mod pagination;
pub mod places;
mod router;
pub mod run_dir;
mod server;
mod session_token;
pub mod sessions;
pub mod sns;
pub mod ssm;
pub mod state;
mod sts;
pub mod trail;
mod wildcard;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use fleet::{Fleet, FleetError};
pub use router::ResponseBody;
pub use state::EmulatorState;

/// How to run the emulator. `EmulatorConfig::new(fleet)` gives the defaults: loopback,
/// a free port, the fleet's own timers.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Without it only loopback addresses are accepted: the emulator runs real shells.
    pub allow_remote: bool,
    pub fleet: Fleet,
    /// Overrides the fleet's idle session timeout (tests use seconds).
    pub idle_timeout: Option<Duration>,
    /// Overrides the fleet's maximum session duration.
    pub max_duration: Option<Duration>,
    /// Fault injection on the data channel (issue 4); off by default.
    pub faults: faults::FaultSpec,
    /// The agent's output pace (protocol.md §0 item 16). `AgentPace::Off` is for benchmarks
    /// of gangway's own ceiling only.
    pub agent_pace: agent::process::AgentPace,
    /// How long a session whose websocket dropped waits for the client to resume before
    /// its process is killed and the session ends.
    pub detached_grace: Duration,
    /// How long after its headers a request body may take to arrive in full
    /// (`api::DEFAULT_BODY_DEADLINE`); a later body gets 408 and its connection is closed.
    pub body_deadline: Duration,
    /// How many data-channel websockets may be open at once without having sent a valid
    /// OpenDataChannel yet (`agent::DEFAULT_MAX_UNAUTHENTICATED`); more are refused.
    pub max_unauthenticated_sockets: usize,
    /// How long a started session may stay `Connecting` (no data channel opened) before it
    /// ends as Failed (`sessions::DEFAULT_CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
    /// Sessions one user may hold that have not ended (`sessions::DEFAULT_MAX_ACTIVE_PER_OWNER`);
    /// StartSession past it gets `ServiceQuotaExceededException`.
    pub max_sessions_per_owner: usize,
}

impl EmulatorConfig {
    pub fn new(fleet: Fleet) -> Self {
        let faults = fleet.faults.clone();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_remote: false,
            fleet,
            idle_timeout: None,
            max_duration: None,
            faults,
            agent_pace: agent::process::AgentPace::Agent,
            detached_grace: agent::DEFAULT_DETACHED_GRACE,
            body_deadline: api::DEFAULT_BODY_DEADLINE,
            max_unauthenticated_sockets: agent::DEFAULT_MAX_UNAUTHENTICATED,
            connect_timeout: sessions::DEFAULT_CONNECT_TIMEOUT,
            max_sessions_per_owner: sessions::DEFAULT_MAX_ACTIVE_PER_OWNER,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "refusing to listen on {0}: the emulator runs real shells, so it listens on loopback only unless --allow-remote is given"
    )]
    RemoteNotAllowed(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error("invalid --faults: {0}")]
    Faults(#[from] faults::FaultSpecError),
}

/// A running emulator. Dropping it (or `shutdown()`) stops serving and ends every session.
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`: the endpoint URL for SDK clients and the AWS CLI.
    pub endpoint: String,
    pub local_addr: SocketAddr,
    state: Arc<EmulatorState>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    /// Removes the run directory when the last emulator of the process stops.
    run_dir: Option<run_dir::RunDirGuard>,
}

/// How long a clean stop waits for the agent tasks to send channel_closed and flush it.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl RunningEmulator {
    pub fn state(&self) -> &Arc<EmulatorState> {
        &self.state
    }

    /// Stops accepting, ends open connections and asks every agent task to end its session;
    /// waits (at most [`SHUTDOWN_GRACE`]) until they have, so each attached client gets its
    /// channel_closed ("Session terminated by emulator shutdown.") and ends at once instead
    /// of trying to resume against a server that is gone (issue 17, F6). Then the run
    /// directory goes, if no other emulator of this process runs.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        let _ = (&mut self.server).await;
        if tokio::time::timeout(SHUTDOWN_GRACE, self.state.agents.until_empty())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.state.agents.running(),
                "sessions still ending after {SHUTDOWN_GRACE:?}; stopping anyway"
            );
        }
        self.run_dir.take();
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.commands.cancel_all();
        for record in self.state.sessions.active() {
            let _ = self
                .state
                .sessions
                .request_terminate(&record.id, "emulator shutdown");
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.signal_stop();
        self.server.abort();
    }
}

/// Binds and starts serving in the background; returns once the port is open.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let listen = config.listen;
    if !config.allow_remote && !listen.ip().is_loopback() {
        return Err(EmulatorError::RemoteNotAllowed(listen));
    }
    // Finds out once, off the runtime's threads, whether sessions can have their own host
    // name, so the first session does not wait for it.
    tokio::task::spawn_blocking(agent::own_host_name::supported);
    let run_dir = run_dir::acquire();
    // Directories left by emulators that did not stop cleanly (kill -9, a crash).
    tokio::task::spawn_blocking(|| {
        let removed = run_dir::sweep_stale(&std::env::temp_dir());
        if removed > 0 {
            tracing::info!(
                removed,
                "removed run directories of emulators no longer running"
            );
        }
    });
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: listen,
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: listen,
            source,
        })?;
    let endpoint = format!("http://{}", dialable(local_addr));
    let state = Arc::new(EmulatorState::new(config, endpoint.clone()));
    if let Some(receiver) = state.bus.take_receiver() {
        tokio::spawn(events::delivery::run(Arc::downgrade(&state), receiver));
    }
    let (stop, stopped) = oneshot::channel();
    let server = tokio::spawn(server::accept_loop(listener, Arc::clone(&state), stopped));
    Ok(RunningEmulator {
        endpoint,
        local_addr,
        state,
        stop: Some(stop),
        server,
        run_dir: Some(run_dir),
    })
}

/// An address a client can dial: a wildcard listen address is reached through loopback.
fn dialable(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], v4.port()))
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, v6.port()))
        }
        other => other,
    }
}

pub mod agent;
pub mod faults;
