//! What the real agent's shell plugin does to every read of a shell's or command's output
//! before sending it: a UTF-8 scan, copied from agent/session/shell/shell.go, func
//! processStdoutData (protocol.md §5.3). Port sessions read TCP without it.
//!
//! The agent appends each read to the bytes it held back last time and decodes runes from
//! the front with Go's `bufio.Reader.ReadRune`:
//!
//! - a valid character passes unchanged;
//! - a rune that decodes to `utf8.RuneError` (an undecodable byte, which decodes with size
//!   1, and also a valid U+FFFD, `EF BF BD`, size 3) starting within the last 3 bytes is
//!   held back, with everything after it, for the next read;
//! - elsewhere only the first byte of such a rune is sent and the scan moves on by the
//!   rune's size: an undecodable byte passes unchanged, but a valid U+FFFD comes out as its
//!   lone first byte `EF`, and `BF BD` are lost;
//! - at the end of the output what is held back is never sent (writePump returns on the read
//!   error): up to 3 trailing bytes are lost.
//!
//! So shell-session output is not binary-safe on AWS (why `gangway cp` sends base64). Unlike
//! the agent, which reads 1024 bytes whatever it holds back (a payload can reach 1027), the
//! emulator shrinks the read by the held-back bytes, so no payload exceeds
//! [`MAX_OUTPUT_CHUNK`]; what comes out is the same bytes.

/// Largest output payload the agent sends (protocol.md §5.3).
pub const MAX_OUTPUT_CHUNK: usize = 1024;

/// Go's `utf8.UTFMax`: the agent holds back a RuneError found within the last
/// `UTF_MAX - 1` bytes.
const UTF_MAX: usize = 4;

/// The agent's output scan for one stream (stdout, or stderr of a separate-stream command).
#[derive(Debug, Default)]
pub struct Utf8Chunker {
    held: Vec<u8>,
}

impl Utf8Chunker {
    /// How many bytes the next read may take so that held bytes + read fit one payload.
    pub fn read_budget(&self) -> usize {
        MAX_OUTPUT_CHUNK - self.held.len()
    }

    /// The payload the agent sends for `read` (at most [`Self::read_budget`] bytes): held
    /// bytes + `read`, scanned as processStdoutData scans them. Empty when everything was
    /// held back (the agent sends nothing for an empty payload: datachannel.go, func
    /// SendStreamDataMessage).
    pub fn push(&mut self, read: &[u8]) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(read);
        let mut payload = Vec::with_capacity(data.len());
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            match decode_rune(rest) {
                Rune::Valid(size) => {
                    payload.extend_from_slice(&rest[..size]);
                    at += size;
                }
                Rune::Error(_) if rest.len() < UTF_MAX => break,
                Rune::Error(size) => {
                    payload.push(rest[0]);
                    at += size;
                }
            }
        }
        self.held = data.split_off(at);
        payload
    }

    /// The end of the output: the agent never sends what it held back.
    pub fn finish(&mut self) -> Vec<u8> {
        self.held.clear();
        Vec::new()
    }
}

/// One rune as Go's `utf8.DecodeRune` sees it, by its size in bytes.
enum Rune {
    /// A character other than U+FFFD.
    Valid(usize),
    /// `utf8.RuneError`: an undecodable byte (size 1) or a valid U+FFFD (size 3).
    Error(usize),
}

