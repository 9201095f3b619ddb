//! Fault injection for the emulator's data channel (issue 4), off by default.
//!
//! `--faults drop=0.001,dup=0.05,reorder=0.05,cut-every=10s[,seed=N]` perturbs binary frames in
//! both directions at the websocket edge, after the OpenDataChannel frame, the way they really
//! go wrong over TCP (protocol.md §7.2, §7.4):
//!
//! - `drop`: a live TCP socket loses nothing, so a frame is only ever lost with its socket.
//!   Each frame has this probability of cutting the socket where it stands: that frame and
//!   everything queued behind it on that socket are lost, the TCP connection is closed and
//!   the client resumes (§7.2). Keep it small: every cut costs a resume, and the frames it
//!   lost come back one per 100 ms (the agent's head-only resend, §7.4).
//! - `dup`, `reorder`: only the first [`RESUME_WINDOW_FRAMES`] frames each way after a
//!   resume may be sent twice, or held back and sent after the next one: what an old and a
//!   new socket can do to each other. On a live socket frames pass once and in order.
//! - `cut-every` closes the TCP connection of every attached websocket that often.
//!
//! Everything is driven by a seeded RNG so a failing run can be replayed.
//!
//! `channel_closed` frames are never perturbed: they are not sequenced or retransmitted
//! (protocol.md §3, quirk 11), so losing one would be a fault the real service never makes.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// After a resume, this many frames each way may be duplicated or reordered.
pub const RESUME_WINDOW_FRAMES: u32 = 32;

/// Seed used when the spec names none, so runs are reproducible by default.
const DEFAULT_SEED: u64 = 0x6761_6e67_7761_7921;

/// What to perturb and how often. `FaultSpec::default()` injects nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Probability that a frame cuts its socket (it and everything queued behind it lost).
    pub drop: f64,
    /// Probability that a frame just after a resume is sent twice.
    pub dup: f64,
    /// Probability that a frame just after a resume is held back and sent after the next one.
    pub reorder: f64,
    /// Close each attached websocket after this long.
    pub cut_every: Option<Duration>,
    /// RNG seed; each session mixes in its own id.
    pub seed: u64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            drop: 0.0,
            dup: 0.0,
            reorder: 0.0,
            cut_every: None,
            seed: DEFAULT_SEED,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultSpecError {
    #[error("fault spec item `{0}` is not of the form key=value (e.g. drop=0.05)")]
    NotKeyValue(String),
    #[error("unknown fault `{0}`; known: drop, dup, reorder, cut-every, seed")]
    UnknownKey(String),
    #[error("fault `{key}` needs a probability between 0 and 1, got `{value}`")]
    BadProbability { key: String, value: String },
    #[error("fault `cut-every` needs a duration like 10s, 500ms or 2m, got `{0}`")]
    BadDuration(String),
    #[error("fault `seed` needs an unsigned integer, got `{0}`")]
    BadSeed(String),
}

impl FaultSpec {
    /// Parses `drop=0.05,dup=0.05,reorder=0.05,cut-every=10s,seed=7` (any subset, any order).
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let mut parsed = Self::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotKeyValue(item.to_string()))?;
            let (key, value) = (key.trim(), value.trim());
            match key {
                "drop" => parsed.drop = parse_probability(key, value)?,
                "dup" => parsed.dup = parse_probability(key, value)?,
                "reorder" => parsed.reorder = parse_probability(key, value)?,
                "cut-every" => parsed.cut_every = Some(parse_duration(value)?),
                "seed" => {
                    parsed.seed = value
                        .parse()
                        .map_err(|_| FaultSpecError::BadSeed(value.to_string()))?;
                }
                other => return Err(FaultSpecError::UnknownKey(other.to_string())),
            }
        }
        Ok(parsed)
    }

    /// True when no fault would ever fire.
    pub fn is_off(&self) -> bool {
        self.drop == 0.0 && self.dup == 0.0 && self.reorder == 0.0 && self.cut_every.is_none()
    }
}

fn parse_probability(key: &str, value: &str) -> Result<f64, FaultSpecError> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(FaultSpecError::BadProbability {
            key: key.to_string(),
            value: value.to_string(),
        }),
    }
}

