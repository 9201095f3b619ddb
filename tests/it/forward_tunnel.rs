//! `gangway forward` against the emulator: a TCP echo server "on" the instance (the fleet
//! file maps its port), 32 MiB each way byte-exact through one connection and through 50 at
//! once (mux mode), a tunnel to a host behind the instance, a websocket cut survived with
//! the TCP connections kept, and a tunnel re-established after the service ended it.

use crate::support::emulator::spawn;
use crate::support::forward::{
    EchoServer, Forward, INSTANCE, INSTANCE_NAME, echo_round_trip, fleet_file, ping,
};

const SIZE: usize = 32 << 20;
const REMOTE_PORT: u16 = 5432;

/// The emulator (child) with one instance whose port 5432 is `echo`, plus `extra` args.
fn emulator(echo: &EchoServer, extra: &[&str]) -> crate::support::emulator::SpawnedEmulator {
    let fleet = fleet_file(
        &[(REMOTE_PORT, echo.addr)],
        &[("db.internal:6543", echo.addr)],
    );
    let mut args = vec!["--fleet", fleet.to_str().unwrap()];
    args.extend_from_slice(extra);
    spawn(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_carries_32_mib_each_way_byte_exact() {
    let echo = EchoServer::start().await;
    // Benchmark-only pace: this checks byte-exactness at volume; the agent's real pace
    // (~1 MiB/s down) would only add its sleeps.
    let emulator = emulator(&echo, &["--agent-pace", "off"]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE_NAME, &["0:5432"]);
    let local = forward.listening().await;
    let (opened, _) = forward.until("session_opened").await;
    assert_eq!(opened["mode"], "mux", "{opened}");
    echo_round_trip(local, SIZE, 1).await;
    let (closed, _) = forward.until("connection_closed").await;
    assert_eq!(closed["bytes_up"], SIZE as u64, "{closed}");
    assert_eq!(closed["bytes_down"], SIZE as u64, "{closed}");
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_connections_carry_32_mib_each_way_byte_exact() {
    let echo = EchoServer::start().await;
    let emulator = emulator(&echo, &["--agent-pace", "off"]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5432"]);
    let local = forward.listening().await;
    let per_connection = SIZE / 50;
    let round_trips: Vec<_> = (0..50u8)
        .map(|seed| tokio::spawn(echo_round_trip(local, per_connection, seed)))
        .collect();
    for round_trip in round_trips {
        round_trip.await.unwrap();
    }
    // One session carried them all (mux, one slot).
    let events = forward.drain();
    let sessions = events
        .iter()
        .filter(|event| event["event"] == "session_opened")
        .count();
    assert!(sessions <= 1, "{events:?}");
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_spread_over_the_sessions_asked_for() {
    let echo = EchoServer::start().await;
    let emulator = emulator(&echo, &[]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5432", "--sessions", "3"]);
    let local = forward.listening().await;
    // Held open together, so each new one finds every existing session busy.
    let mut held = Vec::new();
    let mut events = Vec::new();
    for _ in 0..3 {
        let stream = tokio::net::TcpStream::connect(local).await.unwrap();
        held.push(stream);
        let (opened, before) = forward.until("connection_opened").await;
        events.extend(before);
        events.push(opened);
    }
    let mut sessions = std::collections::BTreeSet::new();
    for event in events {
        if event["event"] == "connection_opened" {
            sessions.insert(event["session_id"].as_str().unwrap().to_owned());
        }
    }
    // The first session opened at start; more opened lazily for the 2nd and 3rd.
    assert!(
        sessions.len() >= 2,
        "lazily opened sessions missing: {sessions:?}"
    );
    drop(held);
    ping(local).await;
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_host_behind_the_instance_is_reached_with_host() {
    let echo = EchoServer::start().await;
    let emulator = emulator(&echo, &[]);
    let mut forward = Forward::spawn(
        &emulator.endpoint,
        INSTANCE,
        &["0:6543", "--host", "db.internal"],
    );
    let local = forward.listening().await;
    echo_round_trip(local, 256 << 10, 3).await;
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_connections_survive_websocket_cuts() {
    let echo = EchoServer::start().await;
    let emulator = emulator(
        &echo,
        &[
            "--agent-pace",
            "off",
            "--faults",
            "dup=0.2,reorder=0.2,cut-every=2s,seed=9",
        ],
    );
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5432"]);
    let local = forward.listening().await;
    // Several connections open across the cuts; each must come back whole.
    let round_trips: Vec<_> = (0..4u8)
        .map(|seed| tokio::spawn(echo_round_trip(local, 4 << 20, seed)))
        .collect();
    for round_trip in round_trips {
        round_trip.await.unwrap();
    }
    let (resumed, before) = forward.until("resumed").await;
    assert!(resumed["session_id"].is_string(), "{resumed}");
    // No connection was closed with a reason (a cut must not drop one).
    for event in before.iter().chain(forward.drain().iter()) {
        if event["event"] == "connection_closed" {
            assert!(event["reason"].is_null(), "{event}");
        }
        assert_ne!(event["event"], "ended", "{event}");
    }
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tunnel_is_re_established_after_the_service_ends_the_session() {
    let echo = EchoServer::start().await;
    // The idle timeout ends the session on the service side, as AWS does.
    let emulator = emulator(&echo, &["--idle-timeout", "2"]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5432"]);
    let local = forward.listening().await;
    let (first, _) = forward.until("session_opened").await;
    ping(local).await;
    let (ended, _) = forward.until("ended").await;
    assert_eq!(ended["reopening"], true, "{ended}");
    let (second, _) = forward.until("session_opened").await;
    assert_ne!(first["session_id"], second["session_id"]);
    assert_eq!(second["reestablished"], 1, "{second}");
    // The same listener carries new connections through the new session.
    ping(local).await;
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}