/// Decodes the first rune of `bytes` (not empty). Rust's and Go's UTF-8 validity agree:
/// both refuse overlong forms, surrogates and values above U+10FFFF, byte by byte.
fn decode_rune(bytes: &[u8]) -> Rune {
    let window = &bytes[..bytes.len().min(UTF_MAX)];
    let valid = match std::str::from_utf8(window) {
        Ok(text) => text,
        Err(err) => std::str::from_utf8(&window[..err.valid_up_to()]).unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(char::REPLACEMENT_CHARACTER) => Rune::Error(3),
        Some(c) => Rune::Valid(c.len_utf8()),
        None => Rune::Error(1),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `reads` one after another, returns what is sent in all.
    fn scan(reads: &[&[u8]]) -> Vec<u8> {
        let mut chunker = Utf8Chunker::default();
        let mut sent = Vec::new();
        for read in reads {
            sent.extend(chunker.push(read));
        }
        sent.extend(chunker.finish());
        sent
    }

    #[test]
    fn a_split_character_is_held_and_joined_with_the_next_read() {
        let euro = "€".as_bytes();
        let mut chunker = Utf8Chunker::default();
        assert_eq!(chunker.push(&[b'a', euro[0], euro[1]]), b"a");
        assert_eq!(chunker.read_budget(), MAX_OUTPUT_CHUNK - 2);
        let second = chunker.push(&[euro[2], b'b']);
        assert_eq!(std::str::from_utf8(&second).unwrap(), "€b");
    }

    #[test]
    fn undecodable_bytes_pass_unchanged_once_three_more_bytes_follow() {
        let mut chunker = Utf8Chunker::default();
        // 0xFF with 3 bytes after it passes at once; 0xFE in the last 3 is held back...
        assert_eq!(
            chunker.push(&[0xFF, b'x', b'y', b'z', 0xFE, b'w']),
            b"\xFFxyz"
        );
        // ...and goes out with the next read, unchanged.
        assert_eq!(chunker.push(b"abcd"), b"\xFEwabcd");
    }

    #[test]
    fn a_valid_replacement_character_loses_its_last_two_bytes() {
        // processStdoutData takes EF BF BD for an undecodable byte: only EF goes out.
        assert_eq!(scan(&[b"a\xEF\xBF\xBDbcd"]), b"a\xEFbcd");
        // Within the last 3 bytes it is held back, then treated the same way.
        assert_eq!(scan(&[b"a\xEF\xBF\xBD", b"bcd"]), b"a\xEFbcd");
    }

    #[test]
    fn what_is_held_back_at_the_end_is_lost() {
        assert_eq!(scan(&[b"done\xFF"]), b"done");
        assert_eq!(scan(&[b"done\xE2\x82"]), b"done");
        assert_eq!(scan(&[b"x\xEF\xBF\xBD"]), b"x");
        // A character that is complete is never held.
        assert_eq!(scan(&["done €".as_bytes()]), "done €".as_bytes());
    }

    #[test]
    fn surrogates_and_overlong_forms_are_undecodable_bytes_as_in_go() {
        // ED A0 80 (a UTF-16 surrogate) and C0 80 (overlong NUL) decode byte by byte.
        assert_eq!(
            scan(&[b"\xED\xA0\x80\xC0\x80tail"]),
            b"\xED\xA0\x80\xC0\x80tail"
        );
    }

    proptest! {
        #[test]
        fn utf8_text_without_u_fffd_passes_unchanged_and_is_never_split(
            text in "[^\u{fffd}]{0,3000}",
            reads in proptest::collection::vec(1usize..1024, 1..40),
        ) {
            let bytes = text.as_bytes();
            let mut chunker = Utf8Chunker::default();
            let mut joined = Vec::new();
            let (mut at, mut i) = (0, 0);
            while at < bytes.len() {
                let take = reads[i % reads.len()].min(chunker.read_budget()).min(bytes.len() - at);
                let payload = chunker.push(&bytes[at..at + take]);
                prop_assert!(payload.len() <= MAX_OUTPUT_CHUNK);
                prop_assert!(std::str::from_utf8(&payload).is_ok());
                joined.extend_from_slice(&payload);
                at += take;
                i += 1;
            }
            joined.extend(chunker.finish());
            prop_assert_eq!(joined, bytes.to_vec());
        }

        #[test]
        fn arbitrary_bytes_lose_only_what_the_agent_loses(
            data in proptest::collection::vec(any::<u8>(), 0..5000),
            read in 1usize..1024,
        ) {
            let mut chunker = Utf8Chunker::default();
            let mut joined = Vec::new();
            let mut at = 0;
            while at < data.len() {
                let take = chunker.read_budget().min(data.len() - at).min(read);
                let payload = chunker.push(&data[at..at + take]);
                prop_assert!(payload.len() <= MAX_OUTPUT_CHUNK);
                joined.extend_from_slice(&payload);
                at += take;
            }
            joined.extend(chunker.finish());
            // The same as one scan of the whole: the held bytes only wait for more.
            let mut expected = Vec::new();
            let mut i = 0;
            while i < data.len() {
                let rest = &data[i..];
                if rest.starts_with(b"\xEF\xBF\xBD") {
                    if rest.len() < UTF_MAX { break; }
                    expected.push(0xEF);
                    i += 3;
                    continue;
                }
                let char_len = match std::str::from_utf8(&rest[..rest.len().min(4)]) {
                    Ok(text) => text.chars().next().map_or(0, char::len_utf8),
                    Err(err) => std::str::from_utf8(&rest[..err.valid_up_to()])
                        .unwrap()
                        .chars()
                        .next()
                        .map_or(0, char::len_utf8),
                };
                if char_len == 0 {
                    if rest.len() < UTF_MAX { break; }
                    expected.push(rest[0]);
                    i += 1;
                } else {
                    expected.extend_from_slice(&rest[..char_len]);
                    i += char_len;
                }
            }
            prop_assert_eq!(joined, expected);
        }
    }
}
