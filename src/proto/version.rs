//! The client version gangway announces, and the agent's rules for reading it (§4.4.1, §6.4).
//!
//! The agent reads the client's version from the HandshakeResponse and nowhere else (quirk 29);
//! the service gets the same string in OpenDataChannel (§1.4). Both are [`CLIENT_VERSION`], so
//! the client (transport and [`Session`](super::Session)) and the emulator's agent agree.

use std::cmp::Ordering;

/// The version gangway announces in OpenDataChannel and in the HandshakeResponse.
///
/// 1.2.677.0 is a released plugin version, and the release built from the source that
/// protocol.md describes, so every threshold the agent applies to it is known (§4.4.1):
/// above 1.2.331.0 (smux keepalive off, as gangway's client would do it), at least 1.1.70
/// (mux for LocalPortForwarding) and above 1.2.295 (no "please update" notice). Later
/// releases are not chosen: 1.2.688.0 and 1.2.694.0 changed what OpenDataChannel carries and
/// their source was not at hand; 1.2.0.0 (a source build) reads as an old client.
pub const CLIENT_VERSION: &str = "1.2.677.0";

/// Agent: ClientVersion at or below this gets [`UPDATE_NOTICE`] in a NonInteractiveCommands
/// session with separateOutputStream (§4.5; agent: datachannel.go, func
/// buildHandshakeCompletePayload).
pub const SEPARATE_OUTPUT_MIN_EXCLUSIVE: &str = "1.2.295";
/// Agent: ClientVersion above this switches the agent's smux keepalive off (§6.4; agent:
/// plugins/port/port_mux.go, func initialize).
pub const SMUX_KEEPALIVE_OFF_ABOVE: &str = "1.2.331.0";
/// Agent: ClientVersion at or above this gets mux for LocalPortForwarding (§4.4.1; agent:
/// plugins/port/port.go, func GetSession).
pub const MUX_AT_LEAST: &str = "1.1.70";

/// Plugin: AgentVersion above this gets mux for LocalPortForwarding (§6.3, §6.4, compared
/// with [`plugin_greater`]). An agent at or below it predates mux and runs basic whatever the
/// client.
pub const AGENT_MUX_ABOVE: &str = "3.0.196.0";
/// Plugin: AgentVersion above this has the smux keepalive switched off (§6.3, §6.4). Agents
/// at or below it keep theirs on whatever the client.
pub const AGENT_SMUX_KEEPALIVE_OFF_ABOVE: &str = "3.1.1511.0";
/// Plugin: AgentVersion above this takes the TerminateSession flag on Ctrl-C in basic port
/// mode; older agents get the TerminateSession API (§6.3, §6.4).
pub const AGENT_TERMINATE_FLAG_ABOVE: &str = "2.3.722.0";

/// The plugin's version test (§6.4; plugin: src/version/versionvalidator.go, func
/// isAgentVersionGreaterThanSupportedVersion, and versionutil.go, func compare): false unless
/// both are non-empty with the same number of dot-separated parts; then part by part, each
/// parsed as Go's `strconv.Atoi` does (optional sign, decimal, 64 bits) only when it is
/// reached, so a part after the deciding one is never looked at ("3.3.x.0" > "3.0.196.0"),
/// and a part that does not parse before that means "not supported".
pub fn plugin_greater(version: &str, threshold: &str) -> bool {
    if version.is_empty() || threshold.is_empty() {
        return false;
    }
    let left: Vec<&str> = version.split('.').collect();
    let right: Vec<&str> = threshold.split('.').collect();
    if left.len() != right.len() {
        return false;
    }
    for (a, b) in left.iter().zip(&right) {
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

/// The first part of the agent's CustomerMessage for an old client (§4.5), CR LF included.
pub const UPDATE_NOTICE: &str = "Please update session manager plugin version (minimum required version 1.2.312.0) for fully support of separate StdOut/StdErr output.\r\n";

/// Agent: whether `client_version` (from the HandshakeResponse) gets [`UPDATE_NOTICE`] in a
/// separate-output NonInteractiveCommands session. An empty version does (§4.4.1).
pub fn wants_update_notice(client_version: &str) -> bool {
    agent_compare(client_version, SEPARATE_OUTPUT_MIN_EXCLUSIVE) != Ordering::Greater
}

/// The agent's strict version comparison (§4.4.1; agent: agent/versionutil/versionutil.go,
/// func Compare): part by part, numerically where both parts are numbers, as text otherwise;
/// when all shared parts are equal the version with more parts is the greater one, so
/// 1.2.295.0 > 1.2.295. The empty string is below every version. (For two plain three-part
/// numbers SemVer order is this same order; pre-release suffixes are not modelled.)
pub fn agent_compare(left: &str, right: &str) -> Ordering {
    match (left.is_empty(), right.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let mut left_parts = left.split('.');
    let mut right_parts = right.split('.');
    loop {
        match (left_parts.next(), right_parts.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(a), Some(b)) => {
                let order = match (a.parse::<u64>(), b.parse::<u64>()) {
                    (Ok(a), Ok(b)) => a.cmp(&b),
                    _ => a.cmp(b),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_compares_part_by_part_and_more_parts_win() {
        assert_eq!(agent_compare("1.2.295.0", "1.2.295"), Ordering::Greater);
        assert_eq!(agent_compare("1.2.10.0", "1.2.9.0"), Ordering::Greater);
        assert_eq!(agent_compare("1.2.0.0", "1.2.331.0"), Ordering::Less);
        assert_eq!(agent_compare("", "0"), Ordering::Less);
        assert_eq!(agent_compare("1.2.677.0", "1.2.677.0"), Ordering::Equal);
    }

    #[test]
    fn the_plugin_needs_the_same_number_of_parts_and_strictly_greater() {
        assert!(plugin_greater("3.3.1142.0", AGENT_MUX_ABOVE));
        assert!(!plugin_greater("3.0.196.0", AGENT_MUX_ABOVE));
        assert!(plugin_greater("3.0.196.1", AGENT_MUX_ABOVE));
        assert!(!plugin_greater("3.3", AGENT_MUX_ABOVE));
        assert!(!plugin_greater("3.x.1.0", AGENT_MUX_ABOVE));
        // Parts are parsed as they are compared, as in Go: one after the deciding part is
        // never looked at.
        assert!(plugin_greater("3.3.x.0", AGENT_MUX_ABOVE));
        assert!(!plugin_greater("", AGENT_MUX_ABOVE));
        assert!(!plugin_greater("3.3.1142.0.1", AGENT_MUX_ABOVE));
        assert!(plugin_greater("3.1.1512.0", AGENT_SMUX_KEEPALIVE_OFF_ABOVE));
        assert!(!plugin_greater("2.3.722.0", AGENT_TERMINATE_FLAG_ABOVE));
    }

    #[test]
    fn gangway_s_version_is_past_every_agent_threshold() {
        assert_eq!(
            agent_compare(CLIENT_VERSION, SMUX_KEEPALIVE_OFF_ABOVE),
            Ordering::Greater
        );
        assert_ne!(agent_compare(CLIENT_VERSION, MUX_AT_LEAST), Ordering::Less);
        assert!(!wants_update_notice(CLIENT_VERSION));
    }

    #[test]
    fn old_empty_and_placeholder_versions_get_the_update_notice() {
        // §4.5: 1.2.0.0 and "" are at or below 1.2.295, 1.2.295.0 is not.
        assert!(wants_update_notice("1.2.0.0"));
        assert!(wants_update_notice(""));
        assert!(wants_update_notice("1.2.295"));
        assert!(!wants_update_notice("1.2.295.0"));
    }
}
