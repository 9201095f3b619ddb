//! `gangway forward` against the emulator: a TCP echo server "on" the instance (the fleet
//! file maps its port), 32 MiB each way byte-exact through one connection and through 50 at
//! once (mux mode), a tunnel to a host behind the instance, a websocket cut survived with
//! the TCP connections kept, and a tunnel re-established after the service ended it.

use crate::support::aws_clients::ADMIN;
use crate::support::emulator::spawn;
use crate::support::forward::{
    EchoServer, Forward, INSTANCE, INSTANCE_NAME, echo_round_trip, fleet_file,
    fleet_file_with_agent, ping,
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
    // Ctrl-C ended every session it opened (flag, then TerminateSession), not only the
    // local process.
    let ssm = crate::support::aws_clients::ssm_at(&emulator.endpoint, ADMIN);
    let active = ssm
        .describe_sessions()
        .state(aws_sdk_ssm::types::SessionState::Active)
        .send()
        .await
        .unwrap();
    let left: Vec<_> = active
        .sessions()
        .iter()
        .filter_map(|session| session.session_id())
        .filter(|id| sessions.contains(*id))
        .collect();
    assert!(left.is_empty(), "still active after Ctrl-C: {left:?}");
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
    // The agent's real pace: it decides how much is in flight when a cut loses it, and the
    // real agent resends only its oldest unacknowledged frame per 100 ms (§5.3, §7.4), so
    // megabytes lost in a cut (pace off) take minutes to come back, on AWS as here.
    let emulator = emulator(
        &echo,
        &["--faults", "dup=0.2,reorder=0.2,cut-every=2s,seed=9"],
    );
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5432"]);
    let local = forward.listening().await;
    // Several connections open across the cuts (about 5 s of transfer at the agent's pace
    // with cuts every 2 s); each must come back whole.
    let round_trips: Vec<_> = (0..4u8)
        .map(|seed| tokio::spawn(echo_round_trip(local, 1 << 20, seed)))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_agent_gets_basic_mode_one_connection_after_another() {
    let echo = EchoServer::start().await;
    // 3.0.196.0 is not above the plugin's threshold: no mux on either side (§6.4).
    let fleet = fleet_file_with_agent(&[(REMOTE_PORT, echo.addr)], &[], Some("3.0.196.0"));
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap(), "--agent-pace", "off"]);
    let mut forward = Forward::spawn(&emulator.endpoint, INSTANCE, &["5432"]);
    let local = forward.listening().await;
    let (opened, _) = forward.until("session_opened").await;
    assert_eq!(opened["mode"], "basic", "{opened}");
    echo_round_trip(local, 8 << 20, 1).await;
    // The next connections take the same session in turn (DisconnectToPort, then the agent
    // dials again), also when they arrive together.
    let round_trips: Vec<_> = (2..5u8)
        .map(|seed| tokio::spawn(echo_round_trip(local, 256 << 10, seed)))
        .collect();
    for round_trip in round_trips {
        round_trip.await.unwrap();
    }
    let sessions = forward
        .drain()
        .into_iter()
        .filter(|event| event["event"] == "session_opened")
        .count();
    assert_eq!(sessions, 0, "basic mode needed another session");
    let (status, stderr) = forward.interrupt().await;
    assert_eq!(status, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_json_stdout_names_the_port_and_stderr_the_re_establishment() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let echo = EchoServer::start().await;
    let emulator = emulator(&echo, &["--idle-timeout", "2"]);
    let mut child = tokio::process::Command::new(crate::support::emulator::GANGWAY)
        .args(["forward", INSTANCE_NAME, "0:5432"])
        .envs(crate::support::cli::aws_env(
            &emulator.endpoint,
            crate::support::aws_clients::ADMIN,
        ))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(crate::support::PATIENCE, stdout.next_line())
        .await
        .expect("no Forwarding line")
        .unwrap()
        .unwrap();
    let rest = first.strip_prefix("Forwarding 127.0.0.1:").expect(&first);
    let (port, remote) = rest.split_once(" -> ").expect(&first);
    assert_eq!(remote, format!("{INSTANCE}:5432"));
    let local: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    ping(local).await;
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    tokio::time::timeout(crate::support::PATIENCE, async {
        while let Ok(Some(line)) = stderr.next_line().await {
            let done = line.contains("tunnel re-established");
            seen.push(line);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no re-establishment line: {seen:?}"));
    assert!(
        seen.iter()
            .any(|line| line.contains("ended") && line.contains("idle")),
        "{seen:?}"
    );
    ping(local).await;
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(crate::support::PATIENCE, child.wait())
        .await
        .expect("no exit on Ctrl-C")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
