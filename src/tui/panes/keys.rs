//! Keys, pastes and mouse events back into the bytes a terminal (xterm) would send, for the
//! program in an embedded pane. Which form depends on the modes the remote program set:
//! application cursor keys (DECCKM), bracketed paste (2004) and mouse reporting (1000-1006),
//! read from the pane's terminal state.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// The remote program's input modes that change what a key or a paste sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputModes {
    pub application_cursor: bool,
    pub bracketed_paste: bool,
    pub mouse: MouseMode,
    pub sgr_mouse: bool,
}

/// Which mouse events the remote program asked for (none unless it asked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MouseMode {
    #[default]
    Off,
    /// X10: presses only.
    Press,
    /// Presses and releases (1000).
    PressRelease,
    /// And motion with a button down (1002).
    ButtonMotion,
    /// And any motion (1003).
    AnyMotion,
}

/// xterm's modifier parameter: 1 + shift + 2·alt + 4·ctrl; `None` without modifiers.
fn modifier_param(modifiers: KeyModifiers) -> Option<u8> {
    let mut param = 1;
    if modifiers.contains(KeyModifiers::SHIFT) {
        param += 1;
    }
    if modifiers.contains(KeyModifiers::ALT) {
        param += 2;
    }
    if modifiers.contains(KeyModifiers::CONTROL) {
        param += 4;
    }
    (param > 1).then_some(param)
}

/// The control byte for ctrl with `ch`, as a terminal sends it. crossterm reads 0x1c-0x1f
/// as ctrl-4..ctrl-7, so those map back to the same bytes.
fn control_byte(ch: char) -> Option<u8> {
    Some(match ch {
        'a'..='z' => ch as u8 - b'a' + 1,
        'A'..='Z' => ch as u8 - b'A' + 1,
        '@' | ' ' | '2' => 0x00,
        '[' | '3' => 0x1b,
        '\\' | '4' => 0x1c,
        ']' | '5' => 0x1d,
        '^' | '6' => 0x1e,
        '_' | '7' | '/' => 0x1f,
        '?' | '8' => 0x7f,
        _ => return None,
    })
}

/// A cursor key: `ESC [ X` (normal), `ESC O X` (application mode), `ESC [ 1 ; m X` (modified).
fn cursor_key(letter: u8, modifiers: KeyModifiers, modes: InputModes) -> Vec<u8> {
    match modifier_param(modifiers) {
        Some(param) => format!("\x1b[1;{param}{}", letter as char).into_bytes(),
        None if modes.application_cursor => vec![0x1b, b'O', letter],
        None => vec![0x1b, b'[', letter],
    }
}

/// A key of the `ESC [ n ~` family, with xterm's modifier parameter.
fn tilde_key(number: u8, modifiers: KeyModifiers) -> Vec<u8> {
    match modifier_param(modifiers) {
        Some(param) => format!("\x1b[{number};{param}~").into_bytes(),
        None => format!("\x1b[{number}~").into_bytes(),
    }
}

/// The bytes for `key`, or `None` for a key a terminal sends nothing for.
pub fn encode_key(key: &KeyEvent, modes: InputModes) -> Option<Vec<u8>> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let mut bytes = match key.code {
        KeyCode::Char(ch) if ctrl => vec![control_byte(ch)?],
        KeyCode::Char(ch) => ch.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace if ctrl => vec![0x08],
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => return Some(cursor_key(b'A', key.modifiers, modes)),
        KeyCode::Down => return Some(cursor_key(b'B', key.modifiers, modes)),
        KeyCode::Right => return Some(cursor_key(b'C', key.modifiers, modes)),
        KeyCode::Left => return Some(cursor_key(b'D', key.modifiers, modes)),
        KeyCode::Home => return Some(cursor_key(b'H', key.modifiers, modes)),
        KeyCode::End => return Some(cursor_key(b'F', key.modifiers, modes)),
        KeyCode::Insert => return Some(tilde_key(2, key.modifiers)),
        KeyCode::Delete => return Some(tilde_key(3, key.modifiers)),
        KeyCode::PageUp => return Some(tilde_key(5, key.modifiers)),
        KeyCode::PageDown => return Some(tilde_key(6, key.modifiers)),
        KeyCode::F(n @ 1..=4) => {
            let letter = b'P' + (n - 1);
            return Some(match modifier_param(key.modifiers) {
                Some(param) => format!("\x1b[1;{param}{}", letter as char).into_bytes(),
                None => vec![0x1b, b'O', letter],
            });
        }
        KeyCode::F(n @ 5..=12) => {
            // xterm skips 16 and 22.
            let number = [15, 17, 18, 19, 20, 21, 23, 24][usize::from(n - 5)];
            return Some(tilde_key(number, key.modifiers));
        }
        _ => return None,
    };
    // Meta sends ESC first (xterm's metaSendsEscape, what shells expect).
    if alt {
        bytes.insert(0, 0x1b);
    }
    Some(bytes)
}

