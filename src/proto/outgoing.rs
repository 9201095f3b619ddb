//! The buffer of sent-but-unacknowledged stream frames (§5.3), with per-message timers.
//!
//! Unlike the reference it keeps a correct last-sent time per message, backs off each message
//! independently, and never evicts: the session applies backpressure before it fills up.
//! Entries are indexed by sequence number in a `VecDeque` (sequence numbers are contiguous),
//! so a selective ack anywhere is O(1); timers live in an ordered set keyed by due time.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::rto::RttEstimator;

#[derive(Debug)]
struct Entry {
    frame: Vec<u8>,
    first_sent: Option<Instant>,
    attempts: u32,
    /// `Some` while the entry is in flight with a timer in `timers`.
    due: Option<Instant>,
}

/// What an acknowledgement removed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acked {
    /// Present only for messages sent exactly once (Karn's rule).
    pub rtt_sample: Option<Duration>,
}

/// A frame handed to the caller for writing.
pub(crate) struct Transmission {
    pub frame: Vec<u8>,
    pub is_retransmission: bool,
}

#[derive(Debug, Default)]
pub(crate) struct OutgoingBuffer {
    /// `entries[i]` holds sequence number `base + i`; `None` once acknowledged.
    entries: VecDeque<Option<Entry>>,
    base: i64,
    live: usize,
    /// Lowest sequence number never transmitted.
    next_new: i64,
    timers: BTreeSet<(Instant, i64)>,
    /// Timed-out sequence numbers waiting to be written again (may hold since-acked ones).
    retransmit_queue: VecDeque<i64>,
}

impl OutgoingBuffer {
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Sequence numbers from the oldest unacknowledged one to the newest: the window the
    /// peer's reorder buffer may have to hold. Selective acks free entries inside it but do
    /// not shrink it until the head is acknowledged.
    pub(crate) fn span(&self) -> usize {
        self.entries.len()
    }

    /// Appends the frame for the next sequence number (`base + entries.len()`).
    pub(crate) fn push(&mut self, frame: Vec<u8>) {
        self.entries.push_back(Some(Entry {
            frame,
            first_sent: None,
            attempts: 0,
            due: None,
        }));
        self.live += 1;
    }

    /// The next frame to write: timed-out ones first (oldest first), then new ones in order.
    pub(crate) fn next_transmission(
        &mut self,
        now: Instant,
        rtt: &RttEstimator,
    ) -> Option<Transmission> {
        while let Some(seq) = self.retransmit_queue.pop_front() {
            if let Some(frame) = self.mark_sent(seq, now, rtt) {
                return Some(Transmission {
                    frame,
                    is_retransmission: true,
                });
            }
        }
        let end = self.base + self.entries.len() as i64;
        while self.next_new < end {
            let seq = self.next_new;
            self.next_new += 1;
            if let Some(frame) = self.mark_sent(seq, now, rtt) {
                return Some(Transmission {
                    frame,
                    is_retransmission: false,
                });
            }
        }
        None
    }

    fn mark_sent(&mut self, seq: i64, now: Instant, rtt: &RttEstimator) -> Option<Vec<u8>> {
        let entry = self.entry_mut(seq)?;
        if entry.due.is_some() {
            return None;
        }
        entry.attempts += 1;
        entry.first_sent.get_or_insert(now);
        let due = now + rtt.backed_off(entry.attempts);
        entry.due = Some(due);
        let frame = entry.frame.clone();
        self.timers.insert((due, seq));
        Some(frame)
    }

    /// Removes the acknowledged entry wherever it is (selective ack, quirk 7). Acks for
    /// unknown, already acknowledged or never transmitted sequence numbers are ignored.
    pub(crate) fn acknowledge(&mut self, seq: i64, now: Instant) -> Option<Acked> {
        let index = self.index_of(seq)?;
        let slot = self.entries.get_mut(index)?;
        if slot.as_ref().is_none_or(|entry| entry.attempts == 0) {
            return None;
        }
        let entry = slot.take()?;
        self.live -= 1;
        if let Some(due) = entry.due {
            self.timers.remove(&(due, seq));
        }
        while matches!(self.entries.front(), Some(None)) {
            self.entries.pop_front();
            self.base += 1;
        }
        let rtt_sample = match (entry.attempts, entry.first_sent) {
            (1, Some(first)) => Some(now.saturating_duration_since(first)),
            _ => None,
        };
        Some(Acked { rtt_sample })
    }

