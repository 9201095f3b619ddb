//! gangway: a terminal session broker for EC2 over AWS Systems Manager Session Manager.
//!
//! Layers (see `docs/architecture.md`); dependencies point inward only:
//! `proto` (sans-IO data-channel protocol) <- `transport` (websocket + timers) and
//! `emulator` (local AWS) <- `aws` (SDK calls into domain types) <- `tui`.

pub mod aws;
pub mod cli;
pub mod connect;
pub mod emulator;
pub mod logging;
pub mod proto;
pub mod secret;
pub mod transport;
pub mod tui;
