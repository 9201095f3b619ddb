//! Client ↔ agent `Session` pairs on a virtual clock over simulated links (see support/pair.rs).

use std::time::Duration;

use gangway::proto::{
    Event, HandshakeComplete, HandshakeRequest, PayloadFlag, PayloadType, RequestedClientAction,
    SendError, SessionConfig, TerminalSize,
};

use crate::support::pair::{Link, LinkConfig, Pair};

const MIB: usize = 1 << 20;

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ salt)
        .collect()
}

/// Both sides exchange `len` bytes; returns the pair once everything arrived and was acked.
fn exchange(link: LinkConfig, seed: u64, len: usize) -> Pair {
    let mut pair = Pair::new(link, seed);
    pair.client.outbox = pattern(len, 0x5A);
    pair.agent.outbox = pattern(len, 0xA5);
    pair.run_until(5_000_000, |p| {
        p.client.received.len() == len
            && p.agent.received.len() == len
            && p.client.session.unacked_count() == 0
            && p.agent.session.unacked_count() == 0
    });
    assert_eq!(
        pair.client.received, pair.agent.outbox,
        "agent → client bytes differ"
    );
    assert_eq!(
        pair.agent.received, pair.client.outbox,
        "client → agent bytes differ"
    );
    pair
}

#[test]
fn one_mib_each_way_over_lossy_links() {
    for (loss, seed) in [(0.0, 1), (0.05, 2), (0.10, 3), (0.20, 4)] {
        let pair = exchange(LinkConfig::lossy(loss), seed, MIB);
        let (client, agent) = (pair.client.session.stats(), pair.agent.session.stats());
        let retransmissions = client.retransmissions + agent.retransmissions;
        let lost = pair.to_agent.frames_lost + pair.to_client.frames_lost;
        println!(
            "loss {:>4.0}%: {} virtual ms, lost frames {lost}, retransmissions client {} agent {} \
             (first sends {} / {}), duplicates seen {} / {}, out of order {} / {}, rto {:?}",
            loss * 100.0,
            pair.elapsed().as_millis(),
            client.retransmissions,
            agent.retransmissions,
            client.stream_frames_sent,
            agent.stream_frames_sent,
            client.duplicates_received,
            agent.duplicates_received,
            client.out_of_order_received,
            agent.out_of_order_received,
            pair.agent.session.rto(),
        );
        // Every lost data frame costs at least one retransmission and every lost ack at most
        // one spurious one; allow for repeats of repeats and for jitter-induced early timers.
        assert!(
            retransmissions <= 3 * lost + 50,
            "{retransmissions} retransmissions for {lost} lost"
        );
        if loss == 0.0 {
            assert_eq!(retransmissions, 0);
        }
        assert_eq!(client.malformed_dropped + agent.malformed_dropped, 0);
    }
}

/// Quirk 9: in a shell session without handshake the client sends nothing, not even Size,
/// until the agent's first output; what it accepted meanwhile goes out afterwards, in order.
#[test]
fn client_holds_everything_until_the_first_output() {
    let mut pair = Pair::new(LinkConfig::clean(), 7);
    let now = pair.now;
    pair.client
        .session
        .send_size(now, TerminalSize { cols: 80, rows: 24 })
        .unwrap();
    pair.client.outbox = b"echo hi\r".to_vec();
    for _ in 0..10 {
        pair.step();
    }
    assert_eq!(
        pair.to_agent.frames_carried, 0,
        "the client sent before the session opened"
    );
    assert!(!pair.client.session.is_open());
    assert_eq!(
        pair.client.session.unacked_count(),
        2,
        "size + input are held"
    );

    pair.agent.outbox = b"PROMPT$ ".to_vec();
    pair.run_until(1000, |p| {
        p.agent.received == b"echo hi\r" && p.client.received == b"PROMPT$ "
    });
    assert!(pair.client.session.is_open() && pair.agent.session.is_open());
    assert_eq!(pair.client.events[0], Event::Opened { handshake: false });
    assert_eq!(pair.agent.events[0], Event::Opened { handshake: false });
    assert!(
        pair.agent
            .events
            .contains(&Event::Resize(TerminalSize { cols: 80, rows: 24 }))
    );
}

