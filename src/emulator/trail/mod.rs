//! The emulator's CloudTrail: a CloudTrail-shaped record of every API call it serves
//! (`record.rs` builds it from the request and the answer, at the one place `api.rs`
//! dispatches), kept in a bounded ring, and read back through CloudTrail `LookupEvents`
//! (`lookup.rs`). Data-channel traffic is not an API call and, as in AWS, is not recorded.

pub mod lookup;
pub mod record;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

/// The newest this many events are kept (docs/emulator.md); older ones are dropped first.
pub const MAX_EVENTS: usize = 10_000;
/// And at most this many bytes of record JSON in all, so that large requests cannot make the
/// ring hold more memory than this (docs/emulator.md).
pub const MAX_BYTES: usize = 16 << 20;

/// One recorded call: the fields `LookupEvents` filters and answers with, plus the full
/// CloudTrail record as the JSON text AWS returns in `CloudTrailEvent`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailEvent {
    /// Position in the trail, increasing; pagination continues below it.
    pub seq: u64,
    /// The account the call was made in (`recipientAccountId`): LookupEvents shows an
    /// account its own events only.
    pub account: String,
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    pub event_time: SystemTime,
    pub username: String,
    pub access_key_id: String,
    pub read_only: bool,
    /// `(ResourceType, ResourceName)` pairs, as `LookupEvents` lists them.
    pub resources: Vec<(String, String)>,
    pub cloudtrail_event: String,
}

#[derive(Default)]
struct Ring {
    events: VecDeque<TrailEvent>,
    bytes: usize,
    next_seq: u64,
}

/// The bounded event store, shared by every request handler.
pub struct Trail {
    ring: Mutex<Ring>,
    max_events: usize,
    max_bytes: usize,
}

impl Default for Trail {
    fn default() -> Self {
        Self::with_bounds(MAX_EVENTS, MAX_BYTES)
    }
}

impl Trail {
    pub fn with_bounds(max_events: usize, max_bytes: usize) -> Self {
        Self {
            ring: Mutex::new(Ring::default()),
            max_events: max_events.max(1),
            max_bytes,
        }
    }

    /// Appends an event (its `seq` is assigned here), dropping the oldest past either bound.
    pub fn push(&self, mut event: TrailEvent) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        event.seq = ring.next_seq;
        ring.next_seq += 1;
        ring.bytes += event.cloudtrail_event.len();
        ring.events.push_back(event);
        while ring.events.len() > self.max_events
            || (ring.bytes > self.max_bytes && ring.events.len() > 1)
        {
            if let Some(old) = ring.events.pop_front() {
                ring.bytes -= old.cloudtrail_event.len();
            }
        }
    }

    /// Newest first: up to `max` events with `seq < before` that `keep` accepts.
    pub fn newest_first(
        &self,
        before: Option<u64>,
        max: usize,
        keep: impl Fn(&TrailEvent) -> bool,
    ) -> Vec<TrailEvent> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.events
            .iter()
            .rev()
            .filter(|event| before.is_none_or(|before| event.seq < before))
            .filter(|event| keep(event))
            .take(max)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, bytes: usize) -> TrailEvent {
        TrailEvent {
            seq: 0,
            account: "123456789012".to_owned(),
            event_id: name.to_owned(),
            event_name: name.to_owned(),
            event_source: "ssm.amazonaws.com".to_owned(),
            event_time: SystemTime::UNIX_EPOCH,
            username: "dev".to_owned(),
            access_key_id: "AKIA".to_owned(),
            read_only: false,
            resources: Vec::new(),
            cloudtrail_event: "x".repeat(bytes),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_events_within_both_bounds() {
        let trail = Trail::with_bounds(3, 1000);
        for i in 0..5 {
            trail.push(event(&format!("e{i}"), 10));
        }
        let names: Vec<_> = trail
            .newest_first(None, 10, |_| true)
            .into_iter()
            .map(|e| e.event_name)
            .collect();
        assert_eq!(names, ["e4", "e3", "e2"]);

        let trail = Trail::with_bounds(100, 25);
        for i in 0..5 {
            trail.push(event(&format!("e{i}"), 10));
        }
        assert_eq!(trail.len(), 2, "25 bytes hold two 10-byte events");
        // One event larger than the byte bound is still kept, alone.
        trail.push(event("big", 100));
        assert_eq!(trail.len(), 1);
    }

    #[test]
    fn pages_continue_below_the_last_sequence_number() {
        let trail = Trail::default();
        for i in 0..5 {
            trail.push(event(&format!("e{i}"), 1));
        }
        let first = trail.newest_first(None, 2, |_| true);
        assert_eq!(first[1].event_name, "e3");
        let rest = trail.newest_first(Some(first[1].seq), 10, |_| true);
        let names: Vec<_> = rest.into_iter().map(|e| e.event_name).collect();
        assert_eq!(names, ["e2", "e1", "e0"]);
    }
}
