//! Running the session the AWS CLI started, with gangway's own machinery: the transport
//! dials the StreamUrl with the token (ResumeSession and KMS through the CLI's region,
//! profile and SSM endpoint), and the handshake decides what runs, as in the plugin
//! (session.go, func Execute: the session type comes from the handshake or the first output;
//! portsession.go, func Initialize: LocalPortForwarding or a stream):
//!
//! - a shell (Standard_Stream, InteractiveCommands, NonInteractiveCommands): the shell pump,
//!   raw mode on a terminal, the same exit statuses as `gangway connect`;
//! - a LocalPortForwarding port session: a tunnel listening on the properties'
//!   `localPortNumber`, printing the plugin's lines (muxportforwarding.go, func
//!   handleClientConnections), re-established when the service ends the session;
//! - any other port session (AWS-StartSSHSession): stdin/stdout, as `gangway ssh-proxy`.

use std::io::Write;
use std::process::ExitCode;

use super::contract::PluginStart;
use crate::aws::{AwsClient, AwsError, AwsOptions, StartSessionRequest};
use crate::commands::exit;
use crate::commands::forward::Printer;
use crate::shell::terminal::stdio_is_tty;
use crate::shell::{Platform, PumpMode, SessionRecords, ShellError, open_started, run_started};
use crate::text::escape_for_terminal;
use crate::transport::{ChannelEvent, ChannelOptions, SessionChannel, SessionEndpoint};
use crate::tunnel::{
    OpenSession, PortMode, PortSessionOffer, Tunnel, TunnelError, TunnelEvent, terminate,
};

/// Why the plugin stopped with an error; one line each, never a token or URL.
#[derive(Debug, thiserror::Error)]
enum PluginError {
    #[error("{}", .0.to_line())]
    Aws(#[from] AwsError),
    #[error("Cannot perform start session: {0}")]
    Open(#[from] ShellError),
    #[error(transparent)]
    Tunnel(#[from] TunnelError),
    #[error("{0}")]
    Unusable(String),
    #[error("{0}")]
    GaveUp(String),
    #[error("cannot watch for signals: {0}")]
    Signals(std::io::Error),
}

impl PluginError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Aws(error) => exit::for_aws(error),
            Self::Open(error) => exit::for_shell_error(error),
            Self::Tunnel(TunnelError::PortInUse { .. }) => exit::LOCAL_PORT_IN_USE,
            Self::Tunnel(TunnelError::Listen { .. }) => exit::USAGE,
            Self::Tunnel(TunnelError::Open { error, .. }) => exit::for_open_error(error),
            Self::Unusable(_) => exit::DOCUMENT_UNUSABLE,
            Self::GaveUp(_) => exit::CONNECTION_LOST,
            Self::Signals(_) => exit::OTHER,
        }
    }
}

/// Runs `start` to its end and returns the exit status.
pub(super) fn run(start: PluginStart) -> ExitCode {
    super::super::run_session(
        "session-manager-plugin",
        || Ok(()),
        async |()| session(start).await,
        |result| match result {
            Ok(status) => ExitCode::from(status),
            Err(error) => {
                tracing::warn!(%error, "session-manager-plugin failed");
                // The AWS CLI's plugin says its errors without a prefix.
                eprintln!("{error}");
                ExitCode::from(error.exit_status())
            }
        },
    )
}

async fn session(start: PluginStart) -> Result<u8, PluginError> {
    let PluginStart {
        session_id,
        stream_url,
        token,
        region,
        profile,
        request,
        ssm_endpoint,
    } = start;
    // The plugin sets the CLI's region and profile for every call and the endpoint for SSM
    // alone (sdkutil.go, funcs SetRegionAndProfile and GetNewSessionWithEndpoint).
    let options = AwsOptions {
        profile,
        regions: region.into_iter().collect(),
        endpoint_url: None,
        ssm_endpoint_url: ssm_endpoint,
        accounts: Vec::new(),
    };
    let client = AwsClient::from_options(&options)
        .await?
        .into_iter()
        .next()
        .ok_or(AwsError::NoRegion)?;
    let target = request
        .as_ref()
        .map(|request| request.target.clone())
        .unwrap_or_default();
    tracing::info!(session = %session_id, %target, "plugin session");
    let endpoint = SessionEndpoint {
        session_id: session_id.clone(),
        stream_url,
        token,
    };
    // Port sessions are accepted here; which kind this is, the handshake says.
    let options = ChannelOptions {
        port_session: true,
        ..ChannelOptions::default()
    };
    let mut channel = open_started(&client, endpoint, &target, options).await?;
    let (offer, early) = session_type(&mut channel).await;
    let Some(offer) = offer else {
        return shell(&client, channel, early, session_id, &target).await;
    };
    tracing::info!(session = %session_id, mode = crate::tunnel::mode_name(offer.mode), agent = %offer.agent_version, "port session");
    let session = OpenSession {
        channel,
        session_id,
        offer,
    };
    match session.offer.mode {
        PortMode::StandardStream => super::super::ssh_proxy::carry(&client, session)
            .await
            .map_err(PluginError::Signals),
        PortMode::Basic | PortMode::Mux { .. } => port(&client, request, session).await,
    }
}

/// Waits for the handshake's Port offer or the session's opening, whichever says first
/// what this session is. Events met before are returned for the shell pump; a channel that
/// ends first is left to the shell pump too, which says how it ended.
async fn session_type(
    channel: &mut SessionChannel,
) -> (Option<PortSessionOffer>, Vec<ChannelEvent>) {
    let mut early = Vec::new();
    let mut offer = None;
    while let Some(event) = channel.next_event().await {
        match event {
            ChannelEvent::PortSession(offered) => offer = Some(offered),
            ChannelEvent::Opened => {
                early.push(ChannelEvent::Opened);
                break;
            }
            other => {
                let last = other.is_final();
                early.push(other);
                if last {
                    return (None, early);
                }
            }
        }
    }
    (offer, early)
}