/// The outgoing buffer never evicts: when it is full `send_data` accepts less (or nothing),
/// and everything accepted still arrives, even across a dead link.
#[test]
fn backpressure_instead_of_eviction() {
    let mut client = SessionConfig::client("sid-bp");
    client.outgoing_capacity = 8;
    client.max_payload_bytes = 100;
    let mut pair = Pair::with_configs(
        client,
        SessionConfig::agent("sid-bp"),
        LinkConfig::clean(),
        9,
    );
    pair.agent.outbox = b"$ ".to_vec();
    pair.run_until(100, |p| p.client.session.is_open());
    let now = pair.now;
    let data = pattern(5000, 1);
    let accepted = pair.client.session.send_data(now, &data);
    assert_eq!(accepted, 800);
    assert_eq!(pair.client.session.send_capacity_bytes(), 0);
    assert_eq!(pair.client.session.send_data(now, &data[accepted..]), 0);
    assert_eq!(
        pair.client
            .session
            .send_flag(now, PayloadFlag::TerminateSession),
        Err(SendError::BufferFull)
    );

    // Kill the link for a while: the client retransmits (bounded) but keeps every byte.
    pair.to_agent.down = true;
    let before = pair.now;
    pair.client.outbox = data[accepted..].to_vec();
    pair.run_until(100_000, |p| {
        p.elapsed() > before.duration_since(p.start) + Duration::from_secs(10)
    });
    assert_eq!(pair.client.session.unacked_count(), 8);
    let retransmissions = pair.client.session.stats().retransmissions;
    // 8 messages, each at most once per backed-off RTO (≥ 200 ms doubling to 1 s) for 10 s.
    assert!(
        retransmissions <= 8 * 14,
        "{retransmissions} retransmissions in 10 s to a dead link"
    );

    pair.to_agent.down = false;
    let now = pair.now;
    pair.client.session.handle_reconnect(now);
    pair.run_until(100_000, |p| {
        p.agent.received.len() == 5000 && p.client.session.unacked_count() == 0
    });
    assert_eq!(pair.agent.received, data);
}

/// NonInteractiveCommands-style: handshake request/response/complete, then stdout, stderr,
/// exit code and channel_closed (§4.2, §6.2.1).
#[test]
fn handshake_then_command_output_then_close() {
    let mut pair = Pair::new(LinkConfig::lossy(0.1), 11);
    let now = pair.now;
    let request = HandshakeRequest {
        agent_version: "3.3.0.0".into(),
        requested_client_actions: vec![RequestedClientAction::session_type(
            "NonInteractiveCommands",
            serde_json::Value::Null,
        )],
    };
    pair.agent
        .session
        .start_handshake(now, request.clone())
        .unwrap();
    // Output written before the handshake completes is held, not sent early.
    assert_eq!(pair.agent.session.send_data(now, b"early"), 5);
    pair.client.outbox = b"typed too soon".to_vec();
    pair.run_until(100_000, |p| {
        p.agent
            .events
            .iter()
            .any(|e| matches!(e, Event::HandshakeResponded(_)))
    });
    assert_eq!(pair.agent.events[0], Event::Opened { handshake: true });
    let Some(Event::HandshakeResponded(response)) = pair.agent.events.get(1) else {
        panic!()
    };
    assert!(response.all_succeeded());
    assert_eq!(response.client_version, gangway::proto::CLIENT_VERSION);
    assert!(
        pair.client
            .events
            .contains(&Event::HandshakeRequested(request))
    );
    assert!(!pair.client.session.is_open());

    let now = pair.now;
    let complete = HandshakeComplete {
        handshake_time_to_complete: 1_500_000,
        customer_message: "hello".into(),
    };
    pair.agent
        .session
        .complete_handshake(now, complete.clone())
        .unwrap();
    pair.agent.session.send_stderr(now, b"warning\n");
    pair.agent.session.send_exit_code(now, 3).unwrap();
    pair.run_until(100_000, |p| {
        p.agent.session.unacked_count() == 0 && p.client.session.unacked_count() == 0
    });
    assert_eq!(pair.client.events[1], Event::Opened { handshake: true });
    assert_eq!(pair.client.events[2], Event::HandshakeCompleted(complete));
    assert_eq!(pair.client.received, b"early");
    assert_eq!(
        pair.client.events[3],
        Event::Data {
            payload_type: PayloadType::StdErr,
            bytes: b"warning\n".to_vec()
        }
    );
    assert_eq!(pair.client.events[4], Event::ExitCode(3));
    assert_eq!(
        pair.agent.received, b"typed too soon",
        "held input goes after the handshake"
    );

    let now = pair.now;
    pair.agent.session.close(now, "");
    assert!(pair.agent.session.is_closed());
    pair.to_client = Link::new(LinkConfig::clean(), 1);
    pair.run_until(1000, |p| p.client.session.is_closed());
    let Some(Event::ChannelClosed(closed)) = pair.client.events.last() else {
        panic!()
    };
    assert_eq!(closed.session_id, "sid-test");
    assert_eq!(closed.output, "");
    assert_eq!(pair.client.session.send_data(pair.now, b"x"), 0);
    assert_eq!(pair.client.session.poll_timeout(), None);
}