/// Parses `250ms`, `10s`, `2m`; a bare number means seconds. Zero is refused (it would cut
/// every socket the moment it attaches).
pub fn parse_duration(value: &str) -> Result<Duration, FaultSpecError> {
    let bad = || FaultSpecError::BadDuration(value.to_string());
    let (number, unit_ms) = if let Some(n) = value.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = value.strip_suffix('m') {
        (n, 60_000)
    } else {
        (value, 1000)
    };
    let number: u64 = number.trim().parse().map_err(|_| bad())?;
    let millis = number.checked_mul(unit_ms).ok_or_else(bad)?;
    if millis == 0 {
        return Err(bad());
    }
    Ok(Duration::from_millis(millis))
}

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToClient,
    FromClient,
}

/// Counters of what was injected, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// Applies a [`FaultSpec`] to a stream of frames, one instance per session.
pub struct FaultInjector {
    spec: FaultSpec,
    rng: StdRng,
    held_to_client: Option<Vec<u8>>,
    held_from_client: Option<Vec<u8>>,
    /// Frames left in each direction that may still be duplicated or reordered.
    resume_window_to_client: u32,
    resume_window_from_client: u32,
    stats: FaultStats,
}

impl FaultInjector {
    /// `salt` (e.g. a hash of the session id) makes sessions differ under one seed.
    pub fn new(spec: FaultSpec, salt: u64) -> Self {
        let rng = StdRng::seed_from_u64(spec.seed ^ salt);
        Self {
            spec,
            rng,
            held_to_client: None,
            held_from_client: None,
            resume_window_to_client: 0,
            resume_window_from_client: 0,
            stats: FaultStats::default(),
        }
    }

    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    pub fn stats(&self) -> FaultStats {
        self.stats
    }

    /// Whether `frame` cuts its socket: the caller then closes the socket, losing the frame
    /// and everything queued behind it (counted as dropped). channel_closed never cuts.
    pub fn cuts_socket(&mut self, frame: &[u8]) -> bool {
        if self.spec.drop == 0.0 || is_channel_closed(frame) {
            return false;
        }
        let cut = self.rng.random::<f64>() < self.spec.drop;
        if cut {
            self.stats.dropped += 1;
        }
        cut
    }

    /// A client resumed: the next frames each way may be duplicated or reordered.
    pub fn on_resume(&mut self) {
        self.resume_window_to_client = RESUME_WINDOW_FRAMES;
        self.resume_window_from_client = RESUME_WINDOW_FRAMES;
    }

    /// Pushes what should really travel for `frame` onto `out`: the frame, or just after a
    /// resume maybe the frame twice, nothing yet (held back), or the frame followed by the
    /// held one.
    pub fn apply(&mut self, direction: Direction, frame: Vec<u8>, out: &mut VecDeque<Vec<u8>>) {
        if is_channel_closed(&frame) {
            self.flush(direction, out);
            out.push_back(frame);
            return;
        }
        let window = match direction {
            Direction::ToClient => &mut self.resume_window_to_client,
            Direction::FromClient => &mut self.resume_window_from_client,
        };
        if *window == 0 {
            out.push_back(frame);
            self.release_held(direction, out);
            return;
        }
        *window -= 1;
        let roll: f64 = self.rng.random();
        let (dup, reorder) = (self.spec.dup, self.spec.reorder);
        if roll < dup {
            self.stats.duplicated += 1;
            out.push_back(frame.clone());
            out.push_back(frame);
            self.release_held(direction, out);
        } else if roll < dup + reorder && self.held(direction).is_none() {
            self.stats.reordered += 1;
            *self.held(direction) = Some(frame);
        } else {
            out.push_back(frame);
            self.release_held(direction, out);
        }
    }

    /// Sends a held-back frame now (e.g. before a channel_closed).
    pub fn flush(&mut self, direction: Direction, out: &mut VecDeque<Vec<u8>>) {
        self.release_held(direction, out);
    }

    /// Forgets held frames when a socket goes away; the sender retransmits stream data.
    pub fn forget_held(&mut self) {
        self.held_to_client = None;
        self.held_from_client = None;
    }

    fn release_held(&mut self, direction: Direction, out: &mut VecDeque<Vec<u8>>) {
        if let Some(held) = self.held(direction).take() {
            out.push_back(held);
        }
    }

    fn held(&mut self, direction: Direction) -> &mut Option<Vec<u8>> {
        match direction {
            Direction::ToClient => &mut self.held_to_client,
            Direction::FromClient => &mut self.held_from_client,
        }
    }
}

