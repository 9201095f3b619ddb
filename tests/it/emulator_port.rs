//! Port sessions in the emulator's agent (issue 12, protocol.md §6.3, §6.4): the port
//! documents, basic and multiplexed mode chosen from the client's version, the flags only
//! port sessions honour, the agent's read pace, and what a refused connection looks like.
//! The client is `support::port_client`, built from `gangway::proto` alone.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gangway::emulator::faults::FaultSpec;
use gangway::proto::{PayloadFlag, RequestedClientAction};
use serde_json::json;

use crate::support::PATIENCE;
use crate::support::aws_clients::{DEV, error_code, ssm};
use crate::support::port_client::{
    BASIC_CLIENT_VERSION, MUX_CLIENT_VERSION, MuxClient, closed_port, echo_server, open_port,
    port_emulator, port_emulator_with, source_server, talking_server, until_open,
};

const FORWARD: &str = "AWS-StartPortForwardingSession";
const REMOTE: &str = "AWS-StartPortForwardingSessionToRemoteHost";
const SSH: &str = "AWS-StartSSHSession";

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// The SessionType action of the agent's HandshakeRequest: the type and its Properties.
fn session_type(client: &crate::support::agent_client::Client) -> (String, serde_json::Value) {
    let request = client.handshake.as_ref().expect("a HandshakeRequest");
    let action = request
        .requested_client_actions
        .iter()
        .find(|a| a.action_type == RequestedClientAction::SESSION_TYPE)
        .expect("a SessionType action");
    (
        action
            .requested_session_type()
            .unwrap_or_default()
            .to_owned(),
        action.action_parameters["Properties"].clone(),
    )
}

#[tokio::test]
async fn basic_mode_echoes_4_mib_each_way_byte_exact() {
    let echo = echo_server().await;
    let (emulator, target) = port_emulator(&[(80, echo)], &[]).await;
    let mut client = open_port(
        &emulator,
        &target,
        FORWARD,
        &[("portNumber", "80")],
        BASIC_CLIENT_VERSION,
    )
    .await;
    until_open(&mut client).await;
    let (kind, properties) = session_type(&client);
    assert_eq!(kind, "Port");
    assert_eq!(
        properties,
        json!({"portNumber": "80", "type": "LocalPortForwarding", "localPortNumber": "0"})
    );
    let data = random_bytes(4 << 20, 1);
    client.send_paced(&data, 512).await;
    client
        .pump_until(PATIENCE * 2, |c| c.stdout.len() >= data.len())
        .await;
    assert_eq!(client.stdout.len(), data.len());
    assert!(client.stdout == data, "the echo differs from what was sent");
    assert!(client.flags.is_empty(), "basic mode sends no flags");
}

#[tokio::test]
async fn the_ssh_document_reaches_port_22_and_ends_when_the_server_closes() {
    let ssh_server = talking_server(b"SSH-2.0-emulated\r\n").await;
    let (emulator, target) = port_emulator(&[(22, ssh_server)], &[]).await;
    // gangway's own version: no `type`, so basic whatever the version (§6.3).
    let mut client = open_port(&emulator, &target, SSH, &[], MUX_CLIENT_VERSION).await;
    until_open(&mut client).await;
    assert_eq!(session_type(&client).1, json!({"portNumber": "22"}));
    client.until_stdout_contains("SSH-2.0-emulated\r\n").await;
    client.send(b"\x00\x01\xffbinary bye");
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(client.stdout, b"SSH-2.0-emulated\r\n\x00\x01\xffbinary bye");
    // A normal end: the agent's SSH session returns success when the server closes.
    assert_eq!(output, "");
}

#[tokio::test]
async fn a_refused_connection_fails_the_basic_session_with_the_agent_s_words() {
    let (emulator, target) = port_emulator(&[(80, closed_port())], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], BASIC_CLIENT_VERSION).await;
    let output = client.until_closed(PATIENCE).await;
    assert!(
        output.starts_with("Unable to connect to specified port: dial tcp localhost:80: connect: connection refused"),
        "{output}"
    );
}

