//! A client `Session` and an agent `Session` joined by two simulated links on a virtual clock,
//! in the style of quinn-proto's test `Pair`: no tokio, no sleeps, fully deterministic for a
//! given seed. `step()` jumps the clock to the earliest pending event (a frame arriving or a
//! session timer) and processes it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use gangway::proto::{Event, PayloadType, SeededIds, Session, SessionConfig, SplitMix64};

/// Impairments of one direction of the link.
#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    pub delay: Duration,
    /// Extra uniformly random delay in [0, jitter): reorders frames sent close together.
    pub jitter: Duration,
    pub loss: f64,
    pub duplicate: f64,
}

impl LinkConfig {
    pub fn clean() -> Self {
        Self {
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }

    pub fn lossy(loss: f64) -> Self {
        Self {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(8),
            loss,
            duplicate: 0.02,
        }
    }
}

/// Frames in flight in one direction, ordered by arrival time (then by send order).
pub struct Link {
    config: LinkConfig,
    rng: SplitMix64,
    in_flight: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    sent_order: u64,
    pub frames_carried: u64,
    pub frames_lost: u64,
    /// While set, every frame is lost (a dead websocket).
    pub down: bool,
}

impl Link {
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SplitMix64::new(seed),
            in_flight: BinaryHeap::new(),
            sent_order: 0,
            frames_carried: 0,
            frames_lost: 0,
            down: false,
        }
    }

    pub fn send(&mut self, now: Instant, frame: Vec<u8>) {
        self.frames_carried += 1;
        if self.down || self.rng.next_f64() < self.config.loss {
            self.frames_lost += 1;
            return;
        }
        if self.rng.next_f64() < self.config.duplicate {
            self.schedule(now, frame.clone());
        }
        self.schedule(now, frame);
    }

    fn schedule(&mut self, now: Instant, frame: Vec<u8>) {
        let jitter_ns = self.config.jitter.as_nanos() as f64 * self.rng.next_f64();
        let arrival = now + self.config.delay + Duration::from_nanos(jitter_ns as u64);
        self.sent_order += 1;
        self.in_flight
            .push(Reverse((arrival, self.sent_order, frame)));
    }

    pub fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse((at, _, _))| *at)
    }

    pub fn pop_arrived(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_arrival()? > now {
            return None;
        }
        self.in_flight.pop().map(|Reverse((_, _, frame))| frame)
    }
}

/// One side of the pair with its application: bytes waiting to be sent, what arrived.
pub struct Endpoint {
    pub session: Session,
    pub outbox: Vec<u8>,
    pub outbox_sent: usize,
    pub received: Vec<u8>,
    pub events: Vec<Event>,
}

impl Endpoint {
    fn new(session: Session) -> Self {
        Self {
            session,
            outbox: Vec::new(),
            outbox_sent: 0,
            received: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Offers the rest of the outbox to the session (it may take only part: backpressure).
    fn pump_outbox(&mut self, now: Instant) {
        if self.outbox_sent < self.outbox.len() && !self.session.is_closed() {
            self.outbox_sent += self
                .session
                .send_data(now, &self.outbox[self.outbox_sent..]);
        }
    }

    fn collect_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Data {
                    payload_type: PayloadType::Output,
                    bytes,
                } => self.received.extend(bytes),
                other => self.events.push(other),
            }
        }
    }
}

pub struct Pair {
    pub start: Instant,
    pub now: Instant,
    pub client: Endpoint,
    pub agent: Endpoint,
    pub to_agent: Link,
    pub to_client: Link,
    pub steps: u64,
}

impl Pair {
    pub fn new(link: LinkConfig, seed: u64) -> Self {
        Self::with_configs(
            SessionConfig::client("sid-test"),
            SessionConfig::agent("sid-test"),
            link,
            seed,
        )
    }

    pub fn with_configs(
        client: SessionConfig,
        agent: SessionConfig,
        link: LinkConfig,
        seed: u64,
    ) -> Self {
        let now = Instant::now();
        let unix_ms = 1_795_988_311_532;
        Self {
            start: now,
            now,
            client: Endpoint::new(Session::new(
                client,
                Box::new(SeededIds::new(seed ^ 0xC1)),
                now,
                unix_ms,
            )),
            agent: Endpoint::new(Session::new(
                agent,
                Box::new(SeededIds::new(seed ^ 0xA6)),
                now,
                unix_ms,
            )),
            to_agent: Link::new(link, seed.wrapping_mul(3) + 1),
            to_client: Link::new(link, seed.wrapping_mul(5) + 2),
            steps: 0,
        }
    }

    /// Lets both applications write, then moves every pending frame onto the links.
    pub fn drive(&mut self) {
        let now = self.now;
        self.client.pump_outbox(now);
        self.agent.pump_outbox(now);
        while let Some(frame) = self.client.session.poll_transmit(now) {
            self.to_agent.send(now, frame);
        }
        while let Some(frame) = self.agent.session.poll_transmit(now) {
            self.to_client.send(now, frame);
        }
        self.client.collect_events();
        self.agent.collect_events();
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.to_agent.next_arrival(),
            self.to_client.next_arrival(),
            self.client.session.poll_timeout(),
            self.agent.session.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances to the next deadline and handles everything due then. False when idle.
    pub fn step(&mut self) -> bool {
        self.drive();
        let Some(deadline) = self.next_deadline() else {
            return false;
        };
        self.now = self.now.max(deadline);
        self.steps += 1;
        let now = self.now;
        while let Some(frame) = self.to_agent.pop_arrived(now) {
            self.agent.session.handle_frame(now, &frame);
        }
        while let Some(frame) = self.to_client.pop_arrived(now) {
            self.client.session.handle_frame(now, &frame);
        }
        for session in [&mut self.client.session, &mut self.agent.session] {
            if session.poll_timeout().is_some_and(|due| due <= now) {
                session.handle_timeout(now);
            }
        }
        self.drive();
        true
    }

    /// Steps until `done` holds; panics after `max_steps` so a livelock fails the test.
    pub fn run_until(&mut self, max_steps: u64, mut done: impl FnMut(&Pair) -> bool) {
        let limit = self.steps + max_steps;
        while !done(self) {
            assert!(self.steps < limit, "no progress after {max_steps} steps");
            if !self.step() {
                assert!(done(self), "the pair went idle before the condition held");
                return;
            }
        }
    }

    /// Virtual time since the pair was made.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.start)
    }
}
