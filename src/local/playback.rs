//! Playing a recording back: which output is due at a given instant, with pause, speed and
//! seek. Sans-IO: the caller passes the time and writes what comes back to the terminal
//! (`gangway replay`). Resize events are not played (a program cannot resize the user's
//! terminal), nor markers.

use std::io::BufRead;
use std::time::{Duration, Instant};

use super::asciicast::{CastError, CastReader, EventKind, Header};

/// The most output a replay holds in memory. Recordings are kept under a total size limit
/// anyway (1 GiB by default); a larger one is refused with this number in the error.
pub const MAX_REPLAY_BYTES: usize = 512 << 20;

/// Speeds go from 1/16 to 16, doubling or halving.
const MIN_SPEED: f64 = 1.0 / 16.0;
const MAX_SPEED: f64 = 16.0;

/// How far the arrow keys move.
pub const SEEK_STEP: f64 = 5.0;

/// The output of a recording, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    frames: Vec<(f64, String)>,
}

impl Timeline {
    /// Reads a recording. A last line cut short (the session's process died while writing)
    /// ends the timeline; a bad line before the end is an error.
    pub fn read(reader: impl BufRead) -> Result<(Header, Self), CastError> {
        let (header, mut events) = CastReader::open(reader)?;
        let mut frames: Vec<(f64, String)> = Vec::new();
        let mut held: Option<CastError> = None;
        let mut bytes = 0usize;
        while let Some(event) = events.next_event() {
            if let Some(error) = held.take() {
                return Err(error);
            }
            match event {
                Ok(event) if event.kind == EventKind::Output => {
                    bytes += event.data.len();
                    if bytes > MAX_REPLAY_BYTES {
                        return Err(CastError::Io(format!(
                            "the recording holds more than {} MiB of output, more than replay reads",
                            MAX_REPLAY_BYTES >> 20
                        )));
                    }
                    // Times go forward; a writer's jitter backwards is flattened.
                    let last = frames.last().map_or(0.0, |f| f.0);
                    frames.push((event.time.max(last), event.data));
                }
                Ok(_) => {}
                Err(error @ CastError::Line { .. }) => held = Some(error),
                Err(error) => return Err(error),
            }
        }
        Ok((header, Self { frames }))
    }

    pub fn duration(&self) -> f64 {
        self.frames.last().map_or(0.0, |f| f.0)
    }

    /// Everything up to and including `time`, from frame `from` on; and the next frame index.
    fn output_until(&self, from: usize, time: f64) -> (String, usize) {
        let mut out = String::new();
        let mut next = from;
        while let Some((at, data)) = self.frames.get(next) {
            if *at > time {
                break;
            }
            out.push_str(data);
            next += 1;
        }
        (out, next)
    }
}

/// What a seek asks the terminal for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek {
    /// Write this after what is on screen.
    Forward(String),
    /// Clear the screen, then write this (the output from the start to the new position).
    Restart(String),
}

/// A timeline being played.
#[derive(Debug, Clone)]
pub struct Player {
    timeline: Timeline,
    next: usize,
    /// The recording's time at `anchor_wall`; the position moves from there at `speed`.
    anchor_position: f64,
    anchor_wall: Instant,
    speed: f64,
    paused: bool,
}

impl Player {
    pub fn new(timeline: Timeline, now: Instant) -> Self {
        Self {
            timeline,
            next: 0,
            anchor_position: 0.0,
            anchor_wall: now,
            speed: 1.0,
            paused: false,
        }
    }

    /// Where in the recording playback is, in seconds.
    pub fn position(&self, now: Instant) -> f64 {
        if self.paused {
            return self.anchor_position;
        }
        let elapsed = now
            .saturating_duration_since(self.anchor_wall)
            .as_secs_f64();
        (self.anchor_position + elapsed * self.speed).min(self.timeline.duration())
    }

    fn anchor(&mut self, now: Instant) {
        self.anchor_position = self.position(now);
        self.anchor_wall = now;
    }

    /// The output due by `now` that was not given yet.
    pub fn due(&mut self, now: Instant) -> String {
        let (out, next) = self.timeline.output_until(self.next, self.position(now));
        self.next = next;
        out
    }

