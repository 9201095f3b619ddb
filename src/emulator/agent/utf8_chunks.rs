//! Output chunking that never splits a UTF-8 sequence across messages (protocol.md §5.3:
//! the agent reads ≤ 1024 bytes and carries an incomplete trailing sequence into the next
//! message). Unlike the reference agent we shrink the read instead, so no payload ever
//! exceeds [`MAX_OUTPUT_CHUNK`].

/// Largest output payload the agent sends (protocol.md §5.3).
pub const MAX_OUTPUT_CHUNK: usize = 1024;

/// Turns arbitrary reads into payloads that end on a UTF-8 boundary whenever the data is
/// UTF-8. Bytes that are not UTF-8 at all pass through unchanged; nothing is ever lost.
#[derive(Debug, Default)]
pub struct Utf8Chunker {
    carry: Vec<u8>,
}

impl Utf8Chunker {
    /// How many bytes the next read may take so that carry + read fits one payload.
    pub fn read_budget(&self) -> usize {
        MAX_OUTPUT_CHUNK - self.carry.len()
    }

    /// Appends `read` (at most [`Self::read_budget`] bytes) to the carried bytes and returns
    /// the payload to send now, keeping an incomplete trailing sequence for the next call.
    /// Returns an empty vector when everything had to be carried.
    pub fn push(&mut self, read: &[u8]) -> Vec<u8> {
        let mut payload = std::mem::take(&mut self.carry);
        payload.extend_from_slice(read);
        let keep = incomplete_tail_len(&payload);
        // A payload that is nothing but an incomplete sequence cannot grow past 3 bytes, so
        // carrying it is bounded; anything longer always has a cut point.
        self.carry = payload.split_off(payload.len() - keep);
        payload
    }

    /// Whatever is still carried when the stream ends (possibly an invalid partial sequence).
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.carry)
    }
}

/// Length of a trailing UTF-8 lead byte plus continuation bytes that do not yet form a
/// complete character; 0 when the data ends on a boundary or is not UTF-8 there.
fn incomplete_tail_len(data: &[u8]) -> usize {
    let len = data.len();
    for back in 1..=len.min(4) {
        let byte = data[len - back];
        if is_continuation(byte) {
            continue;
        }
        let needed = sequence_len(byte);
        return if needed > back { back } else { 0 };
    }
    0
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// Bytes in the sequence a lead byte starts (1 for ASCII and for bytes that cannot lead).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn carries_an_incomplete_euro_sign() {
        let euro = "€".as_bytes();
        let mut chunker = Utf8Chunker::default();
        let first = chunker.push(&[b'a', euro[0], euro[1]]);
        assert_eq!(first, b"a");
        assert_eq!(chunker.read_budget(), MAX_OUTPUT_CHUNK - 2);
        let second = chunker.push(&[euro[2], b'b']);
        assert_eq!(std::str::from_utf8(&second).unwrap(), "€b");
        assert!(chunker.finish().is_empty());
    }

    #[test]
    fn invalid_bytes_pass_through() {
        let mut chunker = Utf8Chunker::default();
        assert_eq!(chunker.push(&[0xFF, 0x80, 0x80]), vec![0xFF, 0x80, 0x80]);
        assert_eq!(chunker.push(&[b'x', 0xF0]), vec![b'x']);
        assert_eq!(chunker.finish(), vec![0xF0]);
    }

    proptest! {
        #[test]
        fn utf8_text_is_never_split_and_nothing_is_lost(
            text in "\\PC{0,3000}",
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
        fn arbitrary_bytes_are_never_lost(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let mut chunker = Utf8Chunker::default();
            let mut joined = Vec::new();
            let mut at = 0;
            while at < data.len() {
                let take = chunker.read_budget().min(data.len() - at).min(700);
                let payload = chunker.push(&data[at..at + take]);
                prop_assert!(payload.len() <= MAX_OUTPUT_CHUNK);
                joined.extend_from_slice(&payload);
                at += take;
            }
            joined.extend(chunker.finish());
            prop_assert_eq!(joined, data);
        }
    }
}
