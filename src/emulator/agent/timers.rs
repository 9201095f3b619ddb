//! Every deadline of a session task in one table, in the shape of quinn-proto's timer table:
//! one slot per [`Timer`], and the task sleeps until [`TimerTable::next_timeout`], the earliest.
//! Adding a timer is a variant here and an arm in `SessionTask::on_timer` (steps.rs).

use std::time::Instant;

/// What a session task may wake up for besides input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// The proto session's own deadline (retransmission, ack, handshake resend). The session
    /// owns it; the table holds a copy of `Session::poll_timeout`, refreshed by the task.
    Proto,
    /// The maximum session duration (§7.3), counted from the session's start.
    MaxDuration,
    /// No stream data in either direction for the idle session timeout (§7.3).
    Idle,
    /// No websocket attached: how long a client may still resume (`detached_grace`).
    Detached,
    /// The agent's wait for the HandshakeResponse (§7.3).
    Handshake,
    /// Output still coming after the shell exited (background jobs holding the PTY).
    Linger,
    /// `cut-every` fault injection: when the attached websocket is cut.
    Cut,
    /// The pre-close drain (§6.1): its 2 s are over, acked or not.
    DrainStall,
}

impl Timer {
    /// Every timer, in the order expired timers are handled: the endings a session reports
    /// first, cleanups after. A variant's place here is its slot in the table.
    pub(super) const ALL: [Self; 8] = [
        Self::Proto,
        Self::MaxDuration,
        Self::Idle,
        Self::Detached,
        Self::Handshake,
        Self::Linger,
        Self::Cut,
        Self::DrainStall,
    ];

    fn slot(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`]; `None` means "not armed".
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TimerTable {
    deadlines: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.slot()] = Some(at);
    }

    /// Arms `timer` at `at`, or stops it when `at` is `None` (for deadlines that come as an
    /// `Option`, like the proto session's).
    pub(super) fn set_or_stop(&mut self, timer: Timer, at: Option<Instant>) {
        self.deadlines[timer.slot()] = at;
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.slot()] = None;
    }

    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.slot()]
    }

    pub(super) fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The timers due at `now`, in [`Timer::ALL`] order. A snapshot: the table may be changed
    /// while the iterator is in use.
    pub(super) fn expired(&self, now: Instant) -> impl Iterator<Item = Timer> + use<> {
        let table = *self;
        Timer::ALL
            .into_iter()
            .filter(move |&timer| table.is_expired(timer, now))
    }

    /// The earliest armed deadline.
    pub(super) fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_timer_has_its_own_slot() {
        for (index, timer) in Timer::ALL.into_iter().enumerate() {
            assert_eq!(timer.slot(), index, "{timer:?}");
        }
    }

    #[test]
    fn next_timeout_is_the_earliest_armed_deadline() {
        let now = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next_timeout(), None);
        table.set(Timer::Idle, now + Duration::from_secs(30));
        table.set(Timer::Linger, now + Duration::from_secs(1));
        table.set(Timer::MaxDuration, now + Duration::from_secs(60));
        assert_eq!(table.next_timeout(), Some(now + Duration::from_secs(1)));
        table.stop(Timer::Linger);
        assert_eq!(table.get(Timer::Linger), None);
        assert_eq!(table.next_timeout(), Some(now + Duration::from_secs(30)));
        table.set_or_stop(Timer::Proto, Some(now + Duration::from_millis(200)));
        assert_eq!(table.next_timeout(), Some(now + Duration::from_millis(200)));
        table.set_or_stop(Timer::Proto, None);
        assert_eq!(table.next_timeout(), Some(now + Duration::from_secs(30)));
    }

    #[test]
    fn setting_a_timer_again_moves_it() {
        let now = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::Idle, now + Duration::from_secs(1));
        table.set(Timer::Idle, now + Duration::from_secs(5));
        assert_eq!(table.get(Timer::Idle), Some(now + Duration::from_secs(5)));
        assert!(!table.is_expired(Timer::Idle, now + Duration::from_secs(4)));
        assert!(table.is_expired(Timer::Idle, now + Duration::from_secs(5)));
    }

    #[test]
    fn expired_lists_due_timers_in_dispatch_order() {
        let now = Instant::now() + Duration::from_secs(10);
        let mut table = TimerTable::default();
        table.set(Timer::Cut, now);
        table.set(Timer::Idle, now - Duration::from_secs(1));
        table.set(Timer::Detached, now + Duration::from_secs(1));
        table.set(Timer::MaxDuration, now - Duration::from_millis(1));
        let due: Vec<Timer> = table.expired(now).collect();
        assert_eq!(due, [Timer::MaxDuration, Timer::Idle, Timer::Cut]);
        // A snapshot: stopping a timer does not change an iterator already taken.
        let mut snapshot = table.expired(now);
        table.stop(Timer::MaxDuration);
        assert_eq!(snapshot.next(), Some(Timer::MaxDuration));
        assert_eq!(table.expired(now).next(), Some(Timer::Idle));
        assert_eq!(TimerTable::default().expired(now).count(), 0);
    }
}
