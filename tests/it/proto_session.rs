//! One `Session` at a time, fed hand-made frames: the exact bytes it writes, its timers,
//! retransmission bursts and reconnects (protocol.md §2, §3, §5.3, §7.2); and how it reacts to
//! duplicates, reordering, malformed and unknown input, channel_closed and handshake requests
//! (§3, §4, §5.2, §9).

use std::time::{Duration, Instant};

use gangway::proto::*;

use crate::support::frames::*;

#[test]
fn agent_output_has_syn_on_seq_0_and_a_created_date_from_the_parameters() {
    let start = Instant::now();
    let mut agent = agent(start);
    let later = start + Duration::from_millis(1234);
    agent.send_data(later, b"one");
    agent.send_data(later, b"two");
    let frames = transmitted(&mut agent, later);
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].sequence, frames[0].flags), (0, FLAG_SYN));
    assert_eq!((frames[1].sequence, frames[1].flags), (1, 0));
    assert_eq!(frames[0].message_type, MessageType::OutputStreamData);
    assert_eq!(frames[0].created_ms, UNIX_MS + 1234);
    assert_eq!(frames[0].schema_version, 1);
}

#[test]
fn client_acks_like_the_reference_and_its_input_has_no_flags() {
    let now = Instant::now();
    let mut client = client(now);
    let first = output(0, b"PROMPT$ ");
    client.handle_frame(now, &first);
    assert_eq!(client.send_data(now, b"ls\r"), 3);
    let frames = transmitted(&mut client, now);
    let ack = &frames[0];
    assert_eq!(ack.message_type, MessageType::Acknowledge);
    assert_eq!(
        (ack.sequence, ack.flags, ack.payload_type),
        (0, FLAG_SYN | FLAG_FIN, PayloadType::Null)
    );
    let content = Acknowledge::from_json(&ack.payload).unwrap();
    assert_eq!(content.acknowledged_message_type, "output_stream_data");
    assert_eq!(
        content.acknowledged_message_id,
        Frame::decode(&first).unwrap().message_id.to_string()
    );
    assert!(content.is_sequential_message);
    let data = &frames[1];
    assert_eq!(
        (data.message_type.clone(), data.sequence, data.flags),
        (MessageType::InputStreamData, 0, 0)
    );
    assert_eq!(data.payload, b"ls\r");
}

#[test]
fn timers_back_off_per_message_and_karn_skips_retransmitted_samples() {
    let start = Instant::now();
    let mut agent = agent(start);
    agent.send_data(start, b"x");
    assert_eq!(transmitted(&mut agent, start).len(), 1);
    let mut expected_due = start + Duration::from_millis(200);
    for backoff_ms in [400, 800, 1000, 1000] {
        assert_eq!(agent.poll_timeout(), Some(expected_due));
        agent.handle_timeout(expected_due - Duration::from_millis(1));
        assert!(
            transmitted(&mut agent, expected_due).is_empty(),
            "too early"
        );
        agent.handle_timeout(expected_due);
        assert_eq!(transmitted(&mut agent, expected_due).len(), 1);
        expected_due += Duration::from_millis(backoff_ms);
    }
    assert_eq!(agent.stats().retransmissions, 4);
    agent.handle_frame(expected_due, &ack_for(0));
    assert_eq!(agent.unacked_count(), 0);
    assert_eq!(
        agent.stats().rtt_samples,
        0,
        "no sample from a retransmitted message"
    );
    assert_eq!(agent.poll_timeout(), None);
    agent.handle_frame(expected_due, &ack_for(0));
    assert_eq!(agent.stats().stale_acks_received, 1);
}

#[test]
fn retransmissions_come_in_bounded_paced_bursts() {
    let start = Instant::now();
    let mut agent = agent(start);
    let data = vec![7u8; 200 * 1024];
    assert_eq!(agent.send_data(start, &data), data.len());
    assert_eq!(transmitted(&mut agent, start).len(), 200);
    // A selective ack in the middle removes just that one.
    agent.handle_frame(start + Duration::from_millis(5), &ack_for(100));
    assert_eq!(agent.unacked_count(), 199);
    assert_eq!(agent.stats().rtt_samples, 1);

    let due = agent.poll_timeout().unwrap();
    agent.handle_timeout(due);
    assert_eq!(transmitted(&mut agent, due).len(), 64);
    let next = agent.poll_timeout().unwrap();
    assert_eq!(
        next,
        due + Duration::from_millis(10),
        "the next burst is paced"
    );
    agent.handle_timeout(due + Duration::from_millis(1));
    assert!(transmitted(&mut agent, due).is_empty());
    agent.handle_timeout(next);
    let burst: Vec<i64> = transmitted(&mut agent, next)
        .iter()
        .map(|f| f.sequence)
        .collect();
    assert_eq!(burst.len(), 64);
    assert_eq!(burst[0], 64, "oldest first");
    assert!(!burst.contains(&100));
}