/// A paste: wrapped in `ESC [ 200 ~ … ESC [ 201 ~` when the remote program turned bracketed
/// paste on, with any end marker inside the text removed so the paste cannot end itself
/// early (xterm does the same); line ends as CR, as typed.
pub fn encode_paste(text: &str, modes: InputModes) -> Vec<u8> {
    let body = text.replace("\r\n", "\r").replace('\n', "\r");
    if !modes.bracketed_paste {
        return body.into_bytes();
    }
    let body = body.replace("\x1b[201~", "");
    let mut bytes = b"\x1b[200~".to_vec();
    bytes.extend_from_slice(body.as_bytes());
    bytes.extend_from_slice(b"\x1b[201~");
    bytes
}

/// A mouse event at (`column`, `row`) of the pane (0-based), or `None` when the remote
/// program did not ask for this kind of event.
pub fn encode_mouse(
    event: &MouseEvent,
    column: u16,
    row: u16,
    modes: InputModes,
) -> Option<Vec<u8>> {
    let button = |b: MouseButton| match b {
        MouseButton::Left => 0u16,
        MouseButton::Middle => 1,
        MouseButton::Right => 2,
    };
    let (mut code, release) = match event.kind {
        MouseEventKind::Down(b) => (button(b), false),
        MouseEventKind::Up(b) => {
            if modes.mouse == MouseMode::Press {
                return None;
            }
            (button(b), true)
        }
        MouseEventKind::Drag(b) => {
            if !matches!(modes.mouse, MouseMode::ButtonMotion | MouseMode::AnyMotion) {
                return None;
            }
            (button(b) + 32, false)
        }
        MouseEventKind::Moved => {
            if modes.mouse != MouseMode::AnyMotion {
                return None;
            }
            (3 + 32, false)
        }
        MouseEventKind::ScrollUp => (64, false),
        MouseEventKind::ScrollDown => (65, false),
        MouseEventKind::ScrollLeft => (66, false),
        MouseEventKind::ScrollRight => (67, false),
    };
    if modes.mouse == MouseMode::Off {
        return None;
    }
    if event.modifiers.contains(KeyModifiers::SHIFT) {
        code += 4;
    }
    if event.modifiers.contains(KeyModifiers::ALT) {
        code += 8;
    }
    if event.modifiers.contains(KeyModifiers::CONTROL) {
        code += 16;
    }
    let (x, y) = (column.saturating_add(1), row.saturating_add(1));
    if modes.sgr_mouse {
        let end = if release { 'm' } else { 'M' };
        return Some(format!("\x1b[<{code};{x};{y}{end}").into_bytes());
    }
    // The X10 form: one byte each, so positions past 223 cannot be said.
    let code = if release { 3 } else { code };
    let byte = |v: u16| u8::try_from(v + 32).ok();
    Some(vec![0x1b, b'[', b'M', byte(code)?, byte(x)?, byte(y)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn plain(code: KeyCode) -> Vec<u8> {
        encode_key(&key(code, KeyModifiers::NONE), InputModes::default()).unwrap_or_default()
    }

    #[test]
    fn characters_and_control_keys() {
        assert_eq!(plain(KeyCode::Char('a')), b"a");
        assert_eq!(plain(KeyCode::Char('결')), "결".as_bytes());
        assert_eq!(plain(KeyCode::Enter), b"\r");
        assert_eq!(plain(KeyCode::Backspace), b"\x7f");
        assert_eq!(plain(KeyCode::Esc), b"\x1b");
        assert_eq!(plain(KeyCode::BackTab), b"\x1b[Z");
        let ctrl = |ch| {
            encode_key(
                &key(KeyCode::Char(ch), KeyModifiers::CONTROL),
                InputModes::default(),
            )
        };
        assert_eq!(ctrl('c'), Some(vec![3]));
        assert_eq!(ctrl('d'), Some(vec![4]));
        assert_eq!(ctrl(']'), Some(vec![0x1d]));
        // crossterm's reading of 0x1d.
        assert_eq!(ctrl('5'), Some(vec![0x1d]));
        assert_eq!(ctrl('@'), Some(vec![0]));
        assert_eq!(ctrl('é'), None);
        let alt_x = encode_key(
            &key(KeyCode::Char('x'), KeyModifiers::ALT),
            InputModes::default(),
        );
        assert_eq!(alt_x, Some(b"\x1bx".to_vec()));
    }

    #[test]
    fn cursor_keys_follow_the_application_mode() {
        assert_eq!(plain(KeyCode::Up), b"\x1b[A");
        assert_eq!(plain(KeyCode::Home), b"\x1b[H");
        let app = InputModes {
            application_cursor: true,
            ..InputModes::default()
        };
        let up = encode_key(&key(KeyCode::Up, KeyModifiers::NONE), app);
        assert_eq!(up, Some(b"\x1bOA".to_vec()));
        let ctrl_left = encode_key(&key(KeyCode::Left, KeyModifiers::CONTROL), app);
        assert_eq!(ctrl_left, Some(b"\x1b[1;5D".to_vec()));
    }

    #[test]
    fn function_and_editing_keys() {
        assert_eq!(plain(KeyCode::F(1)), b"\x1bOP");
        assert_eq!(plain(KeyCode::F(5)), b"\x1b[15~");
        assert_eq!(plain(KeyCode::F(12)), b"\x1b[24~");
        assert_eq!(plain(KeyCode::Delete), b"\x1b[3~");
        assert_eq!(plain(KeyCode::PageDown), b"\x1b[6~");
        let shift_del = encode_key(
            &key(KeyCode::Delete, KeyModifiers::SHIFT),
            InputModes::default(),
        );
        assert_eq!(shift_del, Some(b"\x1b[3;2~".to_vec()));
    }

    #[test]
    fn pastes_are_bracketed_only_when_asked_and_cannot_end_early() {
        let off = InputModes::default();
        assert_eq!(encode_paste("ls\nid", off), b"ls\rid");
        let on = InputModes {
            bracketed_paste: true,
            ..off
        };
        assert_eq!(
            encode_paste("a\x1b[201~b\r\n", on),
            b"\x1b[200~ab\r\x1b[201~".to_vec()
        );
    }

    #[test]
    fn mouse_reports_only_when_the_program_asked() {
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(encode_mouse(&click, 4, 2, InputModes::default()), None);
        let x10 = InputModes {
            mouse: MouseMode::PressRelease,
            ..InputModes::default()
        };
        assert_eq!(encode_mouse(&click, 4, 2, x10), Some(b"\x1b[M %#".to_vec()));
        let sgr = InputModes {
            sgr_mouse: true,
            ..x10
        };
        assert_eq!(
            encode_mouse(&click, 4, 2, sgr),
            Some(b"\x1b[<0;5;3M".to_vec())
        );
        let moved = MouseEvent {
            kind: MouseEventKind::Moved,
            ..click
        };
        assert_eq!(encode_mouse(&moved, 1, 1, sgr), None);
    }
}