#[tokio::test]
async fn remote_hosts_come_from_the_fleet_and_unknown_ones_have_no_address() {
    let echo = echo_server().await;
    let (emulator, target) = port_emulator(&[], &[("db.internal:5432", echo)]).await;
    let parameters = [("host", "db.internal"), ("portNumber", "5432")];
    let mut client = open_port(
        &emulator,
        &target,
        REMOTE,
        &parameters,
        BASIC_CLIENT_VERSION,
    )
    .await;
    until_open(&mut client).await;
    assert_eq!(session_type(&client).1["host"], "db.internal");
    client.send(b"select 1;");
    client.until_stdout_contains("select 1;").await;

    let parameters = [("host", "nowhere.internal"), ("portNumber", "5432")];
    let mut client = open_port(
        &emulator,
        &target,
        REMOTE,
        &parameters,
        BASIC_CLIENT_VERSION,
    )
    .await;
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(
        output,
        "Unable to connect to specified port: missing address"
    );

    let parameters = [("host", "169.254.169.254"), ("portNumber", "80")];
    let mut client = open_port(
        &emulator,
        &target,
        REMOTE,
        &parameters,
        BASIC_CLIENT_VERSION,
    )
    .await;
    let output = client.until_closed(PATIENCE).await;
    assert_eq!(
        output,
        "Forwarding to IP address 169.254.169.254 is forbidden."
    );
}

#[tokio::test]
async fn disconnect_to_port_closes_and_the_next_output_dials_again() {
    let server = talking_server(b"hello\n").await;
    let (emulator, target) = port_emulator(&[(80, server)], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], BASIC_CLIENT_VERSION).await;
    client.until_stdout_contains("hello\n").await;
    client.send(b"one;");
    client.until_stdout_contains("hello\none;").await;
    client
        .session
        .send_flag(Instant::now(), PayloadFlag::DisconnectToPort)
        .unwrap();
    client.send(b"two;");
    // A new connection: its greeting, then what was sent.
    client.until_stdout_contains("hello\none;hello\ntwo;").await;
}

#[tokio::test]
async fn terminate_session_flag_ends_a_port_session() {
    let echo = echo_server().await;
    let (emulator, target) = port_emulator(&[(80, echo)], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], BASIC_CLIENT_VERSION).await;
    client.send(b"ping");
    client.until_stdout_contains("ping").await;
    client
        .session
        .send_flag(Instant::now(), PayloadFlag::TerminateSession)
        .unwrap();
    assert_eq!(client.until_closed(PATIENCE).await, "");
}

/// §0 item 16: the agent reads at most 1024 bytes, sends them, and pauses 1 ms, so 2 MiB
/// from the destination come as at least 2048 payloads over at least 2047 ms.
#[tokio::test]
async fn downloads_come_at_the_agent_s_pace() {
    const SIZE: usize = 2 << 20;
    let source = source_server(random_bytes(SIZE, 7)).await;
    let (emulator, target) = port_emulator(&[(80, source)], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], BASIC_CLIENT_VERSION).await;
    client.pump_until(PATIENCE, |c| !c.stdout.is_empty()).await;
    let first = Instant::now();
    let payloads_before = client.payloads;
    let bytes_before = client.stdout.len();
    client
        .pump_until(PATIENCE, |c| c.stdout.len() >= SIZE)
        .await;
    let elapsed = first.elapsed();
    let payloads = client.payloads - payloads_before;
    let bytes = client.stdout.len() - bytes_before;
    assert!(
        payloads as usize >= bytes.div_ceil(1024),
        "{payloads} payloads for {bytes} bytes: more than 1024 in one"
    );
    // Each payload after the first waited at least the agent's 1 ms pause.
    assert!(
        elapsed >= Duration::from_millis(payloads - 1),
        "{bytes} bytes in {payloads} payloads took {elapsed:?}: faster than the agent's pace"
    );
    let rate = bytes as f64 / elapsed.as_secs_f64() / 1_048_576.0;
    eprintln!(
        "basic download: {bytes} bytes in {elapsed:?} = {rate:.2} MiB/s ({payloads} payloads)"
    );
}

