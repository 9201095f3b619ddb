//! Protocol core throughput: frame encode+decode, and bytes pushed through a client/agent
//! `Session` pair in memory, each next to a ceiling measured in the same run (memcpy and
//! SHA-256 over the same bytes: every frame's payload is hashed once when encoded and once
//! when decoded, so 2 × SHA-256 + copies bounds what the pair can reach).
//!
//! Run: `cargo bench --bench proto` (a bench binary, not a timed test).

#![allow(clippy::unwrap_used)]

// The tests' simulated pair, shared so the bench measures what the tests exercise; some of
// its helpers only the tests call.
#[allow(dead_code)]
#[path = "../tests/it/support/pair.rs"]
mod pair;

use std::hint::black_box;
use std::time::{Duration, Instant};

use gangway::proto::{Event, Frame, MessageType, PayloadType, SeededIds, Session, SessionConfig};
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;

fn main() {
    println!(
        "proto bench ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    for payload_len in [3, 1024, 16 * 1024] {
        codec(payload_len);
    }
    // The machine is shared and noisy: three rounds, each pair figure right after a ceiling
    // measured in the same round.
    for round in 1..=3 {
        println!("-- round {round}");
        let ceiling = ceilings(64 * MIB);
        for max_payload in [1024, 16 * 1024] {
            pair_in_memory(64 * MIB, max_payload, ceiling);
        }
    }
    lossy_pair(16 * MIB, 0.05);
}

fn report(label: &str, bytes: usize, elapsed: Duration) -> f64 {
    let mb_per_s = bytes as f64 / 1e6 / elapsed.as_secs_f64();
    println!(
        "{label:<58} {mb_per_s:>9.1} MB/s  ({:.3} s)",
        elapsed.as_secs_f64()
    );
    mb_per_s
}

/// memcpy (into an already faulted-in buffer) and SHA-256 over the same bytes, several
/// rounds each; returns the pair's ceiling in MB/s.
fn ceilings(len: usize) -> f64 {
    const ROUNDS: usize = 4;
    let source = vec![0x5Au8; len];
    let mut target = vec![0u8; len];
    target.copy_from_slice(&source);
    let started = Instant::now();
    for _ in 0..ROUNDS {
        target.copy_from_slice(black_box(&source));
        black_box(&mut target);
    }
    let copy_mb = report(
        "ceiling: memcpy 64 MiB (x4)",
        ROUNDS * len,
        started.elapsed(),
    );
    let started = Instant::now();
    for _ in 0..ROUNDS {
        black_box(Sha256::digest(black_box(&target)));
    }
    let sha_mb = report(
        "ceiling: SHA-256 of 64 MiB (x4)",
        ROUNDS * len,
        started.elapsed(),
    );
    // Per byte: hashed on encode and on decode, copied into the frame, out of the buffer for
    // transmission and out of the frame into the event.
    let pair_ceiling = 1.0 / (2.0 / sha_mb + 3.0 / copy_mb);
    println!(
        "{:<58} {pair_ceiling:>9.1} MB/s",
        "ceiling: 2 x SHA-256 + 3 x memcpy per byte"
    );
    pair_ceiling
}

fn codec(payload_len: usize) {
    let frame = Frame {
        message_type: MessageType::OutputStreamData,
        schema_version: 1,
        created_ms: 1_700_000_000_000,
        sequence: 42,
        flags: 0,
        message_id: uuid::Uuid::from_u128(7),
        payload_type: PayloadType::Output,
        payload: vec![0xA5; payload_len],
    };
    let iterations = (256 * MIB / (payload_len + 120)).clamp(10_000, 1_000_000);
    let started = Instant::now();
    for _ in 0..iterations {
        let bytes = black_box(&frame).encode();
        let decoded = Frame::decode(black_box(&bytes)).unwrap();
        black_box(decoded);
    }
    let elapsed = started.elapsed();
    let ns = elapsed.as_nanos() as f64 / iterations as f64;
    let label = format!("codec: encode+decode, {payload_len} B payload ({ns:.0} ns/frame)");
    report(&label, iterations * payload_len, elapsed);
}

/// Client sends `len` bytes to the agent over a perfect in-memory link: every frame written
/// is handed straight to the peer, acks included.
fn pair_in_memory(len: usize, max_payload: usize, ceiling: f64) {
    let start = Instant::now();
    let mut client_config = SessionConfig::client("bench");
    client_config.max_payload_bytes = max_payload;
    let mut client = Session::new(client_config, Box::new(SeededIds::new(1)), start, 0);
    let mut agent = Session::new(
        SessionConfig::agent("bench"),
        Box::new(SeededIds::new(2)),
        start,
        0,
    );
    agent.send_data(start, b"$ ");
    shuttle(&mut agent, &mut client, start);
    while client.poll_event().is_some() {}

    let data = vec![0x3Cu8; len];
    let mut sent = 0;
    let mut received = 0;
    let started = Instant::now();
    let mut now = start;
    while received < len {
        now += Duration::from_micros(1);
        sent += client.send_data(now, &data[sent..]);
        shuttle(&mut client, &mut agent, now);
        while let Some(event) = agent.poll_event() {
            if let Event::Data { bytes, .. } = event {
                received += bytes.len();
            }
        }
        shuttle(&mut agent, &mut client, now);
    }
    let label = format!("pair: 64 MiB client->agent in memory, {max_payload} B payloads");
    let mb = report(&label, len, started.elapsed());
    println!("{:<58} {:>9.0} %", "  of the ceiling", 100.0 * mb / ceiling);
    assert_eq!(client.stats().retransmissions, 0);
}

fn shuttle(from: &mut Session, to: &mut Session, now: Instant) {
    while let Some(frame) = from.poll_transmit(now) {
        to.handle_frame(now, &frame);
    }
}

/// Both directions at once through the simulated lossy link of the pair tests (virtual time),
/// to show the cost of reordering and retransmission bookkeeping.
fn lossy_pair(len: usize, loss: f64) {
    let mut pair = pair::Pair::new(pair::LinkConfig::lossy(loss), 99);
    pair.client.outbox = vec![1; len];
    pair.agent.outbox = vec![2; len];
    let started = Instant::now();
    pair.run_until(u64::MAX / 2, |p| {
        p.client.received.len() == len && p.agent.received.len() == len
    });
    let label = format!(
        "pair: 16 MiB each way, {:.0}% loss, jitter (virtual link)",
        loss * 100.0
    );
    report(&label, 2 * len, started.elapsed());
    let stats = (pair.client.session.stats(), pair.agent.session.stats());
    println!(
        "  retransmissions {} + {}, virtual time {:?}",
        stats.0.retransmissions,
        stats.1.retransmissions,
        pair.elapsed()
    );
}