    /// Moves up to `limit` timed-out entries to the retransmit queue; returns how many moved.
    pub(crate) fn expire(&mut self, now: Instant, limit: usize) -> usize {
        let mut moved = 0;
        while moved < limit {
            let Some(&(due, seq)) = self.timers.first() else {
                break;
            };
            if due > now {
                break;
            }
            self.timers.pop_first();
            if let Some(entry) = self.entry_mut(seq) {
                entry.due = None;
                self.retransmit_queue.push_back(seq);
                moved += 1;
            }
        }
        moved
    }

    /// Moves the oldest unacknowledged entry to the retransmit queue if its timer expired;
    /// the entries behind it are not looked at (the agent's head-only resend, §5.3).
    pub(crate) fn expire_head(&mut self, now: Instant) -> bool {
        let seq = self.base;
        let Some(entry) = self.entry_mut(seq) else {
            return false;
        };
        match entry.due {
            Some(due) if due <= now => {
                entry.due = None;
                self.timers.remove(&(due, seq));
                self.retransmit_queue.push_back(seq);
                true
            }
            _ => false,
        }
    }

    /// When the oldest unacknowledged entry times out, if it is in flight.
    pub(crate) fn head_deadline(&self) -> Option<Instant> {
        self.entries.front()?.as_ref()?.due
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|&(due, _)| due)
    }

    /// After a reconnect every in-flight frame is due now. The buffer survives a resume (§7.2);
    /// the references instead keep resending only the oldest frame per tick (§7.4).
    pub(crate) fn make_all_due(&mut self, now: Instant) {
        let in_flight = std::mem::take(&mut self.timers);
        for (_, seq) in in_flight {
            if let Some(entry) = self.entry_mut(seq) {
                entry.due = Some(now);
                self.timers.insert((now, seq));
            }
        }
    }

    /// Forgets everything (the channel is closed: nothing will be acknowledged any more).
    pub(crate) fn clear(&mut self) {
        let end = self.base + self.entries.len() as i64;
        *self = Self {
            base: end,
            next_new: end,
            ..Self::default()
        };
    }

    fn index_of(&self, seq: i64) -> Option<usize> {
        let offset = seq.checked_sub(self.base)?;
        usize::try_from(offset)
            .ok()
            .filter(|&index| index < self.entries.len())
    }

    fn entry_mut(&mut self, seq: i64) -> Option<&mut Entry> {
        let index = self.index_of(seq)?;
        self.entries.get_mut(index)?.as_mut()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn filled(count: u8) -> OutgoingBuffer {
        let mut buffer = OutgoingBuffer::default();
        for byte in 0..count {
            buffer.push(vec![byte]);
        }
        buffer
    }

    #[test]
    fn selective_ack_and_karn() {
        let rtt = RttEstimator::default();
        let start = Instant::now();
        let mut buffer = filled(3);
        for _ in 0..3 {
            assert!(
                !buffer
                    .next_transmission(start, &rtt)
                    .unwrap()
                    .is_retransmission
            );
        }
        let later = start + Duration::from_millis(50);
        let acked = buffer.acknowledge(1, later).unwrap();
        assert_eq!(acked.rtt_sample, Some(Duration::from_millis(50)));
        assert!(buffer.acknowledge(1, later).is_none());
        assert_eq!(buffer.len(), 2);
        let timeout = start + Duration::from_millis(250);
        assert_eq!(buffer.expire(timeout, 1), 1);
        let again = buffer.next_transmission(timeout, &rtt).unwrap();
        assert!(again.is_retransmission);
        assert_eq!(again.frame, vec![0]);
        assert_eq!(buffer.acknowledge(0, timeout).unwrap().rtt_sample, None);
        assert_eq!(buffer.expire(timeout, 10), 1);
        assert_eq!(
            buffer.next_transmission(timeout, &rtt).unwrap().frame,
            vec![2]
        );
    }

    #[test]
    fn never_sent_entries_cannot_be_acked() {
        let mut buffer = filled(1);
        assert!(buffer.acknowledge(0, Instant::now()).is_none());
        assert!(buffer.acknowledge(-5, Instant::now()).is_none());
        assert!(buffer.acknowledge(i64::MAX, Instant::now()).is_none());
        assert_eq!(buffer.len(), 1);
    }
}
