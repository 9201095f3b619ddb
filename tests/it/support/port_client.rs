//! Port sessions from the test side (protocol.md §6.3): destinations to point an instance at
//! (an echo server, a server that talks first, a closed port), an emulator whose fleet maps
//! the instance's ports and remote hosts to them, and a data-channel client for each wire
//! mode: basic (the raw bytes) through `agent_client::Client`, multiplexed through
//! `MuxClient`, an smux v1 client built from `gangway::proto::smux`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gangway::emulator::RunningEmulator;
use gangway::proto::SessionConfig;
use gangway::proto::smux::{Mux, MuxConfig, MuxEvent, Role, StreamId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::agent_client::{Client, config, start_session_with};
use super::aws_clients::{DEV, ssm};
use super::emulator::start;

/// A ClientVersion below 1.1.70: the agent runs LocalPortForwarding in basic mode (§6.4).
pub const BASIC_CLIENT_VERSION: &str = "1.1.61.0";
/// gangway's own (1.2.677.0): mux, smux keepalive off on the agent (§4.4.1).
pub const MUX_CLIENT_VERSION: &str = gangway::proto::CLIENT_VERSION;

/// A TCP echo server on 127.0.0.1:0; every connection gets its bytes back until it closes.
pub async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = stream.into_split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    address
}

/// A server that writes `greeting` as soon as a connection opens, then echoes until it reads
/// `bye`, and then closes the connection (an SSH server's banner, then its end).
pub async fn talking_server(greeting: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if stream.write_all(greeting).await.is_err() {
                    return;
                }
                let mut seen = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 || stream.write_all(&buffer[..read]).await.is_err() {
                        return;
                    }
                    seen.extend_from_slice(&buffer[..read]);
                    if seen.windows(3).any(|w| w == b"bye") {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// A server that sends `bytes` to every connection and then keeps it open.
pub async fn source_server(bytes: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let _ = stream.write_all(&bytes).await;
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    address
}

/// A loopback address where nothing listens (free a moment ago).
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// An emulator with one instance (`Env=dev`, reachable by `dev`) whose fleet entry maps
/// `ports` and remote `hosts` (`"name:port"`) to the given addresses; and that instance's id.
pub async fn port_emulator(
    ports: &[(u16, SocketAddr)],
    hosts: &[(&str, SocketAddr)],
) -> (RunningEmulator, String) {
    port_emulator_with(ports, hosts, |_| {}).await
}

/// The same, with `edit` applied to the configuration first (fault injection, the
/// instance's agent version, …).
pub async fn port_emulator_with(
    ports: &[(u16, SocketAddr)],
    hosts: &[(&str, SocketAddr)],
    edit: impl FnOnce(&mut gangway::emulator::EmulatorConfig),
) -> (RunningEmulator, String) {
    let mut config = config(1);
    edit(&mut config);
    let instance = &mut config.fleet.instances[0];
    assert!(instance.is_connectable() && instance.tags["Env"] == "dev");
    instance.ports = ports.iter().copied().collect::<BTreeMap<_, _>>();
    instance.hosts = hosts
        .iter()
        .map(|(key, address)| ((*key).to_owned(), *address))
        .collect();
    let target = instance.id.clone();
    (start(config).await, target)
}

/// StartSession with a port `document` and `parameters` as `dev`, then the data channel of a
/// client that accepts Port sessions and announces `client_version` (which picks the mode).
pub async fn open_port(
    emulator: &RunningEmulator,
    target: &str,
    document: &str,
    parameters: &[(&str, &str)],
    client_version: &str,
) -> Client {
    let dev = ssm(emulator, DEV);
    let started = start_session_with(&dev, target, Some(document), parameters).await;
    let mut config = SessionConfig::client(started.session_id.clone());
    config.port_sessions = true;
    config.client_version = client_version.to_owned();
    Client::open_with(dev, started, config).await
}

/// Runs `client` until the agent's HandshakeRequest came and the session is open.
pub async fn until_open(client: &mut Client) {
    client
        .pump_until(super::PATIENCE, |c| {
            c.session.is_open() && c.handshake.is_some()
        })
        .await;
}

/// An smux v1 client over a port session's data channel: the plugin's side of mux mode.
pub struct MuxClient {
    pub client: Client,
    pub mux: Mux,
    /// Bytes received per stream.
    pub received: HashMap<StreamId, Vec<u8>>,
    /// Streams the agent finished (FIN).
    pub finished: Vec<StreamId>,
    /// Bytes of `client.stdout` already fed to the mux.
    fed: usize,
}

impl MuxClient {
    pub fn new(mut client: Client) -> Self {
        // Keepalive off, as the plugin does for agents above 3.1.1511.0 (§6.3).
        let config = MuxConfig {
            keepalive: false,
            ..MuxConfig::default()
        };
        client.stdout.clear();
        Self {
            client,
            mux: Mux::new(Role::Client, config, Instant::now()),
            received: HashMap::new(),
            finished: Vec::new(),
            fed: 0,
        }
    }

    /// Moves bytes between the mux and the data channel and runs one protocol round.
    pub async fn step(&mut self) {
        let room = self.client.session.send_capacity_bytes();
        if let Some(bytes) = self.mux.poll_transmit(room) {
            self.client.send(&bytes);
        }
        self.client.step().await;
        if self.client.stdout.len() > self.fed {
            self.mux.handle_input(&self.client.stdout[self.fed..]);
            self.fed = self.client.stdout.len();
        }
        if self.fed > 1 << 20 {
            self.client.stdout.drain(..self.fed);
            self.fed = 0;
        }
        while let Some(event) = self.mux.poll_event() {
            match event {
                MuxEvent::Data(id, bytes) => {
                    self.mux.consumed(id, bytes.len());
                    self.received
                        .entry(id)
                        .or_default()
                        .extend_from_slice(&bytes);
                }
                MuxEvent::StreamFinished(id) => self.finished.push(id),
                MuxEvent::StreamAccepted(_) => {}
                MuxEvent::Error(error) => panic!("client mux died: {error}"),
            }
        }
    }

    /// Steps until `done` holds; panics after `limit` or if the channel closes.
    pub async fn until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let give_up = Instant::now() + limit;
        while !done(self) {
            assert!(
                self.client.closed.is_none(),
                "channel closed: {:?}",
                self.client.closed
            );
            assert!(
                Instant::now() < give_up,
                "gave up waiting: {} resumes, bytes received per stream {:?}",
                self.client.resumes,
                self.received.values().map(Vec::len).collect::<Vec<_>>()
            );
            self.step().await;
        }
    }
}
