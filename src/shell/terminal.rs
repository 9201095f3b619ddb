//! Terminal ownership for a shell in TTY mode: full raw mode (so Ctrl-C, Ctrl-Z and
//! Ctrl-\ reach the remote shell as bytes, unlike the reference's cbreak mode, §6.1), and a
//! restore that runs on every exit path: drop of the guard, the panic hook, and the signal
//! handlers of the pump. Restoring is idempotent: the saved modes are taken exactly once.

use std::io::IsTerminal;
use std::sync::{Mutex, Once};

use nix::sys::termios::{self, SetArg, Termios};

/// The modes to put back; `Some` only while raw mode is on.
static SAVED_MODES: Mutex<Option<Termios>> = Mutex::new(None);

/// True when both stdin and stdout are terminals: the interactive mode of issue 5.
pub fn stdio_is_tty() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Raw mode while alive; restores on drop.
#[must_use = "raw mode ends when the guard is dropped"]
pub struct RawModeGuard(());

impl RawModeGuard {
    pub fn enter() -> std::io::Result<Self> {
        install_panic_hook();
        let stdin = std::io::stdin();
        let original = termios::tcgetattr(&stdin).map_err(std::io::Error::from)?;
        let mut raw = original.clone();
        termios::cfmakeraw(&mut raw);
        {
            let mut saved = SAVED_MODES.lock().unwrap_or_else(|e| e.into_inner());
            // Keep the first saved modes if raw mode is (wrongly) entered twice.
            if saved.is_none() {
                *saved = Some(original);
            }
        }
        termios::tcsetattr(&stdin, SetArg::TCSADRAIN, &raw).map_err(std::io::Error::from)?;
        Ok(Self(()))
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Puts the saved terminal modes back, if raw mode is on. Safe to call any number of
/// times, from any thread, including the panic hook.
pub fn restore_terminal() {
    let saved = SAVED_MODES.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(modes) = saved
        && let Err(error) = termios::tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, &modes)
    {
        tracing::warn!(%error, "restoring the terminal modes failed");
    }
}

/// SIGTSTP: the modes the user had, while gangway is stopped, without ending raw mode (the
/// saved modes stay for [`reenter_raw_mode`] and the guard). False when raw mode is off.
pub fn suspend_raw_mode() -> bool {
    let saved = SAVED_MODES.lock().unwrap_or_else(|e| e.into_inner());
    let Some(modes) = saved.as_ref() else {
        return false;
    };
    if let Err(error) = termios::tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, modes) {
        tracing::warn!(%error, "restoring the terminal modes before stopping failed");
    }
    true
}

/// SIGCONT: raw mode again, from the saved modes, after a stop (a shell's `fg` gives the
/// terminal back with its own modes). Nothing when raw mode is off.
pub fn reenter_raw_mode() {
    let saved = SAVED_MODES.lock().unwrap_or_else(|e| e.into_inner());
    let Some(modes) = saved.as_ref() else {
        return;
    };
    let mut raw = modes.clone();
    termios::cfmakeraw(&mut raw);
    if let Err(error) = termios::tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, &raw) {
        tracing::warn!(%error, "re-entering raw mode after a stop failed");
    }
}

/// Restores the terminal before the previous hook prints the panic (ratatui's pattern).
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

/// The size of the terminal on stdout, if it is one.
pub fn terminal_size() -> Option<(u16, u16)> {
    ratatui::crossterm::terminal::size()
        .ok()
        .filter(|(cols, rows)| *cols > 0 && *rows > 0)
}