/// A shell or command session, as `gangway connect` runs it (recorded like it, by the
/// config file's `[recording]`).
async fn shell(
    client: &AwsClient,
    channel: SessionChannel,
    early: Vec<ChannelEvent>,
    session_id: String,
    target: &str,
) -> Result<u8, PluginError> {
    let tty = stdio_is_tty();
    // session.go, func Execute prints this before the shell starts.
    println!(
        "\nStarting session with SessionId: {}\n",
        escape_for_terminal(&session_id)
    );
    let _ = std::io::stdout().flush();
    let records = match crate::commands::settings::session_settings(None, &[]) {
        Ok((_, records)) => records,
        Err(_) => SessionRecords::default(),
    };
    let mode = if tty {
        PumpMode::Terminal
    } else {
        // No listing here to tell the platform: Linux, the usual case.
        PumpMode::Pipe {
            target: Platform::from_listing(None),
        }
    };
    let outcome = run_started(client, channel, early, session_id, target, mode, &records).await?;
    super::super::connect::report(&outcome, tty);
    Ok(exit::for_outcome(&outcome))
}

/// `localPortNumber` from the handshake's properties: empty means any free port, as in the
/// plugin (basicportforwarding.go, func startLocalConn).
fn local_port(property: &str) -> Result<u16, PluginError> {
    if property.is_empty() {
        return Ok(0);
    }
    property.parse().map_err(|_| {
        PluginError::Unusable(format!(
            "Cannot perform start session: localPortNumber {:?} is not a port number",
            escape_for_terminal(property)
        ))
    })
}

/// Where to listen, and the request for the sessions after this one; or why gangway
/// cannot run this port session.
fn usable_port_session(
    offer: &PortSessionOffer,
    request: Option<StartSessionRequest>,
) -> Result<(u16, StartSessionRequest), String> {
    if offer.local_connection_type == "unix" {
        return Err(
            "Cannot perform start session: gangway cannot listen on a local unix socket \
             (localConnectionType unix); forward a TCP port instead"
                .into(),
        );
    }
    let port = local_port(&offer.local_port_number).map_err(|error| error.to_string())?;
    // The legacy call (no parameters) cannot start the next session when this one ends.
    let request = request.ok_or_else(|| {
        "Cannot perform start session: port forwarding needs the StartSession parameters, \
         which this AWS CLI does not pass; upgrade the AWS CLI"
            .to_owned()
    })?;
    Ok((port, request))
}

/// A LocalPortForwarding session: a tunnel on the local port, until a signal stops it.
async fn port(
    client: &AwsClient,
    request: Option<StartSessionRequest>,
    session: OpenSession,
) -> Result<u8, PluginError> {
    let session_id = session.session_id.clone();
    let usable = usable_port_session(&session.offer, request);
    let (local_port, request) = match usable {
        Ok(usable) => usable,
        Err(why) => {
            drop(session);
            terminate(client, &session_id).await;
            return Err(PluginError::Unusable(why));
        }
    };
    let sid = escape_for_terminal(&session_id);
    println!("\nStarting session with SessionId: {sid}");
    let target = request.target.clone();
    let (mut tunnel, local) = Tunnel::adopt(client.clone(), request, local_port, session).await?;
    // The plugin's lines (muxportforwarding.go, func handleClientConnections).
    print!(
        "Port {} opened for sessionId {sid}.\nWaiting for connections...\n",
        local.port()
    );
    let _ = std::io::stdout().flush();
    let mut printer = Printer::stderr_only(target);
    let mut accepted = false;
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(PluginError::Signals)?;
    let mut terminate_signal = signal(SignalKind::terminate()).map_err(PluginError::Signals)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(PluginError::Signals)?;
    let end = loop {
        tokio::select! {
            event = tunnel.next_event() => match event {
                Some(TunnelEvent::Listening { .. }) => {
                    if let Some(event) = &event { printer.remember(event); }
                }
                Some(event) => {
                    if matches!(event, TunnelEvent::ConnectionOpened { .. }) && !accepted {
                        accepted = true;
                        println!("\nConnection accepted for session [{sid}]");
                        let _ = std::io::stdout().flush();
                    }
                    printer.print(&event);
                    if let TunnelEvent::OpenFailed { error, retrying: false, .. } = event {
                        break Err(PluginError::GaveUp(format!(
                            "the tunnel could not open a new session: {}",
                            escape_for_terminal(&error)
                        )));
                    }
                }
                None => break Ok(false),
            },
            _ = interrupt.recv() => break Ok(true),
            _ = terminate_signal.recv() => break Ok(true),
            _ = hangup.recv() => break Ok(true),
        }
    };
    if let Ok(true) = end {
        // basicportforwarding.go, func handleControlSignals.
        println!("Terminate signal received, exiting.");
    }
    for event in tunnel.stop().await {
        printer.print(&event);
    }
    match end {
        Err(error) => Err(error),
        Ok(_) => {
            print!("\n\nExiting session with sessionId: {sid}.\n\n");
            let _ = std::io::stdout().flush();
            Ok(exit::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn local_ports_from_the_properties() {
        assert_eq!(local_port("").unwrap(), 0);
        assert_eq!(local_port("0").unwrap(), 0);
        assert_eq!(local_port("8080").unwrap(), 8080);
        for bad in ["-1", "65536", "80a", " 80", "\u{1b}[2J"] {
            let error = local_port(bad).unwrap_err().to_string();
            assert!(!error.contains('\u{1b}'), "{error}");
        }
    }
}
