//! What a tunnel tells its owner (the `forward` command prints it, as text or JSON lines).

use std::net::SocketAddr;

/// One happening in a tunnel. Session ids and reasons come from AWS: escape them before a
/// terminal (`crate::text`) and let serde escape them in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelEvent {
    /// A listener is up: `local` accepts connections for `remote` (`[HOST:]PORT`).
    Listening {
        listener: usize,
        local: SocketAddr,
        remote: String,
    },
    /// A port session is open and carries connections in `mode` (`mux` or `basic`).
    /// `reestablished` counts the sessions this slot opened before (0 for the first).
    SessionOpened {
        listener: usize,
        session_id: String,
        mode: &'static str,
        reestablished: u32,
    },
    ConnectionOpened {
        listener: usize,
        connection: u64,
        peer: SocketAddr,
        session_id: String,
    },
    ConnectionClosed {
        listener: usize,
        connection: u64,
        bytes_up: u64,
        bytes_down: u64,
        /// Why, when it was not a normal close by either end.
        reason: Option<String>,
    },
    /// The agent could not connect to the remote port for one connection (Flag
    /// ConnectToPortError, §6.3); the tunnel stays up.
    RemoteRefused {
        listener: usize,
        session_id: String,
    },
    /// The websocket dropped; the session is being resumed, connections kept.
    Reconnecting {
        listener: usize,
        session_id: String,
    },
    Resumed {
        listener: usize,
        session_id: String,
    },
    /// The session ended (the service closed it, idle timeout, lost). `reopening` when the
    /// tunnel opens a new one by itself.
    SessionEnded {
        listener: usize,
        session_id: String,
        reason: String,
        reopening: bool,
    },
    /// Opening a session failed; `retrying` when another attempt follows.
    OpenFailed {
        listener: usize,
        error: String,
        retrying: bool,
    },
}
