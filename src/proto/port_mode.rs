//! How a client runs a port session, decided as the reference plugin decides it (§6.3, §6.4):
//! from the HandshakeRequest's `Properties.type` and `AgentVersion`, with the plugin's own
//! version comparison (strictly greater, same number of parts, numeric parts only).
//!
//! The agent decides basic or mux on its side from the ClientVersion alone (§4.4.1), so both
//! ends agree only when the client follows this rule exactly; it is pure so that the client
//! (tunnel) and the tests share it.

use std::cmp::Ordering;

use serde_json::Value;

use crate::proto::payloads::{HandshakeRequest, RequestedClientAction};
use crate::proto::session::PORT_SESSION_TYPE;

/// `Properties.type` of the port-forwarding documents (§4.3).
pub const LOCAL_PORT_FORWARDING: &str = "LocalPortForwarding";
/// Plugin: mux instead of basic for agents above this (config.go,
/// TCPMultiplexingSupportedAfterThisAgentVersion).
pub const MUX_AFTER_AGENT: &str = "3.0.196.0";
/// Plugin: smux keepalive off for agents above this (§6.3; muxportforwarding.go).
pub const SMUX_KEEPALIVE_OFF_AFTER_AGENT: &str = "3.1.1511.0";
/// Plugin: Ctrl-C in basic mode sends the TerminateSession flag for agents above this
/// (config.go, TerminateSessionFlagSupportedAfterThisAgentVersion).
pub const TERMINATE_FLAG_AFTER_AGENT: &str = "2.3.722.0";

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
}

impl PortSessionOffer {
    /// The offer in `request`, if it asks for a Port session.
    pub fn from_request(request: &HandshakeRequest) -> Option<Self> {
        let action = request.requested_client_actions.iter().find(|action| {
            action.action_type == RequestedClientAction::SESSION_TYPE
                && action.requested_session_type() == Some(PORT_SESSION_TYPE)
        })?;
        let port_type = action
            .properties()
            .and_then(|properties| properties.get("type"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let agent_version = request.agent_version.clone();
        let mode = port_mode(&port_type, &agent_version);
        let terminate_flag = match mode {
            PortMode::Mux { .. } => true,
            _ => plugin_version_greater(&agent_version, TERMINATE_FLAG_AFTER_AGENT),
        };
        Some(Self {
            agent_version,
            port_type,
            mode,
            terminate_flag,
        })
    }
}

/// The plugin's choice (plugin: sessionmanagerplugin/session/portsession/portsession.go, func
/// Initialize; version/versionvalidator.go, func DoesAgentSupportTCPMultiplexing).
pub fn port_mode(port_type: &str, agent_version: &str) -> PortMode {
    if port_type != LOCAL_PORT_FORWARDING {
        PortMode::StandardStream
    } else if plugin_version_greater(agent_version, MUX_AFTER_AGENT) {
        PortMode::Mux {
            keepalive: !plugin_version_greater(agent_version, SMUX_KEEPALIVE_OFF_AFTER_AGENT),
        }
    } else {
        PortMode::Basic
    }
}

/// The plugin's comparison (plugin: version/versionvalidator.go, func
/// isAgentVersionGreaterThanSupportedVersion; version/versionutil.go, func compare): true only
/// when both are non-empty, have the same number of dot-separated parts, and `version` is
/// greater at the first part that differs, every part up to it parsing as an integer. Any other case reads as "not supported".
pub fn plugin_version_greater(version: &str, threshold: &str) -> bool {
    if version.is_empty() || threshold.is_empty() {
        return false;
    }
    let left: Vec<&str> = version.split('.').collect();
    let right: Vec<&str> = threshold.split('.').collect();
    if left.len() != right.len() {
        return false;
    }
    for (a, b) in left.iter().zip(&right) {
        // Go's strconv.Atoi: an optional sign, then decimal digits, within 64 bits.
        let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>()) else {
            return false;
        };
        match a.cmp(&b) {
            Ordering::Greater => return true,
            Ordering::Less => return false,
            Ordering::Equal => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_plugin_comparison_is_strict_and_needs_the_same_shape() {
        assert!(plugin_version_greater("3.0.197.0", MUX_AFTER_AGENT));
        assert!(plugin_version_greater("3.10.0.0", MUX_AFTER_AGENT));
        assert!(!plugin_version_greater("3.0.196.0", MUX_AFTER_AGENT));
        assert!(!plugin_version_greater("2.9.999.9", MUX_AFTER_AGENT));
        // A different number of parts, a non-number, or an empty string: "not supported".
        assert!(!plugin_version_greater("3.3.1142", MUX_AFTER_AGENT));
        assert!(!plugin_version_greater("3.3.1142.0.1", MUX_AFTER_AGENT));
        assert!(!plugin_version_greater("3.x.1.0", MUX_AFTER_AGENT));
        // Parts are parsed as they are compared, as in Go: one after the deciding part is
        // never looked at.
        assert!(plugin_version_greater("3.3.x.0", MUX_AFTER_AGENT));
        assert!(!plugin_version_greater("", MUX_AFTER_AGENT));
        assert!(!plugin_version_greater("3.3.1142.0", ""));
    }

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
