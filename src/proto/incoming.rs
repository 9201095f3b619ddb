//! The incoming reorder buffer (§5.2): stream messages that arrived ahead of the expected
//! sequence number, held until the gap fills.

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
}

/// What happened to a message that arrived ahead of order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    Stored,
    AlreadyHeld,
    Full,
}

impl ReorderBuffer {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            held: BTreeMap::new(),
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    pub(crate) fn hold(&mut self, seq: i64, message: Buffered) -> Hold {
        if self.held.contains_key(&seq) {
            return Hold::AlreadyHeld;
        }
        if self.held.len() >= self.capacity {
            return Hold::Full;
        }
        self.held.insert(seq, message);
        Hold::Stored
    }

    /// Takes the message with exactly this sequence number, if held.
    pub(crate) fn take(&mut self, seq: i64) -> Option<Buffered> {
        self.held.remove(&seq)
    }

    pub(crate) fn clear(&mut self) {
        self.held.clear();
    }
}
