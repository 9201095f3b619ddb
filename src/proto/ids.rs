//! Message ids come from an injected source: the protocol core never reads global randomness.

use uuid::Uuid;

/// Supplies the MessageId of every frame a [`Session`](super::Session) writes.
pub trait MessageIdSource {
    fn next_id(&mut self) -> Uuid;
}

/// Deterministic UUIDv4-shaped ids from a seed (splitmix64). For tests, and for callers that
/// seed it from OS randomness themselves.
#[derive(Debug, Clone)]
pub struct SeededIds(SplitMix64);

impl SeededIds {
    pub fn new(seed: u64) -> Self {
        Self(SplitMix64::new(seed))
    }
}

impl MessageIdSource for SeededIds {
    fn next_id(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.0.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.0.next_u64().to_le_bytes());
        // Version 4 / RFC 4122 variant bits, like the reference's uuid.NewV4().
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// A tiny, fast, seedable generator (splitmix64): good enough for ids and simulated links,
/// not for secrets.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_deterministic_v4_and_distinct() {
        let mut a = SeededIds::new(7);
        let mut b = SeededIds::new(7);
        let first = a.next_id();
        assert_eq!(first, b.next_id());
        assert_eq!(first.get_version_num(), 4);
        assert_ne!(first, a.next_id());
    }
}
