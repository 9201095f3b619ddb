//! A pane's terminal state: a `vt100` parser (why that crate: docs/architecture.md, "The
//! TUI") shared between the task that feeds it the session's output and the views that draw
//! it. The lock is held for one bounded chunk at a time, so a flood of output never keeps a
//! frame (and with it the prefix key) waiting for long.

use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, MutexGuard};

use super::keys::{InputModes, MouseMode};

/// Lines kept above the screen for paging back.
pub const SCROLLBACK_LINES: usize = 5_000;

/// The most output parsed under one hold of the lock (~1 ms of parsing, docs/PERFORMANCE.md).
pub const FEED_CHUNK_BYTES: usize = 16 * 1024;

/// One pane's terminal, cheap to clone (the model holds a handle, not the screen).
#[derive(Clone)]
pub struct PaneScreen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl std::fmt::Debug for PaneScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaneScreen")
    }
}

impl PartialEq for PaneScreen {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.parser, &other.parser)
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n.max(1)).unwrap_or(NonZeroU16::MIN)
}

impl PaneScreen {
    pub fn new(cols: u16, rows: u16) -> Self {
        Self {
            parser: Arc::new(Mutex::new(vt100::Parser::new(
                nonzero(rows),
                nonzero(cols),
                SCROLLBACK_LINES,
            ))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, vt100::Parser> {
        // A panic while parsing leaves a screen that is still a screen: keep drawing it.
        self.parser
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Parses `bytes`, a chunk of at most [`FEED_CHUNK_BYTES`] at a time. Malformed escape
    /// sequences are the parser's to skip (vte's state machine never fails).
    pub fn feed(&self, bytes: &[u8]) {
        for chunk in bytes.chunks(FEED_CHUNK_BYTES) {
            self.lock().process(chunk);
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let mut parser = self.lock();
        let (r, c) = parser.screen().size();
        if (r.get(), c.get()) != (rows.max(1), cols.max(1)) {
            parser.screen_mut().set_size(nonzero(rows), nonzero(cols));
        }
    }

    /// Pages back `lines` into the scrollback (0 is the live screen).
    pub fn set_scrollback(&self, lines: usize) {
        self.lock().screen_mut().set_scrollback(lines);
    }

    /// What the remote program asked of the keyboard and the mouse.
    pub fn input_modes(&self) -> InputModes {
        let parser = self.lock();
        let screen = parser.screen();
        InputModes {
            application_cursor: screen.application_cursor(),
            bracketed_paste: screen.bracketed_paste(),
            mouse: match screen.mouse_protocol_mode() {
                vt100::MouseProtocolMode::None => MouseMode::Off,
                vt100::MouseProtocolMode::Press => MouseMode::Press,
                vt100::MouseProtocolMode::PressRelease => MouseMode::PressRelease,
                vt100::MouseProtocolMode::ButtonMotion => MouseMode::ButtonMotion,
                vt100::MouseProtocolMode::AnyMotion => MouseMode::AnyMotion,
            },
            sgr_mouse: screen.mouse_protocol_encoding() == vt100::MouseProtocolEncoding::Sgr,
        }
    }

    /// Reads the screen (for drawing) under the lock.
    pub fn with_screen<T>(&self, read: impl FnOnce(&vt100::Screen) -> T) -> T {
        read(self.lock().screen())
    }

    /// The screen's text, for tests and the end-of-session summary.
    pub fn contents(&self) -> String {
        self.with_screen(vt100::Screen::contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_the_remote_program() {
        let screen = PaneScreen::new(80, 24);
        assert_eq!(screen.input_modes(), InputModes::default());
        screen.feed(b"\x1b[?1h\x1b[?2004h\x1b[?1000h\x1b[?1006h");
        let modes = screen.input_modes();
        assert!(modes.application_cursor && modes.bracketed_paste && modes.sgr_mouse);
        assert_eq!(modes.mouse, MouseMode::PressRelease);
        screen.feed(b"\x1b[?1l\x1b[?2004l\x1b[?1000l");
        assert_eq!(screen.input_modes().mouse, MouseMode::Off);
    }

    #[test]
    fn malformed_sequences_and_floods_leave_a_usable_screen() {
        let screen = PaneScreen::new(40, 5);
        let mut junk = Vec::new();
        for i in 0..20_000u32 {
            junk.extend_from_slice(b"\x1b[");
            junk.extend_from_slice(&[0xff, 0x9b, (i % 256) as u8]);
            junk.extend_from_slice(b"\x1b]0;");
            junk.extend_from_slice(&[b'9'; 40]);
        }
        screen.feed(&junk);
        screen.feed(b"\x1b[0m\x1bc\x1b[Hhello");
        assert!(
            screen.contents().starts_with("hello"),
            "{}",
            screen.contents()
        );
    }

    #[test]
    fn resize_keeps_the_text() {
        let screen = PaneScreen::new(20, 4);
        screen.feed(b"abc");
        screen.resize(10, 2);
        screen.resize(30, 6);
        assert!(screen.contents().starts_with("abc"));
        // A zero size (a window dragged shut) is one cell, never a panic.
        screen.resize(0, 0);
        screen.feed(b"xyz");
    }
}
