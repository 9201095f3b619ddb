//! The UI drawn with no terminal in the way, for the benches that time `update` plus a
//! frame: ratatui's crossterm backend writing to `io::sink`, in a fixed viewport.

use std::time::{Duration, Instant};

use gangway::tui::model::Model;
use gangway::tui::views;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};

pub const COLS: u16 = 120;
pub const ROWS: u16 = 40;

pub type MemoryTerminal = Terminal<CrosstermBackend<std::io::Sink>>;

/// A terminal with empty buffers: its first frame writes every cell.
pub fn new_terminal() -> MemoryTerminal {
    let viewport = Viewport::Fixed(Rect::new(0, 0, COLS, ROWS));
    Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions { viewport },
    )
    .unwrap()
}

/// How long one frame of `model` takes to draw.
pub fn frame(terminal: &mut MemoryTerminal, model: &Model) -> Duration {
    let start = Instant::now();
    terminal.draw(|f| views::draw(f, model)).unwrap();
    start.elapsed()
}
