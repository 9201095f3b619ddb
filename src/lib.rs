//! gangway: a terminal session broker for EC2 over AWS Systems Manager Session Manager.
//!
//! Layers (see `docs/architecture.md`, "Where does my change go?"); dependencies point inward
//! only: `text` and `proto` (sans-IO data-channel protocol) at the bottom; `transport`
//! (websocket + timers) and `emulator` (local AWS) on `proto`; `iam` and `alerts` (IAM policies,
//! EventBridge patterns and alert rules, sans-IO) shared by the emulator and the commands; `local` (recordings and
//! activity files under the state directory); `aws` (SDK calls into domain types); `shell` (a session on a terminal), `copy` (`gangway cp`) and `tui` above them; `commands` and `cli` at
//! the top, where arguments become the layers' own option types.

pub mod alerts;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod copy;
pub mod emulator;
pub mod iam;
pub mod local;
pub mod logging;
pub mod proto;
pub mod secret;
pub mod shell;
pub mod text;
pub mod transport;
pub mod tui;
pub mod tunnel;

#[cfg(test)]
mod layers_tests;