/// Role checks and handshake ordering are enforced.
#[test]
fn commands_check_role_and_order() {
    let mut pair = Pair::new(LinkConfig::clean(), 13);
    let now = pair.now;
    let complete = HandshakeComplete {
        handshake_time_to_complete: 0,
        customer_message: String::new(),
    };
    assert_eq!(
        pair.client.session.send_exit_code(now, 0),
        Err(SendError::WrongRole)
    );
    assert_eq!(
        pair.agent
            .session
            .send_size(now, TerminalSize { cols: 1, rows: 1 }),
        Err(SendError::WrongRole)
    );
    assert!(matches!(
        pair.agent.session.complete_handshake(now, complete),
        Err(SendError::HandshakeState(_))
    ));
    pair.agent.session.send_data(now, b"$ ");
    let request = HandshakeRequest {
        agent_version: "3.3.0.0".into(),
        requested_client_actions: vec![],
    };
    assert!(matches!(
        pair.agent.session.start_handshake(now, request),
        Err(SendError::HandshakeState(_))
    ));
}

/// Selective acks around a lost message must not let the sender run further ahead than the
/// peer can reorder: with equal small windows and heavy loss nothing overflows, so nothing is
/// dropped unacked and retransmissions stay proportional to loss.
#[test]
fn sender_window_never_overflows_the_peer_reorder_buffer() {
    let mut client = SessionConfig::client("sid-w");
    let mut agent = SessionConfig::agent("sid-w");
    for (outgoing, incoming) in [
        (&mut client.outgoing_capacity, &mut client.incoming_capacity),
        (&mut agent.outgoing_capacity, &mut agent.incoming_capacity),
    ] {
        *outgoing = 32;
        *incoming = 32;
    }
    let mut pair = Pair::with_configs(client, agent, LinkConfig::lossy(0.2), 21);
    pair.client.outbox = pattern(MIB, 3);
    pair.agent.outbox = pattern(MIB, 4);
    pair.run_until(5_000_000, |p| {
        p.client.received.len() == MIB && p.agent.received.len() == MIB
    });
    assert_eq!(pair.client.received, pair.agent.outbox);
    assert_eq!(pair.agent.received, pair.client.outbox);
    let (client, agent) = (pair.client.session.stats(), pair.agent.session.stats());
    assert_eq!(
        client.reorder_overflow_dropped + agent.reorder_overflow_dropped,
        0
    );
    let lost = pair.to_agent.frames_lost + pair.to_client.frames_lost;
    let retransmissions = client.retransmissions + agent.retransmissions;
    println!("window 32, 20% loss: lost {lost}, retransmissions {retransmissions}");
    assert!(
        retransmissions <= 3 * lost + 50,
        "{retransmissions} retransmissions for {lost} lost"
    );
}

/// Quirk 6 and §7.2: the client's acks are lost while the link is dying, the link comes back
/// (resume), the agent retransmits what it thinks is unacked, and the client re-acks the
/// duplicates, so the agent's buffer drains instead of retransmitting forever.
#[test]
fn lost_acks_across_a_resume_are_recovered_by_re_acking_duplicates() {
    let mut pair = Pair::new(LinkConfig::clean(), 17);
    pair.agent.outbox = pattern(256 * 1024, 9);
    pair.to_agent.down = true;
    let cut = pair.now;
    pair.run_until(100_000, |p| p.now >= cut + Duration::from_secs(3));
    assert_eq!(
        pair.client.received, pair.agent.outbox,
        "data got through, only acks were lost"
    );
    let stuck = pair.agent.session.unacked_count();
    assert!(stuck > 0);
    let outage_retransmissions = pair.agent.session.stats().retransmissions;
    // Each stuck message at most once per backed-off RTO (≤ 1 s apart after the first few).
    assert!(
        outage_retransmissions <= stuck as u64 * 6,
        "{outage_retransmissions} for {stuck}"
    );

    pair.to_agent.down = false;
    let now = pair.now;
    pair.agent.session.handle_reconnect(now);
    pair.client.session.handle_reconnect(now);
    pair.run_until(100_000, |p| p.agent.session.unacked_count() == 0);
    assert!(pair.client.session.stats().duplicates_received >= stuck as u64);
    assert_eq!(
        pair.client.received, pair.agent.outbox,
        "duplicates were not delivered twice"
    );
}
