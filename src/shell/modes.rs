//! The screen modes a remote full-screen program may leave on when its session ends from
//! outside (an administrator's TerminateSession, a signal to gangway, a lost connection):
//! vi's alternate screen, mouse reporting, application keypad and cursor keys, a hidden
//! cursor, bracketed paste (issue 16, bug 2). `stty` modes are the terminal guard's job;
//! these live in the terminal emulator and only an escape sequence turns them off.

/// Turns off what a remote program may have turned on, except the alternate screen: mouse
/// reporting (X10/normal, button, any-event, SGR), bracketed paste, application cursor keys
/// (DECCKM), application keypad (DECKPNM), and shows the cursor. Each is harmless when the
/// mode is already off.
const RESET_MODES: &[u8] =
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l\x1b[?1l\x1b>\x1b[?25h";

/// Leaves the alternate screen and puts the cursor back where it was when the program
/// entered it. Only written when the remote side entered it: on the normal screen, xterm's
/// `?1049l` still restores a cursor that was never saved (to the top left), and the last
/// line would print over the user's scrollback.
const LEAVE_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049l";

/// The sequences that switch the alternate screen, and whether each switches it on.
const ALTERNATE_SCREEN_SWITCHES: [(&[u8], bool); 6] = [
    (b"\x1b[?1049h", true),
    (b"\x1b[?1049l", false),
    (b"\x1b[?1047h", true),
    (b"\x1b[?1047l", false),
    (b"\x1b[?47h", true),
    (b"\x1b[?47l", false),
];

/// The longest switch, less one: what a chunk boundary may cut off.
const CARRY: usize = 7;

/// Follows the remote output to know whether the alternate screen is on at the end. Cheap:
/// it looks only at ESC bytes and keeps the last few bytes of a chunk for a sequence that
/// straddles two.
#[derive(Debug, Default)]
pub struct ScreenModes {
    alternate_screen: bool,
    carry: Vec<u8>,
}

impl ScreenModes {
    /// Notes the switches in `bytes`, the next output written to the terminal.
    pub fn observe(&mut self, bytes: &[u8]) {
        if self.carry.is_empty() && !bytes.contains(&0x1b) {
            return;
        }
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(bytes);
        for (at, _) in window.iter().enumerate().filter(|(_, b)| **b == 0x1b) {
            let rest = &window[at..];
            if let Some((_, on)) = ALTERNATE_SCREEN_SWITCHES
                .iter()
                .find(|(switch, _)| rest.starts_with(switch))
            {
                self.alternate_screen = *on;
            }
        }
        // Keep a tail that may be the start of a switch, from its last ESC on.
        let tail_from = window.len().saturating_sub(CARRY);
        if let Some(esc) = window[tail_from..].iter().rposition(|b| *b == 0x1b) {
            let start = tail_from + esc;
            let rest = &window[start..];
            if ALTERNATE_SCREEN_SWITCHES
                .iter()
                .any(|(switch, _)| switch.len() > rest.len() && switch.starts_with(rest))
            {
                self.carry = rest.to_vec();
            }
        }
    }

    /// What to write to the terminal after the remote output and before gangway's own last
    /// line.
    pub fn reset_sequence(&self) -> Vec<u8> {
        let mut sequence = Vec::with_capacity(LEAVE_ALTERNATE_SCREEN.len() + RESET_MODES.len());
        if self.alternate_screen {
            sequence.extend_from_slice(LEAVE_ALTERNATE_SCREEN);
        }
        sequence.extend_from_slice(RESET_MODES);
        sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(chunks: &[&[u8]]) -> bool {
        let mut modes = ScreenModes::default();
        for chunk in chunks {
            modes.observe(chunk);
        }
        modes.reset_sequence().starts_with(LEAVE_ALTERNATE_SCREEN)
    }

    #[test]
    fn the_last_switch_decides() {
        assert!(!after(&[b"plain text"]));
        assert!(after(&[b"vi\x1b[?1049h\x1b[H~"]));
        assert!(!after(&[b"\x1b[?1049hscreen\x1b[?1049l$ "]));
        assert!(after(&[b"\x1b[?47l", b"\x1b[?47h"]));
        assert!(!after(&[b"\x1b[?1047h\x1b[?1047l"]));
    }

    #[test]
    fn a_switch_split_between_chunks_counts() {
        let switch = b"\x1b[?1049h";
        for cut in 1..switch.len() {
            let (head, tail) = switch.split_at(cut);
            assert!(after(&[b"x", head, tail, b"y"]), "cut at {cut}");
            assert!(after(&[head, tail]), "cut at {cut}, no text around");
        }
        let (head, tail) = b"\x1b[?47l".split_at(3);
        assert!(!after(&[b"\x1b[?1049h", head, tail]));
    }

    #[test]
    fn the_modes_are_reset_even_without_the_alternate_screen() {
        let reset = ScreenModes::default().reset_sequence();
        assert_eq!(reset, RESET_MODES);
        assert!(reset.ends_with(b"\x1b[?25h"));
    }
}
