//! smux protocol version 1 (xtaci/smux), the multiplexer of port forwarding's mux mode (§6.3,
//! §6.4), as a sans-IO state machine that both ends share: the client in gangway and the
//! server in the emulator's agent.
//!
//! The smux byte stream travels inside the data channel's PT 1 payloads with no alignment
//! between smux frames and messages (§6.3), so the owner feeds every payload's bytes to
//! [`Mux::handle_input`] and puts what [`Mux::poll_transmit`] returns into PT 1 payloads. Time
//! is a parameter ([`Mux::handle_timeout`], [`Mux::poll_timeout`]); nothing here reads a clock
//! or does IO.
//!
//! Why our own: the crates on the registry that speak smux (`async_smux` on futures/tokio,
//! `tokio_smux`, `smux`) each own the underlying connection as an `AsyncRead + AsyncWrite`
//! and run their own tasks and timers. `proto/` must stay sans-IO and be driven from inside the
//! data channel owner (transport on one side, the emulator's agent task on the other), with
//! keepalive on a virtual clock in tests; none of them can be driven that way, and v1 is small
//! (four commands, no windows). So this is a small implementation written from the protocol
//! notes and from reading xtaci/smux's Go source; comments name the Go function followed.
//!
//! Behaviour that matters on the wire, as in xtaci/smux (v1.5.15 on the agent, v1.5.16 in the
//! plugin, §6.3): client ids 3, 5, 7, …; data split at 32768 bytes; a SYN for an open id is
//! ignored; PSH/FIN for an unknown or closed stream is dropped (`recvLoop`); keepalive NOP
//! every 10 s and death after a 30 s tick with nothing received (`keepalive`). Receiving is
//! bounded the sans-IO way: the owner stops feeding while [`Mux::wants_input`] is false (4 MiB
//! unconsumed, xtaci's MaxReceiveBuffer token bucket), and a peer that keeps sending anyway
//! hits [`MuxConfig::receive_hard_limit`], which ends the session instead of growing memory.

mod frame;
mod mux;
#[cfg(test)]
mod tests;

pub use frame::{
    Cmd, DEFAULT_MAX_FRAME_SIZE, Frame, FrameDecoder, FrameError, HEADER_SIZE, StreamId, VERSION,
    encode_data, encode_frame,
};
pub use mux::{Mux, MuxConfig, MuxError, MuxEvent, MuxStats, Role, StreamError};