#[tokio::test]
async fn port_documents_exist_with_their_parameters_and_values_are_checked() {
    let (emulator, target) = port_emulator(&[], &[]).await;
    let dev = ssm(&emulator, DEV);
    for name in [
        FORWARD,
        REMOTE,
        SSH,
        "AWS-StartPortForwardingSessionToSocket",
    ] {
        let described = dev.describe_document().name(name).send().await.unwrap();
        let document = described.document().unwrap();
        assert_eq!(document.owner(), Some("Amazon"), "{name}");
        let parameters: Vec<&str> = document
            .parameters()
            .iter()
            .filter_map(|p| p.name())
            .collect();
        assert!(parameters.contains(&"portNumber"), "{name}: {parameters:?}");
        let content = dev.get_document().name(name).send().await.unwrap();
        let content: serde_json::Value = serde_json::from_str(content.content().unwrap()).unwrap();
        assert_eq!(content["sessionType"], "Port", "{name}");
    }
    let ssh_doc = dev.describe_document().name(SSH).send().await.unwrap();
    let port = &ssh_doc.document().unwrap().parameters()[0];
    assert_eq!(port.default_value(), Some("22"));
    let listed = dev.list_documents().send().await.unwrap();
    let names: Vec<&str> = listed
        .document_identifiers()
        .iter()
        .filter_map(|d| d.name())
        .collect();
    for name in [FORWARD, REMOTE, SSH] {
        assert!(names.contains(&name), "{names:?}");
    }
    let refused = dev
        .start_session()
        .target(&target)
        .document_name(FORWARD)
        .parameters("portNumber", vec!["99999".into()])
        .send()
        .await;
    assert_eq!(error_code(refused), "InvalidParameters");
    let missing_host = dev
        .start_session()
        .target(&target)
        .document_name(REMOTE)
        .send()
        .await;
    assert_eq!(error_code(missing_host), "InvalidParameters");
}

#[tokio::test]
async fn mux_mode_carries_20_concurrent_streams_byte_exact() {
    const STREAMS: usize = 20;
    const EACH: usize = 128 * 1024;
    let echo = echo_server().await;
    let (emulator, target) = port_emulator(&[(80, echo)], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], MUX_CLIENT_VERSION).await;
    until_open(&mut client).await;
    let mut mux = MuxClient::new(client);
    let mut sent = HashMap::new();
    for index in 0..STREAMS {
        let id = mux.mux.open_stream().unwrap();
        let data = random_bytes(EACH, 100 + index as u64);
        mux.mux.send(id, &data).unwrap();
        sent.insert(id, data);
    }
    let started = Instant::now();
    mux.until(PATIENCE * 2, |m| {
        sent.keys()
            .all(|id| m.received.get(id).is_some_and(|r| r.len() >= EACH))
    })
    .await;
    let elapsed = started.elapsed();
    for (id, data) in &sent {
        assert!(mux.received[id] == *data, "stream {id:?} differs");
    }
    // The pace: no payload over 1024 bytes (smux headers included).
    let down = mux.client.received_bytes;
    assert!(
        mux.client.payloads >= down.div_ceil(1024),
        "{} payloads for {down} bytes",
        mux.client.payloads
    );
    eprintln!(
        "mux: {STREAMS} streams x {EACH} bytes echoed in {elapsed:?} ({:.2} MiB/s down)",
        down as f64 / elapsed.as_secs_f64() / 1_048_576.0
    );
    // Closing a stream: the agent writes what it got, closes TCP and finishes the stream.
    for id in sent.keys() {
        mux.mux.close_write(*id).unwrap();
    }
    mux.until(PATIENCE, |m| sent.keys().all(|id| m.finished.contains(id)))
        .await;
    assert!(mux.client.flags.is_empty());
}

