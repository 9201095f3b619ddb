//! The interactive terminal UI (issue 6), in the Elm architecture (style.md §3): `model` is
//! plain data, `update` is pure and returns `effect`s, `views` draw the model, and the
//! runtime owns the terminal and runs effects on tokio tasks that answer with `msg`s.

pub mod chord;
pub mod config;
pub mod effect;
pub mod effects;
#[doc(hidden)]
pub mod fixtures;
pub mod fleet;
pub mod input;
pub mod keymap;
pub mod model;
pub mod msg;
pub mod runtime;
pub mod shell;
pub mod terminal;
pub mod text;
pub mod update;
pub mod views;

mod start;

pub use start::{run_cli, run_demo};