/// MessageType sits at bytes 4..36, space padded (protocol.md §2).
fn is_channel_closed(frame: &[u8]) -> bool {
    frame
        .get(4..36)
        .is_some_and(|name| name.starts_with(b"channel_closed"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_spec() {
        let spec = FaultSpec::parse("drop=0.05, dup=0.1,reorder=0.2,cut-every=10s,seed=9").unwrap();
        assert_eq!(spec.drop, 0.05);
        assert_eq!(spec.dup, 0.1);
        assert_eq!(spec.reorder, 0.2);
        assert_eq!(spec.cut_every, Some(Duration::from_secs(10)));
        assert_eq!(spec.seed, 9);
        assert!(!spec.is_off());
        assert!(FaultSpec::parse("").unwrap().is_off());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn rejects_bad_specs_with_clear_errors() {
        let unknown = FaultSpec::parse("lose=0.1").unwrap_err();
        assert!(unknown.to_string().contains("unknown fault `lose`"));
        let prob = FaultSpec::parse("drop=1.5").unwrap_err();
        assert!(prob.to_string().contains("between 0 and 1"));
        assert!(FaultSpec::parse("drop").is_err());
        assert!(FaultSpec::parse("cut-every=fast").is_err());
    }

    fn frame(tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 40];
        f[4..22].copy_from_slice(b"output_stream_data");
        f[39] = tag;
        f
    }

    #[test]
    fn faults_off_pass_every_frame_in_order() {
        let mut injector = FaultInjector::new(FaultSpec::default(), 1);
        let mut out = VecDeque::new();
        for tag in 0..100 {
            injector.apply(Direction::ToClient, frame(tag), &mut out);
        }
        let tags: Vec<u8> = out.iter().map(|f| f[39]).collect();
        assert_eq!(tags, (0..100).collect::<Vec<u8>>());
    }

    #[test]
    fn cuts_come_at_roughly_the_asked_rate_and_never_on_channel_closed() {
        let spec = FaultSpec::parse("drop=0.1").unwrap();
        let mut injector = FaultInjector::new(spec, 42);
        let cuts = (0..10_000u32)
            .filter(|&i| injector.cuts_socket(&frame((i % 250) as u8)))
            .count() as u64;
        assert!((800..1200).contains(&cuts), "{cuts}");
        assert_eq!(injector.stats().dropped, cuts);
        let mut closed = vec![b' '; 40];
        closed[4..18].copy_from_slice(b"channel_closed");
        let always = FaultSpec::parse("drop=1.0").unwrap();
        assert!(!FaultInjector::new(always, 1).cuts_socket(&closed));
    }

    #[test]
    fn a_live_socket_neither_duplicates_nor_reorders_only_a_resume_does() {
        let spec = FaultSpec::parse("dup=0.3,reorder=0.3").unwrap();
        let mut injector = FaultInjector::new(spec, 42);
        let mut out = VecDeque::new();
        for tag in 0..100 {
            injector.apply(Direction::ToClient, frame(tag), &mut out);
        }
        let tags: Vec<u8> = out.drain(..).map(|f| f[39]).collect();
        assert_eq!(tags, (0..100).collect::<Vec<u8>>(), "live socket");
        assert_eq!(injector.stats(), FaultStats::default());

        injector.on_resume();
        for tag in 0..100 {
            injector.apply(Direction::ToClient, frame(tag), &mut out);
        }
        let stats = injector.stats();
        assert!(stats.duplicated + stats.reordered > 0, "{stats:?}");
        let held = u64::from(injector.held_to_client.is_some());
        assert_eq!(out.len() as u64 + held, 100 + stats.duplicated);
        // Past the window everything is in order again.
        let tail: Vec<u8> = out.iter().skip(out.len() - 50).map(|f| f[39]).collect();
        assert_eq!(tail, (50..100).collect::<Vec<u8>>());
    }

    #[test]
    fn channel_closed_is_never_perturbed_and_releases_held_frame() {
        let spec = FaultSpec::parse("drop=0.0,reorder=1.0").unwrap();
        let mut injector = FaultInjector::new(spec, 0);
        injector.on_resume();
        let mut out = VecDeque::new();
        injector.apply(Direction::ToClient, frame(1), &mut out);
        assert!(out.is_empty());
        let mut closed = vec![b' '; 40];
        closed[4..18].copy_from_slice(b"channel_closed");
        injector.apply(Direction::ToClient, closed.clone(), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0][39], 1);
        assert_eq!(out[1], closed);
    }
}