#[tokio::test]
async fn a_refused_mux_stream_gets_connect_to_port_error_and_the_session_stays_up() {
    let (emulator, target) = port_emulator(&[(80, closed_port())], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], MUX_CLIENT_VERSION).await;
    until_open(&mut client).await;
    let mut mux = MuxClient::new(client);
    for _ in 0..2 {
        let id = mux.mux.open_stream().unwrap();
        mux.mux.send(id, b"GET / HTTP/1.0\r\n\r\n").unwrap();
        mux.until(PATIENCE, |m| m.finished.contains(&id)).await;
    }
    assert_eq!(
        mux.client.flags,
        [
            PayloadFlag::ConnectToPortError,
            PayloadFlag::ConnectToPortError
        ]
    );
    assert!(mux.received.values().all(Vec::is_empty));
    // Still up: it ends when the client says so.
    mux.client
        .session
        .send_flag(Instant::now(), PayloadFlag::TerminateSession)
        .unwrap();
    assert_eq!(mux.client.until_closed(PATIENCE).await, "");
}

/// ClientVersion 1.2.0.0 (a source build of the plugin) still gets mux, but with the agent's
/// smux keepalive on (≤ 1.2.331.0): a NOP every 10 s (§4.4.1, §6.4).
#[tokio::test]
async fn an_old_client_version_gets_mux_with_the_agent_s_keepalive() {
    let echo = echo_server().await;
    let (emulator, target) = port_emulator(&[(80, echo)], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], "1.2.0.0").await;
    until_open(&mut client).await;
    let mut mux = MuxClient::new(client);
    let id = mux.mux.open_stream().unwrap();
    mux.mux.send(id, b"ping").unwrap();
    mux.until(PATIENCE, |m| {
        m.received.get(&id).is_some_and(|r| r == b"ping")
    })
    .await;
    let frames = mux.mux.stats().frames_received;
    mux.until(PATIENCE, |m| m.mux.stats().frames_received > frames)
        .await;
    assert_eq!(mux.received[&id], b"ping", "only a NOP came, no data");
}

/// The agent's port plugin outlives websockets: with the socket cut twice mid-transfer and
/// frames duplicated and reordered after each resume, every stream's TCP connection survives,
/// byte-exact. Each cut loses what is in flight, which the agent resends one frame per
/// 100 ms tick (§7.4), and the agent has no send window: a client that falls behind on a
/// loaded machine has up to everything in flight. (It moved 8 × 192 KiB with
/// `cut-every=500ms`: 2-9 s when idle, over its 180 s limit at load 20-40 in a full run.
/// 8 × 32 KiB and two cuts bound the resends on any machine; volume is
/// `mux_mode_carries_20_concurrent_streams_byte_exact`'s job.)
#[tokio::test]
async fn mux_streams_survive_cuts_duplicates_and_reordering() {
    const STREAMS: usize = 8;
    const EACH: usize = 32 * 1024;
    let echo = echo_server().await;
    let faults = FaultSpec::parse("dup=0.2,reorder=0.2,seed=3").unwrap();
    let (emulator, target) =
        port_emulator_with(&[(80, echo)], &[], |config| config.faults = faults).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], MUX_CLIENT_VERSION).await;
    until_open(&mut client).await;
    let mut mux = MuxClient::new(client);
    let mut sent = HashMap::new();
    for index in 0..STREAMS {
        let id = mux.mux.open_stream().unwrap();
        let data = random_bytes(EACH, 300 + index as u64);
        mux.mux.send(id, &data).unwrap();
        sent.insert(id, data);
    }
    let total = STREAMS * EACH;
    for cut_at in [total / 3, 2 * total / 3] {
        mux.until(PATIENCE * 3, |m| {
            m.received.values().map(Vec::len).sum::<usize>() >= cut_at
        })
        .await;
        let resumes = mux.client.resumes;
        mux.client.cut();
        mux.until(PATIENCE, |m| m.client.resumes > resumes).await;
    }
    mux.until(PATIENCE * 3, |m| {
        sent.keys()
            .all(|id| m.received.get(id).is_some_and(|r| r.len() >= EACH))
    })
    .await;
    for (id, data) in &sent {
        assert!(mux.received[id] == *data, "stream {id:?} differs");
    }
    assert!(mux.client.resumes >= 2, "{} resumes", mux.client.resumes);
    // The 32 frames each way after a resume are each duplicated or held back with p = 0.2.
    let stats = mux.client.session.stats();
    assert!(
        stats.duplicates_received + stats.out_of_order_received > 0,
        "{stats:?}"
    );
}

