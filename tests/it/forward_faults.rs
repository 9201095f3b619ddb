//! The fault matrix of `gangway forward` (issue 12): 32 MiB each way, SHA-256 exact, to a
//! TCP echo server on the instance and to one on a remote host behind it, through one
//! connection and through 50 concurrent connections, in both wire modes (multiplexed, and
//! basic for an agent at 3.0.196.0 or older, §6.4), while the emulator cuts the websocket,
//! and duplicates and reorders frames each way across every resume (`--faults`,
//! src/emulator/faults.rs).
//!
//! Basic mode reaches the instance's own port only: the agents that run it (3.0.196.0 and
//! older) predate forwarding to a remote host (3.1.1188.0), so gangway refuses `--host` for
//! them (forward_errors) and no real agent runs that combination.
//!
//! 50 connections carry 32 MiB between them (655 KiB each), so every case moves the same
//! bytes. In basic mode one session carries one TCP connection at a time, as the AWS
//! plugin's basic mode does (it accepts the next connection when the current one closes,
//! §6.3): the 50 connect at once and wait their turn, unless `--sessions` gives them more
//! sessions.
//!
//! Every case runs at the agent's real pace (1 KiB per ms per session downwards, §0 item 16),
//! about 35 s for 32 MiB through one session; the 50-connection cases that are not about one
//! session spread over `--sessions 4`, each session paced on its own. Not unpaced
//! (`--agent-pace off`): without the pace the agent has no send window (§5.3), so what a
//! cut loses is whatever the loopback sockets held at that moment (megabytes on a loaded
//! machine), and the agent's head-only resend brings that back at one frame per 100 ms
//! (§7.4), as the real agent would: minutes, by the machine's load. At the pace only a few
//! frames are in flight, as with the real agent on a fast network.
//!
//! Every case checks that the emulator really cut, duplicated and reordered frames.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::PATIENCE;
use crate::support::cli::temp_home;
use crate::support::emulator::spawn_with_stderr;
use crate::support::forward::{
    EchoServer, Forward, INSTANCE, echo_round_trip, fleet_file_with_agent,
};

const SIZE: usize = 32 << 20;
const INSTANCE_PORT: u16 = 5432;
const REMOTE_HOST: &str = "db.internal";
const REMOTE_PORT: u16 = 6543;
/// Newest agent without mux: both ends run basic mode (§6.4).
const BASIC_AGENT: &str = "3.0.196.0";

#[derive(Clone, Copy)]
enum Wire {
    Mux,
    Basic,
}

#[derive(Clone, Copy)]
enum Destination {
    /// The instance's own port (AWS-StartPortForwardingSession).
    Instance,
    /// A host behind it (AWS-StartPortForwardingSessionToRemoteHost).
    RemoteHost,
}

struct Case {
    wire: Wire,
    destination: Destination,
    connections: usize,
    /// `--sessions`: connections spread over this many sessions.
    sessions: usize,
    /// The emulator's `--faults` spec.
    faults: &'static str,
}

/// What the emulator's agent says it injected, summed over the sessions.
#[derive(Debug, Default)]
struct Injected {
    sessions: usize,
    duplicated: u64,
    reordered: u64,
}

