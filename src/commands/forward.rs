//! `gangway forward TARGET [LOCAL:]REMOTE ...`: local listeners to ports on an instance, or
//! on a host it reaches (`--host`), through port sessions (the tunnel layer). It prints
//! where it listens on stdout, and what happens to the tunnel on stderr (or every event as a
//! JSON line on stdout with `--json`). Ctrl-C stops it.

use std::net::SocketAddr;
use std::process::ExitCode;

use super::connect::{
    ConnectError, check_agent_runs, check_reachable, find_target, target_clients,
};
use super::exit;
use crate::cli::ForwardArgs;
use crate::text::escape_for_terminal;
use crate::tunnel::{Destination, ForwardSpec, Tunnel, TunnelError, TunnelEvent};

/// Why `forward` stopped with an error; one line each.
#[derive(Debug, thiserror::Error)]
enum ForwardError {
    #[error(transparent)]
    Target(#[from] ConnectError),
    #[error(transparent)]
    Tunnel(#[from] TunnelError),
    #[error("{0}")]
    GaveUp(String),
    #[error("cannot watch for Ctrl-C: {0}")]
    Signals(std::io::Error),
}

impl ForwardError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Target(error) => error.exit_status(),
            Self::Tunnel(TunnelError::PortInUse { .. }) => exit::LOCAL_PORT_IN_USE,
            Self::Tunnel(TunnelError::Listen { .. }) => exit::USAGE,
            Self::Tunnel(TunnelError::Open { error, .. }) => exit::for_open_error(error),
            Self::GaveUp(_) => exit::CONNECTION_LOST,
            Self::Signals(_) => exit::OTHER,
        }
    }
}

/// Entry point of `gangway forward`.
pub fn run(args: ForwardArgs) -> ExitCode {
    let args = &args;
    super::run_session(
        "forward",
        || super::settings::scope(args.config.as_deref(), &args.aws.tags),
        async |scope| forward(args, &scope).await,
        |result| match result {
            Ok(()) => ExitCode::from(exit::OK),
            Err(error) => super::failed("forward", &error, error.exit_status()),
        },
    )
}

fn specs(args: &ForwardArgs) -> Vec<ForwardSpec> {
    args.ports
        .iter()
        .map(|pair| ForwardSpec {
            local_port: pair.local,
            destination: match &args.host {
                Some(host) => Destination::RemoteHost {
                    host: host.clone(),
                    port: pair.remote,
                },
                None => Destination::Port(pair.remote),
            },
        })
        .collect()
}

async fn forward(args: &ForwardArgs, scope: &[(String, String)]) -> Result<(), ForwardError> {
    let clients = target_clients(&args.aws.options())
        .await
        .map_err(ConnectError::from)?;
    let (client, instance) = find_target(&clients, &args.target, scope).await?;
    check_reachable(&instance)?;
    let specs = specs(args);
    for spec in &specs {
        check_agent_runs(&instance, &spec.destination)?;
    }
    let target = instance.id.to_string();
    let mut tunnel =
        Tunnel::start(client, target.clone(), specs, usize::from(args.sessions)).await?;
    let mut printer = Printer {
        json: args.json,
        target,
        listeners: Vec::new(),
    };
    // Registered once, before the loop: a signal that arrived while no listener existed
    // would be lost, and with the handler installed the default action no longer applies.
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ForwardError::Signals)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(ForwardError::Signals)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(ForwardError::Signals)?;
    let failure = loop {
        tokio::select! {
            event = tunnel.next_event() => match event {
                Some(event) => {
                    printer.print(&event);
                    if let TunnelEvent::OpenFailed { error, retrying: false, .. } = event {
                        break Some(ForwardError::GaveUp(format!(
                            "the tunnel could not open a new session: {}",
                            escape_for_terminal(&error)
                        )));
                    }
                }
                None => break None,
            },
            _ = interrupt.recv() => break None,
            _ = terminate.recv() => break None,
            _ = hangup.recv() => break None,
        }
    };
    for event in tunnel.stop().await {
        printer.print(&event);
    }
    printer.stopped();
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Turns events into lines: JSON on stdout, or the few a person needs on stdout/stderr.
pub(super) struct Printer {
    json: bool,
    target: String,
    listeners: Vec<(usize, SocketAddr, String)>,
}

impl Printer {
    /// Text lines on stderr only for every event but `Listening`, which is remembered (for
    /// the labels) and left to the caller: gangway as `session-manager-plugin` prints the
    /// reference's own lines on stdout.
    pub(super) fn stderr_only(target: String) -> Self {
        Self {
            json: false,
            target,
            listeners: Vec::new(),
        }
    }

    pub(super) fn remember(&mut self, event: &TunnelEvent) {
        if let TunnelEvent::Listening {
            listener,
            local,
            remote,
        } = event
        {
            self.listeners.push((*listener, *local, remote.clone()));
        }
    }

    /// `[HOST:]PORT` of a listener, as `--json` and messages name it.
    fn remote(&self, listener: usize) -> String {
        self.listeners
            .iter()
            .find(|(index, _, _)| *index == listener)
            .map(|(_, _, remote)| remote.clone())
            .unwrap_or_default()
    }

