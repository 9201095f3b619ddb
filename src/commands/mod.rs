//! One file per subcommand: each takes its parsed arguments from `cli`, wires the layers
//! below together, prints what the user reads and returns the exit status (`exit`). Nothing
//! below this folder knows about the command line or exit statuses.

pub mod connect;
pub mod demo;
pub mod emulator;
pub mod exec;
pub mod exit;
pub mod list;
pub mod settings;
pub mod setup;
pub mod ui;