#[test]
fn reconnect_makes_every_unacked_frame_due_now() {
    let start = Instant::now();
    let mut client = client(start);
    client.handle_frame(start, &output(0, b"$ "));
    client.send_data(start, b"abc");
    transmitted(&mut client, start);
    let reconnected = start + Duration::from_millis(20);
    client.handle_reconnect(reconnected);
    assert_eq!(client.poll_timeout(), Some(reconnected));
    client.handle_timeout(reconnected);
    let again = transmitted(&mut client, reconnected);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].payload, b"abc");
}

#[test]
fn debug_output_is_a_summary_without_payload_bytes() {
    let now = Instant::now();
    let mut client = client(now);
    client.handle_frame(now, &output(0, b"secret-looking output"));
    client.send_data(now, b"typed password");
    let text = format!("{client:?}");
    assert!(
        text.contains("Client") && text.contains("expected_in_seq: 1"),
        "{text}"
    );
    assert!(
        !text.contains("password") && !text.contains("secret"),
        "{text}"
    );
}

#[test]
fn duplicates_are_reacked_but_delivered_once_in_both_roles() {
    let now = Instant::now();
    let mut client = client(now);
    let mut agent = agent(now);
    for _ in 0..3 {
        client.handle_frame(now, &output(0, b"a"));
        agent.handle_frame(now, &input(0, b"b"));
    }
    for session in [&mut client, &mut agent] {
        assert_eq!(acked_sequences(&transmitted(session, now)), vec![0, 0, 0]);
        let data: Vec<Event> = events(session)
            .into_iter()
            .filter(|e| matches!(e, Event::Data { .. }))
            .collect();
        assert_eq!(data.len(), 1);
        assert_eq!(session.stats().duplicates_received, 2);
    }
}

#[test]
fn ahead_of_order_frames_are_acked_held_and_delivered_in_order() {
    let now = Instant::now();
    let mut client = client(now);
    client.handle_frame(now, &output(2, b"c"));
    client.handle_frame(now, &output(1, b"b"));
    client.handle_frame(now, &output(2, b"c"));
    assert!(events(&mut client).is_empty());
    client.handle_frame(now, &output(0, b"a"));
    assert_eq!(
        acked_sequences(&transmitted(&mut client, now)),
        vec![2, 1, 2, 0]
    );
    assert_eq!(delivered_bytes(&mut client), b"abc");
    assert_eq!(client.stats().out_of_order_received, 2);
    assert_eq!(client.reorder_buffer_len(), 0);
}

#[test]
fn a_full_reorder_buffer_drops_without_acking() {
    let now = Instant::now();
    let mut config = SessionConfig::client("sid-1");
    config.incoming_capacity = 1;
    let mut client = Session::new(config, Box::new(SeededIds::new(1)), now, UNIX_MS);
    client.handle_frame(now, &output(2, b"c"));
    client.handle_frame(now, &output(3, b"d"));
    assert_eq!(acked_sequences(&transmitted(&mut client, now)), vec![2]);
    assert_eq!(client.stats().reorder_overflow_dropped, 1);
}

#[test]
fn malformed_frames_are_counted_never_acked_never_delivered() {
    let now = Instant::now();
    let mut client = client(now);
    let mut corrupt = output(0, b"hello");
    *corrupt.last_mut().unwrap() ^= 0x20;
    client.handle_frame(now, &corrupt);
    client.handle_frame(now, &corrupt[..50]);
    client.handle_frame(now, b"");
    let mut bad_ack = ack_for(0);
    bad_ack.truncate(bad_ack.len() - 1);
    client.handle_frame(now, &bad_ack);
    assert_eq!(client.stats().malformed_dropped, 4);
    assert!(transmitted(&mut client, now).is_empty());
    assert!(events(&mut client).is_empty());
    // The intact frame is still accepted afterwards: nothing was lost.
    client.handle_frame(now, &output(0, b"hello"));
    assert_eq!(acked_sequences(&transmitted(&mut client, now)), vec![0]);
}

#[test]
fn unknown_and_misdirected_messages_are_ignored() {
    let now = Instant::now();
    let mut client = client(now);
    client.handle_frame(
        now,
        &stream(
            MessageType::parse("interactive_shell"),
            0,
            PayloadType::Output,
            b"x",
        ),
    );
    client.handle_frame(
        now,
        &stream(MessageType::AgentSessionState, 0, PayloadType::Null, b""),
    );
    client.handle_frame(now, &input(0, b"from myself?"));
    client.handle_frame(
        now,
        &stream(
            MessageType::OutputStreamData,
            0,
            PayloadType::Unknown(99),
            b"?",
        ),
    );
    assert_eq!(client.stats().ignored, 4);
    assert_eq!(
        acked_sequences(&transmitted(&mut client, now)),
        vec![0],
        "only the stream frame is acked"
    );
    assert!(events(&mut client).is_empty());
}

#[test]
fn channel_closed_ends_the_session() {
    let now = Instant::now();
    let mut client = client(now);
    client.handle_frame(now, &output(0, b"$ "));
    client.send_data(now, b"pending");
    let closed = ChannelClosed {
        output: "Session terminated".into(),
        ..ChannelClosed::default()
    };
    let mut frame = Frame::decode(&output(0, b"x")).unwrap();
    frame.message_type = MessageType::ChannelClosed;
    frame.payload = closed.to_json();
    client.handle_frame(now, &frame.encode());
    assert!(client.is_closed());
    assert!(events(&mut client).contains(&Event::ChannelClosed(closed)));
    assert_eq!(client.poll_timeout(), None);
    assert_eq!(client.unacked_count(), 0);
    client.handle_frame(now, &output(1, b"late"));
    assert!(events(&mut client).is_empty());
}