    /// When the next output is due; `None` while paused or at the end.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.paused {
            return None;
        }
        let (at, _) = self.timeline.frames.get(self.next)?;
        let wait = ((at - self.anchor_position) / self.speed).max(0.0);
        Some(self.anchor_wall + Duration::from_secs_f64(wait))
    }

    /// Every frame was given.
    pub fn finished(&self) -> bool {
        self.next >= self.timeline.frames.len()
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn toggle_pause(&mut self, now: Instant) {
        self.anchor(now);
        self.paused = !self.paused;
    }

    pub fn faster(&mut self, now: Instant) {
        self.anchor(now);
        self.speed = (self.speed * 2.0).min(MAX_SPEED);
    }

    pub fn slower(&mut self, now: Instant) {
        self.anchor(now);
        self.speed = (self.speed / 2.0).max(MIN_SPEED);
    }

    /// Moves by `delta` seconds of recording (negative: back), within the recording.
    pub fn seek(&mut self, now: Instant, delta: f64) -> Seek {
        let target = (self.position(now) + delta).clamp(0.0, self.timeline.duration());
        self.anchor_position = target;
        self.anchor_wall = now;
        if delta >= 0.0 {
            let (out, next) = self.timeline.output_until(self.next, target);
            self.next = next;
            Seek::Forward(out)
        } else {
            let (out, next) = self.timeline.output_until(0, target);
            self.next = next;
            Seek::Restart(out)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::local::asciicast::{self, encode_event};

    fn timeline(frames: &[(f64, &str)]) -> Timeline {
        let header = asciicast::Header {
            version: 2,
            width: 80,
            height: 24,
            timestamp: None,
            duration: None,
            title: None,
            env: Default::default(),
            gangway: None,
        };
        let mut text = asciicast::encode_header(&header);
        for (at, data) in frames {
            text.push_str(&encode_event(
                Duration::from_secs_f64(*at),
                &EventKind::Output,
                data,
            ));
        }
        text.push_str(&encode_event(
            Duration::from_secs(1),
            &EventKind::Resize,
            "9x9",
        ));
        Timeline::read(text.as_bytes()).unwrap().1
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn output_comes_when_due() {
        let t0 = Instant::now();
        let mut player = Player::new(timeline(&[(0.0, "a"), (1.0, "b"), (3.0, "c")]), t0);
        assert_eq!(player.due(t0), "a");
        assert_eq!(player.next_deadline(), Some(t0 + secs(1.0)));
        assert_eq!(player.due(t0 + secs(0.5)), "");
        assert_eq!(player.due(t0 + secs(3.0)), "bc");
        assert!(player.finished());
        assert_eq!(player.next_deadline(), None);
    }

    #[test]
    fn pause_stops_time_and_speed_scales_it() {
        let t0 = Instant::now();
        let mut player = Player::new(timeline(&[(0.0, "a"), (2.0, "b"), (4.0, "c")]), t0);
        player.due(t0);
        player.toggle_pause(t0 + secs(1.0));
        assert!(player.paused());
        assert_eq!(player.next_deadline(), None);
        assert_eq!(player.due(t0 + secs(100.0)), "");
        player.toggle_pause(t0 + secs(100.0));
        // 1 s played, 1 s to go for "b".
        assert_eq!(player.next_deadline(), Some(t0 + secs(101.0)));
        player.faster(t0 + secs(100.0));
        assert_eq!(player.speed(), 2.0);
        assert_eq!(player.next_deadline(), Some(t0 + secs(100.5)));
        assert_eq!(player.due(t0 + secs(100.5)), "b");
        for _ in 0..10 {
            player.slower(t0 + secs(100.5));
        }
        assert_eq!(player.speed(), 1.0 / 16.0);
    }

    #[test]
    fn seeking_forward_adds_and_back_restarts() {
        let t0 = Instant::now();
        let mut player = Player::new(
            timeline(&[(0.0, "a"), (4.0, "b"), (8.0, "c"), (12.0, "d")]),
            t0,
        );
        player.due(t0);
        assert_eq!(player.seek(t0, SEEK_STEP), Seek::Forward("b".into()));
        assert_eq!(player.position(t0), 5.0);
        assert_eq!(player.seek(t0, SEEK_STEP), Seek::Forward("c".into()));
        assert_eq!(player.seek(t0, -SEEK_STEP), Seek::Restart("ab".into()));
        assert_eq!(player.due(t0), "");
        assert_eq!(player.seek(t0, -100.0), Seek::Restart("a".into()));
        assert_eq!(player.seek(t0, 100.0), Seek::Forward("bcd".into()));
        assert!(player.finished());
    }

    #[test]
    fn a_cut_last_line_ends_the_timeline_and_a_bad_middle_line_is_an_error() {
        let head = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"a\"]\n";
        let cut = format!("{head}[0.2, \"o\", \"b");
        assert_eq!(Timeline::read(cut.as_bytes()).unwrap().1.duration(), 0.1);
        let bad = format!("{head}[0.2, \"o\"]\n[0.3, \"o\", \"c\"]\n");
        assert!(Timeline::read(bad.as_bytes()).is_err());
    }
}
