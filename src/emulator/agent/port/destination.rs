//! Where a port session connects: the document's `portNumber` and `host` (protocol.md §6.3,
//! §8), resolved the way the real agent resolves them, but inside the emulated instance's
//! network, which the fleet file describes (`ports`, `hosts`; docs/emulator.md).
//!
//! Agent: plugins/port/port.go, funcs validateParameters and DialCall. Without a host the agent
//! dials `localhost:<portNumber>`: here the instance's port is looked up in `ports`, and an
//! unmapped port is dialed on 127.0.0.1 itself. With a host the agent resolves it, refuses
//! denied addresses, and dials each address in turn; a host that does not resolve leaves no
//! address, and the dial fails with "missing address". Here a host resolves through `hosts`
//! (`name:port`), and `localhost` or a loopback address means the instance itself; every
//! other name is unknown to the emulated network.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::Value;

/// The agent's default `Mgs.DeniedPortForwardingRemoteIPs`: the instance metadata service,
/// the VPC DNS resolver and other link-local services (agent: appconfig/constants.go,
/// DefaultDeniedPortForwardingRemoteIPs).
const DENIED_REMOTE_IPS: [&str; 9] = [
    "169.254.169.254",
    "fd00:ec2::254",
    "169.254.169.253",
    "fd00:ec2::253",
    "169.254.169.123",
    "fd00:ec2::123",
    "169.254.169.250",
    "169.254.169.251",
    "fd00:ec2::240",
];

/// The instance's network as the fleet file maps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortMap {
    pub ports: BTreeMap<u16, SocketAddr>,
    pub hosts: BTreeMap<String, SocketAddr>,
}

/// The addresses a port session dials, first to last (agent: DialCall).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What the agent would dial, for error texts: `localhost:80`, `db.internal:5432`.
    pub label: String,
    pub addresses: Vec<SocketAddr>,
}

/// The session's destination, or the reason the agent fails the session before dialing
/// (agent: port.go, func validateParameters).
pub fn resolve(properties: &Value, map: &PortMap) -> Result<Target, String> {
    let port_text = properties["portNumber"].as_str().unwrap_or_default();
    if port_text.is_empty() {
        return Err(format!(
            "Port number is empty in session properties. {properties}"
        ));
    }
    let host = properties["host"].as_str().unwrap_or_default();
    if DENIED_REMOTE_IPS.iter().any(|denied| {
        host.parse::<IpAddr>().ok() == denied.parse::<IpAddr>().ok() && !host.is_empty()
    }) {
        return Err(format!("Forwarding to IP address {host} is forbidden."));
    }
    let label_host = if host.is_empty() { "localhost" } else { host };
    let label = format!("{label_host}:{port_text}");
    // A port that is no number never connects (Go: "unknown port").
    let Some(port) = port_text.parse::<u16>().ok().filter(|p| *p != 0) else {
        return Ok(Target {
            label,
            addresses: Vec::new(),
        });
    };
    let on_instance = host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let addresses = if on_instance {
        vec![
            map.ports
                .get(&port)
                .copied()
                .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        ]
    } else {
        let key = crate::emulator::fleet::FleetInstance::host_key(host, port);
        map.hosts.get(&key).copied().into_iter().collect()
    };
    Ok(Target { label, addresses })
}

/// Dials the addresses in turn and returns the first connection, or the first error in the
/// words Go's net.Dial uses (what the agent puts into its failure text).
pub async fn dial(target: &Target) -> Result<tokio::net::TcpStream, String> {
    let mut first_error = None;
    for address in &target.addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(err) => {
                first_error.get_or_insert_with(|| {
                    format!("dial tcp {}: connect: {}", target.label, go_words(&err))
                });
            }
        }
    }
    Err(first_error.unwrap_or_else(|| "missing address".to_owned()))
}

/// An io error as Go's syscall error strings spell it.
fn go_words(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::TimedOut => "connection timed out".to_owned(),
        ErrorKind::HostUnreachable => "no route to host".to_owned(),
        ErrorKind::NetworkUnreachable => "network is unreachable".to_owned(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> PortMap {
        PortMap {
            ports: BTreeMap::from([(80, "127.0.0.1:8080".parse().unwrap())]),
            hosts: BTreeMap::from([(
                "db.internal:5432".into(),
                "127.0.0.1:15432".parse().unwrap(),
            )]),
        }
    }

    #[test]
    fn instance_ports_use_the_map_or_loopback() {
        let mapped = resolve(&json!({"portNumber": "80"}), &map()).unwrap();
        assert_eq!(mapped.addresses, ["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(mapped.label, "localhost:80");
        let unmapped = resolve(&json!({"portNumber": "22"}), &map()).unwrap();
        assert_eq!(unmapped.addresses, ["127.0.0.1:22".parse().unwrap()]);
        let local = resolve(&json!({"portNumber": "80", "host": "LOCALHOST"}), &map()).unwrap();
        assert_eq!(local.addresses, mapped.addresses);
    }

    #[test]
    fn remote_hosts_resolve_through_the_map_only() {
        let db = resolve(
            &json!({"portNumber": "5432", "host": "DB.internal"}),
            &map(),
        )
        .unwrap();
        assert_eq!(db.addresses, ["127.0.0.1:15432".parse().unwrap()]);
        let unknown = resolve(&json!({"portNumber": "5432", "host": "nowhere"}), &map()).unwrap();
        assert!(unknown.addresses.is_empty());
        let err = resolve(
            &json!({"portNumber": "80", "host": "169.254.169.254"}),
            &map(),
        );
        assert_eq!(
            err.unwrap_err(),
            "Forwarding to IP address 169.254.169.254 is forbidden."
        );
        assert!(
            resolve(&json!({"portNumber": ""}), &map())
                .unwrap_err()
                .starts_with("Port number is empty")
        );
    }

    #[tokio::test]
    async fn no_address_is_go_s_missing_address_and_refusal_is_worded_like_go() {
        let none = Target {
            label: "x:1".into(),
            addresses: vec![],
        };
        assert_eq!(dial(&none).await.unwrap_err(), "missing address");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let closed = Target {
            label: "localhost:80".into(),
            addresses: vec![address],
        };
        assert_eq!(
            dial(&closed).await.unwrap_err(),
            "dial tcp localhost:80: connect: connection refused"
        );
    }
}