#[test]
fn client_answers_the_handshake_after_acking_it() {
    let now = Instant::now();
    let mut client = client(now);
    let request = HandshakeRequest {
        agent_version: "3.3.0.0".into(),
        requested_client_actions: vec![
            RequestedClientAction::session_type("Port", serde_json::json!({"portNumber": "80"})),
            RequestedClientAction {
                action_type: "KMSEncryption".into(),
                action_parameters: serde_json::json!({"KMSKeyId": "arn:aws:kms:xx"}),
            },
            RequestedClientAction {
                action_type: "Teleport".into(),
                action_parameters: serde_json::Value::Null,
            },
        ],
    };
    let bytes = stream(
        MessageType::OutputStreamData,
        0,
        PayloadType::HandshakeRequest,
        &request.to_json(),
    );
    client.handle_frame(now, &bytes);
    let frames = transmitted(&mut client, now);
    assert_eq!(frames[0].message_type, MessageType::Acknowledge);
    assert_eq!(frames[1].payload_type, PayloadType::HandshakeResponse);
    let response = HandshakeResponse::from_json(&frames[1].payload).unwrap();
    let statuses: Vec<u32> = response
        .processed_client_actions
        .iter()
        .map(|a| a.action_status)
        .collect();
    // A shell channel does not run Port, so it fails like the rest and the client ends (§4.4).
    assert_eq!(statuses, vec![2, 2, 3]);
    assert_eq!(response.errors.as_ref().map(Vec::len), Some(2));
    assert!(
        response.processed_client_actions[0]
            .error
            .ends_with(gangway::proto::PORT_REFUSAL)
    );
    assert!(
        response.processed_client_actions[1]
            .error
            .starts_with("Failed to process action KMSEncryption")
    );
    assert!(!client.is_open());
}

#[test]
fn an_unparseable_exit_code_is_still_shown() {
    let now = Instant::now();
    let mut client = client(now);
    client.handle_frame(now, &output(0, b"$ "));
    client.handle_frame(
        now,
        &stream(
            MessageType::OutputStreamData,
            1,
            PayloadType::ExitCode,
            b"EXIT_CODE: x",
        ),
    );
    client.handle_frame(
        now,
        &stream(
            MessageType::OutputStreamData,
            2,
            PayloadType::ExitCode,
            b"EXIT_CODE: 0",
        ),
    );
    let events = events(&mut client);
    assert!(events.contains(&Event::Data {
        payload_type: PayloadType::ExitCode,
        bytes: b"EXIT_CODE: x".to_vec()
    }));
    assert!(events.contains(&Event::ExitCode(0)));
    assert_eq!(client.stats().malformed_payloads, 1);
}

#[test]
fn a_consumer_that_is_not_ready_refuses_in_order_input_until_it_is() {
    let now = Instant::now();
    let mut agent = agent(now);
    agent.set_receive_ready(false);
    agent.handle_frame(now, &input(0, b"a"));
    agent.handle_frame(now, &input(1, b"b"));
    agent.handle_frame(now, &input(2, b"c"));
    // Seq 0 is refused (no ack: the client keeps it and retransmits); 1 and 2 arrived
    // ahead of it and are held and acked, as §5.2 has it.
    assert_eq!(acked_sequences(&transmitted(&mut agent, now)), vec![1, 2]);
    assert!(events(&mut agent).is_empty());
    assert_eq!(agent.stats().not_ready_refused, 1);

    // The retransmission of seq 0 is refused again while still not ready ...
    agent.handle_frame(now, &input(0, b"a"));
    assert!(transmitted(&mut agent, now).is_empty());
    assert_eq!(agent.stats().not_ready_refused, 2);

    // ... and accepted once ready, releasing the held ones behind it.
    agent.set_receive_ready(true);
    agent.handle_frame(now, &input(0, b"a"));
    assert_eq!(acked_sequences(&transmitted(&mut agent, now)), vec![0]);
    assert_eq!(delivered_bytes(&mut agent), b"abc");
}

#[test]
fn handshake_messages_are_never_refused() {
    let now = Instant::now();
    let mut client = client(now);
    client.set_receive_ready(false);
    let request = HandshakeRequest {
        agent_version: "3.3.0.0".into(),
        requested_client_actions: vec![RequestedClientAction::session_type(
            "InteractiveCommands",
            serde_json::Value::Null,
        )],
    };
    let frame = stream(
        MessageType::OutputStreamData,
        0,
        PayloadType::HandshakeRequest,
        &request.to_json(),
    );
    client.handle_frame(now, &frame);
    assert_eq!(acked_sequences(&transmitted(&mut client, now))[0], 0);
    assert_eq!(client.stats().not_ready_refused, 0);
}
