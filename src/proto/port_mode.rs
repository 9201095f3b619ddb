//! How a client runs a port session, decided as the reference plugin decides it (§6.3, §6.4):
//! from the HandshakeRequest's `Properties.type` and `AgentVersion`, with the plugin's own
//! version comparison (`proto::version::plugin_greater` and its thresholds).
//!
//! The agent decides basic or mux on its side from the ClientVersion alone (§4.4.1), so both
//! ends agree only when the client follows this rule exactly; it is pure so that the client
//! (tunnel) and the tests share it.

use serde_json::Value;

use crate::proto::payloads::{HandshakeRequest, RequestedClientAction};
use crate::proto::session::PORT_SESSION_TYPE;
use crate::proto::version::{
    AGENT_MUX_ABOVE, AGENT_SMUX_KEEPALIVE_OFF_ABOVE, AGENT_TERMINATE_FLAG_ABOVE, plugin_greater,
};

/// `Properties.type` of the port-forwarding documents (§4.3).
pub const LOCAL_PORT_FORWARDING: &str = "LocalPortForwarding";

/// The client's wire mode for a port session (§6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMode {
    /// Not LocalPortForwarding (AWS-StartSSHSession): one raw byte stream, stdin/stdout.
    StandardStream,
    /// LocalPortForwarding to an old agent: one TCP connection at a time, raw bytes, Flag
    /// DisconnectToPort when it closes.
    Basic,
    /// LocalPortForwarding to a newer agent: smux v1 over the data channel.
    Mux {
        /// Whether this side runs smux keepalive (on for agents up to 3.1.1511.0).
        keepalive: bool,
    },
}

/// What the client learns from a Port HandshakeRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSessionOffer {
    pub agent_version: String,
    /// `Properties.type`, empty when absent.
    pub port_type: String,
    pub mode: PortMode,
    /// Whether Ctrl-C may end the session with the TerminateSession flag (mux mode always,
    /// basic mode only for agents above 2.3.722.0; the plugin otherwise calls the API).
    pub terminate_flag: bool,
    /// `Properties.localPortNumber`, empty when absent: where the plugin listens (its
    /// PortParameters come from these properties, not from the command line).
    pub local_port_number: String,
    /// `Properties.localConnectionType`: `unix` asks the client to listen on a local unix
    /// socket (AWS-StartPortForwardingSessionToSocket), empty for TCP.
    pub local_connection_type: String,
}

impl PortSessionOffer {
    /// The offer in `request`, if it asks for a Port session.
    pub fn from_request(request: &HandshakeRequest) -> Option<Self> {
        let action = request.requested_client_actions.iter().find(|action| {
            action.action_type == RequestedClientAction::SESSION_TYPE
                && action.requested_session_type() == Some(PORT_SESSION_TYPE)
        })?;
        let property = |name: &str| {
            action
                .properties()
                .and_then(|properties| properties.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let port_type = property("type");
        let agent_version = request.agent_version.clone();
        let mode = port_mode(&port_type, &agent_version);
        let terminate_flag = match mode {
            PortMode::Mux { .. } => true,
            _ => plugin_greater(&agent_version, AGENT_TERMINATE_FLAG_ABOVE),
        };
        Some(Self {
            agent_version,
            port_type,
            mode,
            terminate_flag,
            local_port_number: property("localPortNumber"),
            local_connection_type: property("localConnectionType"),
        })
    }
}

/// The plugin's choice (plugin: sessionmanagerplugin/session/portsession/portsession.go, func
/// Initialize; version/versionvalidator.go, func DoesAgentSupportTCPMultiplexing).
pub fn port_mode(port_type: &str, agent_version: &str) -> PortMode {
    if port_type != LOCAL_PORT_FORWARDING {
        PortMode::StandardStream
    } else if plugin_greater(agent_version, AGENT_MUX_ABOVE) {
        PortMode::Mux {
            keepalive: !plugin_greater(agent_version, AGENT_SMUX_KEEPALIVE_OFF_ABOVE),
        }
    } else {
        PortMode::Basic
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_mode_follows_the_type_and_the_agent_version() {
        assert_eq!(
            port_mode(LOCAL_PORT_FORWARDING, "3.3.1142.0"),
            PortMode::Mux { keepalive: false }
        );
        assert_eq!(
            port_mode(LOCAL_PORT_FORWARDING, "3.1.1511.0"),
            PortMode::Mux { keepalive: true }
        );
        assert_eq!(
            port_mode(LOCAL_PORT_FORWARDING, "3.0.196.0"),
            PortMode::Basic
        );
        assert_eq!(port_mode(LOCAL_PORT_FORWARDING, "3.3"), PortMode::Basic);
        assert_eq!(port_mode("", "3.3.1142.0"), PortMode::StandardStream);
        assert_eq!(
            port_mode("InteractiveCommands", "3.3.1142.0"),
            PortMode::StandardStream
        );
    }

    fn request(agent_version: &str, properties: Value) -> HandshakeRequest {
        HandshakeRequest {
            agent_version: agent_version.into(),
            requested_client_actions: vec![RequestedClientAction::session_type("Port", properties)],
        }
    }

    #[test]
    fn an_offer_reads_type_and_version_from_the_request() {
        let offer = PortSessionOffer::from_request(&request(
            "3.3.1142.0",
            serde_json::json!({"type": "LocalPortForwarding", "portNumber": "80"}),
        ))
        .unwrap();
        assert_eq!(offer.mode, PortMode::Mux { keepalive: false });
        assert!(offer.terminate_flag);
        assert_eq!(offer.port_type, LOCAL_PORT_FORWARDING);
        assert_eq!(offer.local_port_number, "");
        assert_eq!(offer.local_connection_type, "");

        let local = PortSessionOffer::from_request(&request(
            "3.3.1142.0",
            serde_json::json!({"type": "LocalPortForwarding", "localPortNumber": "8080",
                "localConnectionType": "unix"}),
        ))
        .unwrap();
        assert_eq!(local.local_port_number, "8080");
        assert_eq!(local.local_connection_type, "unix");

        let ssh = PortSessionOffer::from_request(&request(
            "3.3.1142.0",
            serde_json::json!({"portNumber": "22"}),
        ))
        .unwrap();
        assert_eq!(ssh.mode, PortMode::StandardStream);
        assert!(ssh.terminate_flag);

        let old = PortSessionOffer::from_request(&request(
            "2.3.722.0",
            serde_json::json!({"type": "LocalPortForwarding"}),
        ))
        .unwrap();
        assert_eq!(old.mode, PortMode::Basic);
        assert!(!old.terminate_flag, "2.3.722.0 is not above the threshold");

        let shell = HandshakeRequest {
            agent_version: "3.3.1142.0".into(),
            requested_client_actions: vec![RequestedClientAction::session_type(
                "Standard_Stream",
                Value::Null,
            )],
        };
        assert_eq!(PortSessionOffer::from_request(&shell), None);
    }
}
