//! The interactive terminal UI (issue 6), in the Elm architecture (style.md §3): `model` is
//! plain data, `update` is pure and returns `effect`s, `views` draw the model, and the
//! runtime owns the terminal and runs effects on tokio tasks that answer with `msg`s.

pub mod chord;
pub mod clock;
pub mod config;
mod config_accounts;
pub mod duration;
pub mod effect;
pub mod executor;
#[doc(hidden)]
pub mod fixtures;
pub mod fleet_list;
pub mod key_reader;
pub mod keymap;
pub mod model;
pub mod msg;
pub mod pane_task;
pub mod panes;
pub mod reason_example;
pub mod runtime;
pub mod session_list;
pub mod shell;
pub mod terminal;
pub mod tunnel_list;
pub mod update;
pub mod views;
