//! Round-trip estimation and the retransmission timeout: Jacobson/Karels with the reference's
//! constants (§5.3).

use std::time::Duration;

pub const INITIAL_RTT: Duration = Duration::from_millis(100);
pub const INITIAL_RTO: Duration = Duration::from_millis(200);
pub const MAX_RTO: Duration = Duration::from_secs(1);
/// Clock granularity G: the floor of the variance term.
pub const CLOCK_GRANULARITY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct RttEstimator {
    rtt_ns: f64,
    rttvar_ns: f64,
    rto: Duration,
    floor: Duration,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::with_floor(Duration::ZERO)
    }
}

impl RttEstimator {
    /// The reference's estimator, but never below `floor` (the reference has none beyond
    /// RTT + G, §5.3; its 100 ms resend tick acts as one).
    pub fn with_floor(floor: Duration) -> Self {
        let floor = floor.min(MAX_RTO);
        Self {
            rtt_ns: INITIAL_RTT.as_nanos() as f64,
            rttvar_ns: 0.0,
            rto: INITIAL_RTO.max(floor),
            floor,
        }
    }

    /// Folds in one sample. Callers pass only samples from first transmissions (Karn).
    pub fn on_sample(&mut self, sample: Duration) {
        let sample_ns = sample.as_nanos() as f64;
        self.rttvar_ns = 0.75 * self.rttvar_ns + 0.25 * (self.rtt_ns - sample_ns).abs();
        self.rtt_ns = 0.875 * self.rtt_ns + 0.125 * sample_ns;
        let variance_term = (4.0 * self.rttvar_ns).max(CLOCK_GRANULARITY.as_nanos() as f64);
        let rto_ns = (self.rtt_ns + variance_term).min(MAX_RTO.as_nanos() as f64);
        self.rto = Duration::from_nanos(rto_ns as u64).max(self.floor);
    }

    pub fn rto(&self) -> Duration {
        self.rto
    }

    pub fn smoothed_rtt(&self) -> Duration {
        Duration::from_nanos(self.rtt_ns as u64)
    }

    /// The timeout for a message already sent `attempts` times: doubled per retransmission,
    /// capped at the maximum, so a dead link is probed at most once a second per message.
    pub fn backed_off(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(16);
        self.rto.saturating_mul(1 << doublings).min(MAX_RTO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_reference_values() {
        let estimator = RttEstimator::default();
        assert_eq!(estimator.rto(), INITIAL_RTO);
        assert_eq!(estimator.smoothed_rtt(), INITIAL_RTT);
    }

    #[test]
    fn converges_and_respects_floor_and_cap() {
        let mut estimator = RttEstimator::default();
        for _ in 0..200 {
            estimator.on_sample(Duration::from_millis(2));
        }
        let rto = estimator.rto();
        assert!(
            rto >= Duration::from_millis(12) && rto < Duration::from_millis(13),
            "{rto:?}"
        );
        for _ in 0..50 {
            estimator.on_sample(Duration::from_secs(5));
        }
        assert_eq!(estimator.rto(), MAX_RTO);
    }

    #[test]
    fn a_floor_holds_however_fast_the_samples() {
        let mut estimator = RttEstimator::with_floor(Duration::from_millis(100));
        assert_eq!(estimator.rto(), INITIAL_RTO);
        for _ in 0..200 {
            estimator.on_sample(Duration::from_millis(2));
        }
        assert_eq!(estimator.rto(), Duration::from_millis(100));
        assert_eq!(estimator.backed_off(2), Duration::from_millis(200));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let estimator = RttEstimator::default();
        assert_eq!(estimator.backed_off(1), INITIAL_RTO);
        assert_eq!(estimator.backed_off(2), INITIAL_RTO * 2);
        assert_eq!(estimator.backed_off(3), INITIAL_RTO * 4);
        assert_eq!(estimator.backed_off(40), MAX_RTO);
    }
}
