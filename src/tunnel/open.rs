//! Opening one port session: StartSession with the document and its parameters, the data
//! channel in port mode, then the handshake up to the moment data may flow (§4.2, §6.3).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::aws::{AwsClient, StartSessionRequest};
use crate::proto::port_mode::{PortMode, PortSessionOffer};
use crate::shell::{ShellError, open_channel_with};
use crate::transport::{ChannelEvent, ChannelOptions, SessionChannel};

/// The reference has no handshake timeout (§4.2); a tunnel that waits forever for an agent
/// that never answers helps nobody. The agent itself gives up after 15 s per step.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(60);

/// Where a session's connections go on the instance side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A TCP port on the instance itself (AWS-StartPortForwardingSession).
    Port(u16),
    /// A TCP port on a host the instance reaches (AWS-StartPortForwardingSessionToRemoteHost).
    RemoteHost { host: String, port: u16 },
    /// SSH on the instance (AWS-StartSSHSession): one raw stream for a ProxyCommand.
    Ssh(u16),
}

impl Destination {
    pub fn document(&self) -> &'static str {
        match self {
            Self::Port(_) => "AWS-StartPortForwardingSession",
            Self::RemoteHost { .. } => "AWS-StartPortForwardingSessionToRemoteHost",
            Self::Ssh(_) => "AWS-StartSSHSession",
        }
    }

    /// The oldest SSM agent that runs this document as asked, and what an older one does,
    /// from the agent's release notes: 2.3.672.0 "Add Port plugin for SSH/SCP", 3.1.1188.0
    /// "Added support for port forwarding to remote host" (amazon-ssm-agent RELEASENOTES.md;
    /// before it, plugins/port/port.go's PortParameters had no `host`, so the agent dialed
    /// `localhost:portNumber` whatever the host).
    pub fn minimum_agent(&self) -> (&'static str, &'static str) {
        match self {
            Self::Port(_) | Self::Ssh(_) => ("2.3.672.0", "it has no port plugin"),
            Self::RemoteHost { .. } => (
                "3.1.1188.0",
                "an older one ignores the host and connects to the instance's own port",
            ),
        }
    }

    /// `[HOST:]PORT`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Port(port) | Self::Ssh(port) => port.to_string(),
            Self::RemoteHost { host, port } => format!("{host}:{port}"),
        }
    }

    /// The StartSession request; `local_port` is what the listener got (the agent only
    /// echoes it back in the handshake's Properties).
    pub fn request(&self, target: &str, local_port: Option<u16>) -> StartSessionRequest {
        let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let port = match self {
            Self::Port(port) | Self::Ssh(port) => *port,
            Self::RemoteHost { host, port } => {
                parameters.insert("host".into(), vec![host.clone()]);
                *port
            }
        };
        parameters.insert("portNumber".into(), vec![port.to_string()]);
        if let Some(local) = local_port {
            parameters.insert("localPortNumber".into(), vec![local.to_string()]);
        }
        StartSessionRequest {
            target: target.to_owned(),
            document_name: Some(self.document().to_owned()),
            parameters,
            reason: None,
        }
    }
}

/// Why a port session did not open. One line each.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Start(#[from] ShellError),
    #[error("the session ended before it opened: {0}")]
    Ended(String),
    #[error("the agent did not answer the handshake within {} s", HANDSHAKE_WITHIN.as_secs())]
    HandshakeTimeout,
    #[error("the document did not start a port session (the agent offered no Port session type)")]
    NotAPortSession,
    #[error("the agent offered a {offered} session where {wanted} was asked for")]
    WrongMode {
        offered: &'static str,
        wanted: &'static str,
    },
}

impl OpenError {
    /// Whether trying again later may help (the service or the network), as opposed to a
    /// refusal (credentials, permissions, a document that is not a port session).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Start(ShellError::Aws(error)) => {
                !(error.is_credentials_error()
                    || matches!(error, crate::aws::AwsError::AccessDenied(_)))
            }
            Self::Start(_) | Self::Ended(_) | Self::HandshakeTimeout => true,
            Self::NotAPortSession | Self::WrongMode { .. } => false,
        }
    }
}

/// A port session whose handshake is complete: data may flow.
pub struct OpenSession {
    pub channel: SessionChannel,
    pub session_id: String,
    pub offer: PortSessionOffer,
}

pub fn mode_name(mode: PortMode) -> &'static str {
    match mode {
        PortMode::StandardStream => "stream",
        PortMode::Basic => "basic",
        PortMode::Mux { .. } => "mux",
    }
}

/// StartSession, dial, handshake. A session that does not get to open is terminated.
pub async fn open_port_session(
    client: &AwsClient,
    request: &StartSessionRequest,
) -> Result<OpenSession, OpenError> {
    let options = ChannelOptions {
        port_session: true,
        ..ChannelOptions::default()
    };
    let (mut channel, session_id) = open_channel_with(client, request, options).await?;
    let handshake = tokio::time::timeout(HANDSHAKE_WITHIN, async {
        let mut offer = None;
        loop {
            match channel.next_event().await {
                Some(ChannelEvent::PortSession(offered)) => offer = Some(offered),
                Some(ChannelEvent::Opened) => return offer.ok_or(OpenError::NotAPortSession),
                Some(ChannelEvent::Closed { reason }) => {
                    return Err(OpenError::Ended(
                        reason.unwrap_or_else(|| "closed by the service".into()),
                    ));
                }
                Some(ChannelEvent::Lost(error)) => return Err(OpenError::Ended(error.to_string())),
                None => return Err(OpenError::Ended("the data channel stopped".into())),
                Some(other) => tracing::debug!(?other, "before the port session opened"),
            }
        }
    })
    .await
    .unwrap_or(Err(OpenError::HandshakeTimeout));
    match handshake {
        Ok(offer) => {
            tracing::info!(session = %session_id, mode = mode_name(offer.mode), agent = %offer.agent_version, "port session open");
            Ok(OpenSession {
                channel,
                session_id,
                offer,
            })
        }
        Err(error) => {
            drop(channel);
            terminate(client, &session_id).await;
            Err(error)
        }
    }
}

/// [`open_port_session`] for a document that must give one raw stream (AWS-StartSSHSession,
/// §6.3 StandardStreamForwarding): any other mode is terminated and refused.
pub async fn open_stream_session(
    client: &AwsClient,
    request: &StartSessionRequest,
) -> Result<OpenSession, OpenError> {
    let session = open_port_session(client, request).await?;
    if session.offer.mode == PortMode::StandardStream {
        return Ok(session);
    }
    let offered = mode_name(session.offer.mode);
    let session_id = session.session_id.clone();
    drop(session);
    terminate(client, &session_id).await;
    Err(OpenError::WrongMode {
        offered,
        wanted: mode_name(PortMode::StandardStream),
    })
}

/// TerminateSession, best effort and bounded: the tunnel is going away either way.
pub async fn terminate(client: &AwsClient, session_id: &str) {
    const WITHIN: Duration = Duration::from_secs(3);
    match tokio::time::timeout(WITHIN, client.terminate_session(session_id)).await {
        Ok(Ok(())) => tracing::info!(session = %session_id, "terminated"),
        Ok(Err(error)) => {
            tracing::warn!(session = %session_id, error = %error.to_line(), "terminate failed")
        }
        Err(_) => tracing::warn!(session = %session_id, "terminate timed out"),
    }
}
