//! The emulator's clock for authorisation: `aws:CurrentTime` in policies and the expiry of
//! temporary credentials read it, so a test can move time past a policy's end date without
//! waiting. It is the real clock plus an offset; session timers (idle, max duration) keep
//! running on tokio's clock and are not moved by it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

#[derive(Debug, Default)]
pub struct Clock {
    /// Nanoseconds added to the real time (negative: behind it). ±292 years fit.
    offset_nanos: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> SystemTime {
        let offset = self.offset_nanos.load(Ordering::Relaxed);
        let real = SystemTime::now();
        let magnitude = Duration::from_nanos(offset.unsigned_abs());
        if offset >= 0 {
            real.checked_add(magnitude).unwrap_or(real)
        } else {
            real.checked_sub(magnitude).unwrap_or(real)
        }
    }

    /// From now on the clock reads `at` (and goes on ticking from there).
    pub fn set(&self, at: SystemTime) {
        let real = SystemTime::now();
        let offset = match at.duration_since(real) {
            Ok(ahead) => i64::try_from(ahead.as_nanos()).unwrap_or(i64::MAX),
            Err(behind) => i64::try_from(behind.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        };
        self.offset_nanos.store(offset, Ordering::Relaxed);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.set(self.now() + by);
    }

    /// Back to the real time.
    pub fn reset(&self) {
        self.offset_nanos.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_can_be_set_moved_and_reset() {
        let clock = Clock::default();
        let target = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        clock.set(target);
        let read = clock.now().duration_since(target).unwrap_or_default();
        assert!(read < Duration::from_secs(5), "{read:?}");
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= target + Duration::from_secs(3600));
        clock.set(SystemTime::UNIX_EPOCH);
        assert!(clock.now() < SystemTime::UNIX_EPOCH + Duration::from_secs(5));
        clock.reset();
        assert!(clock.now() > target - Duration::from_secs(4_000_000_000 - 1_700_000_000));
    }
}
