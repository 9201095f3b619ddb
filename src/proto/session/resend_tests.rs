//! `ResendPolicy::HeadOnly`, the real agent's resend scheduler (§5.3, §7.4), sans-IO: every
//! instant is built from one `start`, no clock is read.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use super::{ResendPolicy, Session, SessionConfig};
use crate::proto::frame::Frame;
use crate::proto::ids::SeededIds;

const TICK: Duration = Duration::from_millis(100);

fn head_only_agent(start: Instant) -> Session {
    let config = SessionConfig {
        resend: ResendPolicy::HeadOnly { tick: TICK },
        ..SessionConfig::agent("sid-head")
    };
    Session::new(config, Box::new(SeededIds::new(1)), start, 0)
}

fn client(start: Instant) -> Session {
    Session::new(
        SessionConfig::client("sid-head"),
        Box::new(SeededIds::new(2)),
        start,
        0,
    )
}

/// Every frame the session writes now, as (sequence, bytes).
fn transmit(session: &mut Session, now: Instant) -> Vec<(i64, Vec<u8>)> {
    std::iter::from_fn(|| session.poll_transmit(now))
        .map(|bytes| (Frame::decode(&bytes).unwrap().sequence, bytes))
        .collect()
}

/// The agent sends three messages; the socket loses all of them.
fn three_lost(start: Instant) -> Session {
    let mut agent = head_only_agent(start);
    assert_eq!(agent.send_data(start, &[b'x'; 3 * 1024]), 3 * 1024);
    let sent: Vec<i64> = transmit(&mut agent, start).iter().map(|f| f.0).collect();
    assert_eq!(sent, vec![0, 1, 2]);
    agent
}

#[test]
fn only_the_oldest_unacked_frame_is_resent_and_at_most_once_per_tick() {
    let start = Instant::now();
    let mut agent = three_lost(start);
    // The initial RTO is 200 ms (§5.3): all three are overdue at 250 ms, only seq 0 goes.
    assert_eq!(
        agent.poll_timeout(),
        Some(start + Duration::from_millis(200))
    );
    let at = start + Duration::from_millis(250);
    agent.handle_timeout(at);
    let resent = transmit(&mut agent, at);
    assert_eq!(resent.iter().map(|f| f.0).collect::<Vec<_>>(), vec![0]);

    // The client gets it and acks it at once; seq 1 is overdue but waits for the next tick.
    let mut client = client(start);
    client.handle_frame(at, &resent[0].1);
    for (_, ack) in transmit(&mut client, at) {
        agent.handle_frame(at + Duration::from_millis(5), &ack);
    }
    assert_eq!(agent.unacked_count(), 2);
    let within_tick = at + Duration::from_millis(60);
    agent.handle_timeout(within_tick);
    assert!(transmit(&mut agent, within_tick).is_empty());
    assert_eq!(agent.poll_timeout(), Some(at + TICK));

    let next_tick = at + TICK;
    agent.handle_timeout(next_tick);
    let resent = transmit(&mut agent, next_tick);
    assert_eq!(resent.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1]);
    assert_eq!(agent.stats().retransmissions, 2);
}

#[test]
fn an_unacked_head_holds_back_the_frames_behind_it() {
    let start = Instant::now();
    let mut agent = three_lost(start);
    // Nothing is acked: tick after tick, only seq 0 is ever resent (with its own backoff).
    let mut resent = Vec::new();
    for tick in 2..=30 {
        let now = start + TICK * tick;
        agent.handle_timeout(now);
        resent.extend(transmit(&mut agent, now).into_iter().map(|f| f.0));
    }
    assert!(!resent.is_empty());
    assert!(resent.iter().all(|&seq| seq == 0), "{resent:?}");
}

#[test]
fn a_reconnect_replays_nothing() {
    let start = Instant::now();
    let mut agent = three_lost(start);
    let reconnected = start + Duration::from_millis(20);
    agent.handle_reconnect(reconnected);
    agent.handle_timeout(reconnected);
    assert!(transmit(&mut agent, reconnected).is_empty());
    assert_eq!(
        agent.poll_timeout(),
        Some(start + Duration::from_millis(200))
    );
}
