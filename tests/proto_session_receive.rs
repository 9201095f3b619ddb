//! One `Session` at a time, fed hand-made frames: how it reacts to duplicates, reordering,
//! malformed and unknown input, channel_closed and handshake requests (§3, §4, §5.2, §9).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;

use gangway::proto::*;
use support::frames::*;

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
    // Port is not run yet, so it fails like the rest and the client ends (§4.4).
    assert_eq!(statuses, vec![2, 2, 3]);
    assert_eq!(response.errors.as_ref().map(Vec::len), Some(2));
    assert!(
        response.processed_client_actions[0]
            .error
            .ends_with("gangway cannot run Port sessions yet")
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
