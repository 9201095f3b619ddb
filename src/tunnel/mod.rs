//! Port forwarding and SSH through port sessions (§6.3, §6.4): the one place that owns local
//! listeners and the port sessions behind them.
//!
//! - [`Tunnel`] (`listener.rs`): binds `[LOCAL:]REMOTE` listeners on 127.0.0.1, opens the
//!   first session of each at once and more (`--sessions N`) as connections arrive, spreads
//!   connections over them, and reports [`TunnelEvent`]s.
//!   [`Tunnel::adopt`] takes one listener for a session someone else started (gangway as
//!   `session-manager-plugin`).
//! - `slot.rs`: one session at a time per slot; when the service ends it, a new one is
//!   opened and the waiting connections carry on (resume after a dropped websocket is the
//!   transport's, invisible here but for the events).
//! - `mux_pump.rs` / `basic_pump.rs`: the two wire modes, chosen from the agent's version
//!   exactly as the plugin chooses (`proto::port_mode`). Bytes are carried as they are: no
//!   CR/LF or EOT rewriting on this path (not even the plugin's lone-LF quirk, §6.3).
//! - [`stdio`]: `AWS-StartSSHSession` on this process's stdin/stdout (`ssh-proxy`).
//!
//! Sessions start through `shell::open_channel_with` (StartSession, dial, ResumeSession
//! wiring) with `ChannelOptions::port_session`, so the client answers Port with Success.

mod basic_pump;
mod connection;
mod event;
mod listener;
mod mux_pump;
mod open;
mod port_holder;
mod pump;
mod slot;
pub mod stdio;

pub use crate::proto::port_mode::{PortMode, PortSessionOffer};
pub use connection::Traffic;
pub use event::TunnelEvent;
pub use listener::{ForwardSpec, Tunnel, TunnelError};
pub use open::{
    Destination, OpenError, OpenSession, mode_name, open_port_session, open_stream_session,
    terminate,
};
