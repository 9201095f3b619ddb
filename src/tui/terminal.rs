//! The one owner of the terminal while the UI runs (style.md §3): raw mode and the alternate
//! screen on entry; a restore that undoes each step, logs each failure on its own and is safe
//! to call twice; a panic hook that restores before the previous hook prints; and
//! suspend/resume to hand the terminal to a live shell (yazi's stop/resume).

use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, event, execute, terminal};

/// True while raw mode and the alternate screen are on; `restore` only acts when set.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// True while mouse reports are asked of the terminal (an embedded shell's program wants
/// them); `restore` turns them off.
static MOUSE: AtomicBool = AtomicBool::new(false);
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
    // Bracketed paste: a paste arrives as one event for an embedded shell, which passes it
    // on bracketed only when its remote program asked (panes::keys).
    execute!(
        io::stdout(),
        terminal::EnterAlternateScreen,
        cursor::Hide,
        event::EnableBracketedPaste
    )
}

/// Asks the terminal for mouse reports, or stops: on only while the embedded shell on
/// screen has a program that asked for them, so the user's terminal keeps its own
/// selection otherwise.
pub fn capture_mouse(on: bool) {
    if MOUSE.swap(on, Ordering::SeqCst) == on || !ACTIVE.load(Ordering::SeqCst) {
        return;
    }
    let result = if on {
        execute!(io::stdout(), event::EnableMouseCapture)
    } else {
        execute!(io::stdout(), event::DisableMouseCapture)
    };
    if let Err(e) = result {
        tracing::warn!("could not switch mouse reports: {e}");
    }
}

/// Leaves raw mode and the alternate screen. Each step runs even if an earlier one failed.
/// Returns whether there was anything to restore: only the first call after `enter` acts.
pub fn restore() -> bool {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return false;
    }
    if MOUSE.swap(false, Ordering::SeqCst)
        && let Err(e) = execute!(io::stdout(), event::DisableMouseCapture)
    {
        tracing::warn!("could not stop mouse reports: {e}");
    }
    if let Err(e) = execute!(io::stdout(), event::DisableBracketedPaste) {
        tracing::warn!("could not leave bracketed paste: {e}");
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
    true
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
    use std::sync::atomic::Ordering;

    use super::{ACTIVE, restore};

    #[test]
    fn restore_acts_once_and_is_safe_to_call_again() {
        // Not entered: nothing to undo.
        assert!(!restore());
        // Entered (as `enter` marks it): the first restore undoes it, whatever each step
        // reports without a terminal; every later call, from a drop or the panic hook, is a
        // no-op.
        ACTIVE.store(true, Ordering::SeqCst);
        assert!(restore());
        assert!(!ACTIVE.load(Ordering::SeqCst));
        assert!(!restore());
    }
}
