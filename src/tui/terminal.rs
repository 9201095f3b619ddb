//! The one owner of the terminal while the UI runs (style.md §3): raw mode and the alternate
//! screen on entry; a restore that undoes each step, logs each failure on its own and is safe
//! to call twice; a panic hook that restores before the previous hook prints; and
//! suspend/resume to hand the terminal to a live shell (yazi's stop/resume).

use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};

/// True while raw mode and the alternate screen are on; `restore` only acts when set.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

pub type Backend = CrosstermBackend<Stdout>;

pub struct Tui {
    pub terminal: Terminal<Backend>,
}

impl Tui {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        take_over()?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok(Self { terminal })
    }

    /// Gives the terminal back (cooked mode, main screen) so a shell can use it.
    pub fn suspend(&mut self) {
        restore();
    }

    /// Takes the terminal again after a shell. A new `Terminal` starts from empty buffers,
    /// so the next frame redraws everything (`Terminal::clear` would ask the terminal for
    /// the cursor position, which not every terminal answers).
    pub fn resume(&mut self) -> io::Result<()> {
        take_over()?;
        execute!(io::stdout(), terminal::Clear(terminal::ClearType::All))?;
        self.terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok(())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

fn take_over() -> io::Result<()> {
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)
}

/// Leaves raw mode and the alternate screen. Each step runs even if an earlier one failed.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    if let Err(e) = execute!(io::stdout(), terminal::LeaveAlternateScreen) {
        tracing::warn!("could not leave the alternate screen: {e}");
    }
    if let Err(e) = execute!(io::stdout(), cursor::Show) {
        tracing::warn!("could not show the cursor: {e}");
    }
    if let Err(e) = terminal::disable_raw_mode() {
        tracing::warn!("could not leave raw mode: {e}");
    }
}

fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn restore_without_a_terminal_is_a_no_op_and_idempotent() {
        super::restore();
        super::restore();
    }
}