/// More than 1,024 streams open at once in one session kill the mux (docs/emulator.md,
/// Limits): the session fails with the reason instead of holding a connection per stream.
#[tokio::test]
async fn too_many_mux_streams_fail_the_session() {
    let echo = echo_server().await;
    let (emulator, target) = port_emulator(&[(80, echo)], &[]).await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], MUX_CLIENT_VERSION).await;
    until_open(&mut client).await;
    let mut mux = MuxClient::new(client);
    for _ in 0..1025 {
        mux.mux.open_stream().unwrap();
    }
    let give_up = Instant::now() + PATIENCE;
    while mux.client.closed.is_none() {
        assert!(Instant::now() < give_up, "the session did not end");
        mux.step().await;
    }
    let output = mux.client.closed.as_ref().unwrap().output.clone();
    assert!(output.contains("more than 1024 streams"), "{output}");
}

/// An agent that advertises 3.0.196.0 or older predates mux (the plugin's threshold, §6.4):
/// it runs basic even for gangway's client version, so both sides agree on basic.
#[tokio::test]
async fn an_agent_older_than_mux_runs_basic_for_every_client() {
    let echo = echo_server().await;
    let (emulator, target) = port_emulator_with(&[(80, echo)], &[], |config| {
        config.fleet.instances[0].agent_version = "3.0.161.0".to_owned();
    })
    .await;
    let mut client = open_port(&emulator, &target, FORWARD, &[], MUX_CLIENT_VERSION).await;
    until_open(&mut client).await;
    assert_eq!(
        client.handshake.as_ref().unwrap().agent_version,
        "3.0.161.0"
    );
    // Raw bytes, no smux framing: basic mode.
    client.send(b"not an smux frame");
    client.until_stdout_contains("not an smux frame").await;
}

/// An agent from before the remote-host support (3.1.1188.0) reads no `host`: it connects
/// to the instance's own port of that number (plugins/port/port.go before it), which is why
/// gangway refuses `--host` for such an agent (forward_errors).
#[tokio::test]
async fn an_agent_older_than_remote_host_support_ignores_the_host() {
    let own = talking_server(b"the instance itself\n").await;
    let remote = talking_server(b"the remote host\n").await;
    let (emulator, target) =
        port_emulator_with(&[(5432, own)], &[("db.internal:5432", remote)], |config| {
            config.fleet.instances[0].agent_version = "3.0.196.0".to_owned();
        })
        .await;
    let parameters = [("host", "db.internal"), ("portNumber", "5432")];
    let mut client = open_port(
        &emulator,
        &target,
        REMOTE,
        &parameters,
        BASIC_CLIENT_VERSION,
    )
    .await;
    until_open(&mut client).await;
    client.send(b"hi");
    client.until_stdout_contains("the instance itself").await;
    assert!(!client.stdout_text().contains("the remote host"));
}
