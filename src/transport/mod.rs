//! The one owner of a websocket and the timers for a [`crate::proto::Session`] in the
//! client role (architecture.md, "Data flow of a shell session", step 2).
//!
//! [`SessionChannel::open`] dials the StreamUrl exactly as given (protocol.md §1.3), sends
//! OpenDataChannel (§1.4), then moves binary frames between the socket and the session,
//! drives `poll_transmit`/`poll_timeout`/`poll_event`, pings (§7.1), and resumes a dropped
//! socket through ResumeSession with backoff while keeping the sequence state (§7.2). Input
//! given meanwhile waits in the channel: nothing typed is lost.

mod channel;
mod dial;
mod driver;
mod error;
mod kms;
mod open_frame;
mod proxy;
mod reconnect;
mod socket;

#[cfg(test)]
mod driver_tests;

pub use crate::secret::SecretString;
pub use channel::{
    Backoff, ChannelEvent, ChannelGone, ChannelOptions, InputPermit, InputSender, ResumeFuture,
    Resumer, SessionChannel, SessionEndpoint,
};
pub use dial::{Dialer, WsStream};
pub use error::TransportError;
pub use kms::{DataKey, DataKeyFuture, DataKeySource, KeyRefusal, KeyRefused};
pub use open_frame::{CLIENT_VERSION, open_data_channel_json, process_client_id};
pub use proxy::ProxyConfig;