    fn local(&self, listener: usize) -> String {
        self.listeners
            .iter()
            .find(|(index, _, _)| *index == listener)
            .map(|(_, local, remote)| format!("{local} -> {remote}"))
            .unwrap_or_default()
    }

    pub(super) fn print(&mut self, event: &TunnelEvent) {
        if self.json {
            if let TunnelEvent::Listening {
                listener,
                local,
                remote,
            } = event
            {
                self.listeners.push((*listener, *local, remote.clone()));
            }
            let mut line = json_line(event, &self.target);
            if let TunnelEvent::RemoteRefused { listener, .. } = event {
                line["remote"] = self.remote(*listener).into();
            }
            println!("{line}");
            return;
        }
        match event {
            TunnelEvent::Listening {
                listener,
                local,
                remote,
            } => {
                self.listeners.push((*listener, *local, remote.clone()));
                println!(
                    "Forwarding {local} -> {}:{}",
                    escape_for_terminal(&self.target),
                    escape_for_terminal(remote)
                );
            }
            TunnelEvent::SessionOpened {
                listener,
                session_id,
                reestablished,
                ..
            } if *reestablished > 0 => eprintln!(
                "gangway: {}: tunnel re-established (session {}, {} time{})",
                self.local(*listener),
                escape_for_terminal(session_id),
                reestablished,
                if *reestablished == 1 { "" } else { "s" }
            ),
            // The agent says only that the dial failed (ConnectToPortError, §6.3), not why.
            TunnelEvent::RemoteRefused { listener, .. } => eprintln!(
                "gangway: {}: the instance could not connect to {} (nothing listens there, or it cannot resolve or reach that host; the agent's log on the instance says which); the tunnel stays up",
                self.local(*listener),
                escape_for_terminal(&self.remote(*listener))
            ),
            TunnelEvent::Reconnecting { listener, .. } => eprintln!(
                "gangway: {}: connection to AWS lost; resuming (open connections are kept)",
                self.local(*listener)
            ),
            TunnelEvent::Resumed { listener, .. } => {
                eprintln!("gangway: {}: connection resumed", self.local(*listener));
            }
            TunnelEvent::SessionEnded {
                listener,
                session_id,
                reason,
                reopening: true,
            } => eprintln!(
                "gangway: {}: session {} ended ({}); re-establishing the tunnel",
                self.local(*listener),
                escape_for_terminal(session_id),
                escape_for_terminal(reason)
            ),
            TunnelEvent::OpenFailed {
                listener,
                error,
                retrying: true,
            } => eprintln!(
                "gangway: {}: could not open a session ({}); retrying",
                self.local(*listener),
                escape_for_terminal(error)
            ),
            _ => {}
        }
    }

    fn stopped(&self) {
        if self.json {
            println!("{}", serde_json::json!({"event": "stopped"}));
        }
    }
}

/// One event as a JSON object; text from AWS is escaped by serde.
fn json_line(event: &TunnelEvent, target: &str) -> serde_json::Value {
    use serde_json::json;
    match event {
        TunnelEvent::Listening {
            listener,
            local,
            remote,
        } => json!({
            "event": "listening", "listener": listener, "local": local.to_string(),
            "local_port": local.port(), "target": target, "remote": remote,
        }),
        TunnelEvent::SessionOpened {
            listener,
            session_id,
            mode,
            reestablished,
        } => json!({
            "event": "session_opened", "listener": listener, "session_id": session_id,
            "mode": mode, "reestablished": reestablished,
        }),
        TunnelEvent::ConnectionOpened {
            listener,
            connection,
            peer,
            session_id,
        } => json!({
            "event": "connection_opened", "listener": listener, "connection": connection,
            "peer": peer.to_string(), "session_id": session_id,
        }),
        TunnelEvent::ConnectionClosed {
            listener,
            connection,
            bytes_up,
            bytes_down,
            reason,
        } => json!({
            "event": "connection_closed", "listener": listener, "connection": connection,
            "bytes_up": bytes_up, "bytes_down": bytes_down, "reason": reason,
        }),
        TunnelEvent::RemoteRefused {
            listener,
            session_id,
        } => json!({
            "event": "remote_refused", "listener": listener, "session_id": session_id,
        }),
        TunnelEvent::Reconnecting {
            listener,
            session_id,
        } => json!({
            "event": "reconnecting", "listener": listener, "session_id": session_id,
        }),
        TunnelEvent::Resumed {
            listener,
            session_id,
        } => json!({
            "event": "resumed", "listener": listener, "session_id": session_id,
        }),
        TunnelEvent::SessionEnded {
            listener,
            session_id,
            reason,
            reopening,
        } => json!({
            "event": "ended", "listener": listener, "session_id": session_id,
            "reason": reason, "reopening": reopening,
        }),
        TunnelEvent::OpenFailed {
            listener,
            error,
            retrying,
        } => json!({
            "event": "open_failed", "listener": listener, "error": error, "retrying": retrying,
        }),
    }
}
