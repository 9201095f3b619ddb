//! The incoming reorder buffer (§5.2): stream messages that arrived ahead of the expected
//! sequence number, held until the gap fills. Bounded by count and by payload bytes, so a
//! peer that never fills the gap cannot make this side hold more than it chose to.

use std::collections::BTreeMap;

use super::types::PayloadType;

#[derive(Debug)]
pub(crate) struct Buffered {
    pub payload_type: PayloadType,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct ReorderBuffer {
    held: BTreeMap<i64, Buffered>,
    capacity: usize,
    capacity_bytes: usize,
    held_bytes: usize,
}

/// What happened to a message that arrived ahead of order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    Stored,
    AlreadyHeld,
    Full,
}

impl ReorderBuffer {
    pub(crate) fn new(capacity: usize, capacity_bytes: usize) -> Self {
        Self {
            held: BTreeMap::new(),
            capacity,
            capacity_bytes,
            held_bytes: 0,
        }
    }

    /// Payload bytes currently held.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    pub(crate) fn hold(&mut self, seq: i64, message: Buffered) -> Hold {
        if self.held.contains_key(&seq) {
            return Hold::AlreadyHeld;
        }
        let bytes = self.held_bytes.saturating_add(message.payload.len());
        if self.held.len() >= self.capacity || bytes > self.capacity_bytes {
            return Hold::Full;
        }
        self.held_bytes = bytes;
        self.held.insert(seq, message);
        Hold::Stored
    }

    /// Takes the message with exactly this sequence number, if held.
    pub(crate) fn take(&mut self, seq: i64) -> Option<Buffered> {
        let taken = self.held.remove(&seq)?;
        self.held_bytes -= taken.payload.len();
        Some(taken)
    }

    pub(crate) fn clear(&mut self) {
        self.held.clear();
        self.held_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize) -> Buffered {
        Buffered {
            payload_type: PayloadType::Output,
            payload: vec![b'x'; len],
        }
    }

    #[test]
    fn the_byte_bound_refuses_what_would_pass_it_and_frees_on_take() {
        let mut buffer = ReorderBuffer::new(100, 1000);
        assert_eq!(buffer.hold(2, message(600)), Hold::Stored);
        assert_eq!(buffer.hold(3, message(401)), Hold::Full);
        assert_eq!(buffer.hold(3, message(400)), Hold::Stored);
        assert_eq!(buffer.held_bytes(), 1000);
        assert_eq!(buffer.hold(4, message(0)), Hold::Stored);
        assert_eq!(buffer.take(2).map(|m| m.payload.len()), Some(600));
        assert_eq!(buffer.held_bytes(), 400);
        assert_eq!(buffer.hold(5, message(600)), Hold::Stored);
        buffer.clear();
        assert_eq!((buffer.len(), buffer.held_bytes()), (0, 0));
    }

    #[test]
    fn the_count_bound_still_holds() {
        let mut buffer = ReorderBuffer::new(1, 1000);
        assert_eq!(buffer.hold(2, message(1)), Hold::Stored);
        assert_eq!(buffer.hold(2, message(1)), Hold::AlreadyHeld);
        assert_eq!(buffer.hold(3, message(1)), Hold::Full);
    }
}