async fn run(case: Case) {
    let started = Instant::now();
    let echo = EchoServer::start().await;
    let agent = match case.wire {
        Wire::Mux => None,
        Wire::Basic => Some(BASIC_AGENT),
    };
    let remote = format!("{REMOTE_HOST}:{REMOTE_PORT}");
    let fleet = fleet_file_with_agent(
        &[(INSTANCE_PORT, echo.addr)],
        &[(remote.as_str(), echo.addr)],
        agent,
    );
    let log = temp_home().join("emulator.log");
    let emulator_args = ["--fleet", fleet.to_str().unwrap(), "--faults", case.faults];
    let emulator = spawn_with_stderr(&emulator_args, std::fs::File::create(&log).unwrap());

    let sessions = case.sessions.to_string();
    let instance_port = INSTANCE_PORT.to_string();
    let remote_port = format!("0:{REMOTE_PORT}");
    let mut forward_args = match case.destination {
        Destination::Instance => vec![instance_port.as_str()],
        Destination::RemoteHost => vec![remote_port.as_str(), "--host", REMOTE_HOST],
    };
    forward_args.extend(["--sessions", sessions.as_str()]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &forward_args);
    let local = forward.listening().await;
    let (opened, _) = forward.until("session_opened").await;
    let expected_mode = match case.wire {
        Wire::Mux => "mux",
        Wire::Basic => "basic",
    };
    assert_eq!(opened["mode"], expected_mode, "{opened}");

    let per_connection = SIZE / case.connections;
    let round_trips: Vec<_> = (0..case.connections)
        .map(|seed| tokio::spawn(echo_round_trip(local, per_connection, seed as u8)))
        .collect();
    for round_trip in round_trips {
        round_trip.await.unwrap();
    }

    let events = forward.drain();
    let resumed = events.iter().filter(|e| e["event"] == "resumed").count();
    assert!(resumed >= 1, "no websocket was cut: {events:?}");
    for event in &events {
        // A cut must neither drop a connection nor end a session.
        assert_ne!(event["event"], "ended", "{event}");
        if event["event"] == "connection_closed" {
            assert!(event["reason"].is_null(), "{event}");
        }
    }
    let opened_sessions = 1 + events
        .iter()
        .filter(|e| e["event"] == "session_opened")
        .count();
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");

    let injected = injected(&log, opened_sessions).await;
    drop(emulator);
    assert!(
        injected.duplicated > 0 && injected.reordered > 0,
        "the faults never fired across a resume: {injected:?}"
    );
    eprintln!(
        "{} connection(s), {} session(s): {:?}; {resumed} resumes; {injected:?}",
        case.connections,
        opened_sessions,
        started.elapsed(),
    );
}

/// Waits (with a deadline) until the emulator logged the fault totals of `sessions`
/// sessions, which it does when each ends, and sums them.
async fn injected(log: &Path, sessions: usize) -> Injected {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let mut totals = Injected::default();
        for line in text
            .lines()
            .filter(|l| l.contains("fault injection totals"))
        {
            totals.sessions += 1;
            totals.duplicated += field(line, "duplicated");
            totals.reordered += field(line, "reordered");
        }
        if totals.sessions >= sessions {
            return totals;
        }
        assert!(
            Instant::now() < deadline,
            "the emulator logged the fault totals of {} of {sessions} sessions: {}",
            totals.sessions,
            log_tail(log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `name=N` in a log line.
fn field(line: &str, name: &str) -> u64 {
    let key = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&key))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

// ---- multiplexed mode ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mux_one_connection_to_the_instance() {
    run(Case {
        wire: Wire::Mux,
        destination: Destination::Instance,
        connections: 1,
        sessions: 1,
        faults: "dup=0.2,reorder=0.2,cut-every=5s,seed=11",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mux_one_connection_to_a_remote_host() {
    run(Case {
        wire: Wire::Mux,
        destination: Destination::RemoteHost,
        connections: 1,
        sessions: 1,
        faults: "dup=0.2,reorder=0.2,cut-every=5s,seed=12",
    })
    .await;
}

/// All 50 through one session: every cut stalls all of them until the agent's head-only
/// resend fills the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mux_fifty_connections_to_the_instance_through_one_session() {
    run(Case {
        wire: Wire::Mux,
        destination: Destination::Instance,
        connections: 50,
        sessions: 1,
        faults: "dup=0.2,reorder=0.2,cut-every=5s,seed=13",
    })
    .await;
}

/// Spread over four sessions, each cut on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mux_fifty_connections_to_a_remote_host_over_four_sessions() {
    run(Case {
        wire: Wire::Mux,
        destination: Destination::RemoteHost,
        connections: 50,
        sessions: 4,
        faults: "dup=0.2,reorder=0.2,cut-every=3s,seed=14",
    })
    .await;
}

// ---- basic mode ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_one_connection_to_the_instance() {
    run(Case {
        wire: Wire::Basic,
        destination: Destination::Instance,
        connections: 1,
        sessions: 1,
        faults: "dup=0.2,reorder=0.2,cut-every=5s,seed=21",
    })
    .await;
}

/// One session: the 50 connect at once and are carried one after another, as the AWS
/// plugin's basic mode carries them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_fifty_connections_to_the_instance_one_after_another() {
    run(Case {
        wire: Wire::Basic,
        destination: Destination::Instance,
        connections: 50,
        sessions: 1,
        faults: "dup=0.2,reorder=0.2,cut-every=5s,seed=23",
    })
    .await;
}

/// Over four sessions: four connections at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_fifty_connections_to_the_instance_over_four_sessions() {
    run(Case {
        wire: Wire::Basic,
        destination: Destination::Instance,
        connections: 50,
        sessions: 4,
        faults: "dup=0.2,reorder=0.2,cut-every=3s,seed=24",
    })
    .await;
}
