//! Unit tests of the client's handshake answer (§4.4), the publication pause (§5.4) and the
//! lenient reading of service frames (§2.1, §3), and the bounds on what a peer can make this
//! side hold (issue 17, F3).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{Event, PORT_REFUSAL, Session, SessionConfig};
use crate::proto::ids::SeededIds;
use crate::proto::{
    Acknowledge, ActionStatus, Frame, HandshakeRequest, HandshakeResponse, MessageType,
    PayloadType, RequestedClientAction,
};

fn client(now: Instant) -> Session {
    Session::new(
        SessionConfig::client("sid-1"),
        Box::new(SeededIds::new(1)),
        now,
        1_700_000_000_000,
    )
}

fn frame(
    message_type: MessageType,
    sequence: i64,
    payload_type: PayloadType,
    payload: &[u8],
) -> Vec<u8> {
    Frame {
        message_type,
        schema_version: 1,
        created_ms: 1_700_000_000_000,
        sequence,
        flags: 0,
        message_id: Uuid::from_u128(0x100 + sequence as u128),
        payload_type,
        payload: payload.to_vec(),
    }
    .encode()
}

fn output(sequence: i64, payload: &[u8]) -> Vec<u8> {
    frame(
        MessageType::OutputStreamData,
        sequence,
        PayloadType::Output,
        payload,
    )
}

fn service(message_type: MessageType, payload: &[u8]) -> Vec<u8> {
    frame(message_type, 0, PayloadType::Null, payload)
}

fn handshake_request(session_type: &str) -> Vec<u8> {
    let request = HandshakeRequest {
        agent_version: "3.3.1142.0".into(),
        requested_client_actions: vec![RequestedClientAction::session_type(
            session_type,
            serde_json::Value::Null,
        )],
    };
    frame(
        MessageType::OutputStreamData,
        0,
        PayloadType::HandshakeRequest,
        &request.to_json(),
    )
}

fn transmit_all(session: &mut Session, now: Instant) -> Vec<Frame> {
    std::iter::from_fn(|| session.poll_transmit(now))
        .map(|bytes| Frame::decode(&bytes).unwrap())
        .collect()
}

fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn stream_payloads(frames: &[Frame]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|frame| frame.message_type == MessageType::InputStreamData)
        .map(|frame| frame.payload.clone())
        .collect()
}

#[test]
fn a_port_session_offered_to_a_shell_channel_is_answered_failed_and_the_client_ends() {
    let now = Instant::now();
    let mut session = client(now);
    session.handle_frame(now, &handshake_request("Port"));
    let sent = transmit_all(&mut session, now);
    // The ack of the request, then the answer, written once; nothing after.
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].message_type, MessageType::Acknowledge);
    assert_eq!(sent[1].payload_type, PayloadType::HandshakeResponse);
    let response = HandshakeResponse::from_json(&sent[1].payload).unwrap();
    let action = &response.processed_client_actions[0];
    assert_eq!(action.action_status, ActionStatus::Failed.as_u32());
    assert_eq!(
        action.error,
        format!("Failed to process action SessionType: {PORT_REFUSAL}")
    );
    assert_eq!(response.errors, Some(vec![action.error.clone()]));
    assert!(!response.all_succeeded());
    assert!(session.is_closed());
    let reason = events(&mut session)
        .into_iter()
        .find_map(|event| match event {
            Event::Refused { reason } => Some(reason),
            _ => None,
        });
    assert_eq!(reason.as_deref(), Some(PORT_REFUSAL));
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn a_port_channel_answers_port_success_and_opens_on_handshake_complete() {
    let now = Instant::now();
    let mut config = SessionConfig::client("sid-1");
    config.port_sessions = true;
    let mut session = Session::new(config, Box::new(SeededIds::new(1)), now, 1_700_000_000_000);
    session.handle_frame(now, &handshake_request("Port"));
    let sent = transmit_all(&mut session, now);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let response = HandshakeResponse::from_json(&sent[1].payload).unwrap();
    assert!(response.all_succeeded(), "{response:?}");
    assert_eq!(response.errors, None);
    assert_eq!(response.client_version, crate::proto::CLIENT_VERSION);
    assert!(!session.is_closed());
    assert!(
        !events(&mut session)
            .iter()
            .any(|event| matches!(event, Event::Refused { .. }))
    );
    // Nothing flows before HandshakeComplete; afterwards input goes out as Output.
    assert_eq!(session.send_data(now, b"\x00\x0a\x0d\xff"), 4);
    assert!(transmit_all(&mut session, now).is_empty());
    let complete = crate::proto::HandshakeComplete {
        handshake_time_to_complete: 1,
        customer_message: String::new(),
    };
    session.handle_frame(
        now,
        &frame(
            MessageType::OutputStreamData,
            1,
            PayloadType::HandshakeComplete,
            &complete.to_json(),
        ),
    );
    assert!(session.is_open());
    let payloads = stream_payloads(&transmit_all(&mut session, now));
    // Binary-safe: no CR/LF rewriting in the protocol core.
    assert_eq!(payloads, vec![b"\x00\x0a\x0d\xff".to_vec()]);
}

#[test]
fn a_port_channel_still_refuses_kms_and_unknown_session_types() {
    let now = Instant::now();
    let mut config = SessionConfig::client("sid-1");
    config.port_sessions = true;
    let mut session = Session::new(config, Box::new(SeededIds::new(1)), now, 1_700_000_000_000);
    session.handle_frame(now, &handshake_request("Bogus"));
    let sent = transmit_all(&mut session, now);
    let response = HandshakeResponse::from_json(&sent[1].payload).unwrap();
    assert_eq!(
        response.processed_client_actions[0].action_status,
        ActionStatus::Failed.as_u32()
    );
    assert!(session.is_closed());
}

#[test]
fn the_session_types_gangway_runs_are_answered_success_with_its_version() {
    for session_type in [
        "Standard_Stream",
        "InteractiveCommands",
        "NonInteractiveCommands",
    ] {
        let now = Instant::now();
        let mut session = client(now);
        session.handle_frame(now, &handshake_request(session_type));
        let sent = transmit_all(&mut session, now);
        let response = HandshakeResponse::from_json(&sent[1].payload).unwrap();
        assert!(response.all_succeeded(), "{session_type}");
        assert_eq!(response.client_version, crate::proto::CLIENT_VERSION);
        assert!(!session.is_closed());
    }
}

#[test]
fn pause_publication_holds_stream_data_but_not_acks_until_start_publication() {
    let now = Instant::now();
    let mut session = client(now);
    session.handle_frame(now, &output(0, b"$ "));
    session.handle_frame(now, &service(MessageType::PausePublication, b""));
    assert!(session.is_paused());
    assert_eq!(session.send_data(now, b"ls\r"), 3);
    let sent = transmit_all(&mut session, now);
    assert_eq!(sent.len(), 1, "only the ack of output 0: {sent:?}");
    assert_eq!(sent[0].message_type, MessageType::Acknowledge);
    // Nothing is resent while paused, and there is no timer to spin on.
    assert_eq!(session.poll_timeout(), None);
    session.handle_timeout(now + Duration::from_secs(5));
    assert!(transmit_all(&mut session, now).is_empty());

    let later = now + Duration::from_secs(6);
    session.handle_frame(later, &service(MessageType::StartPublication, b"{}"));
    assert!(!session.is_paused());
    assert_eq!(
        stream_payloads(&transmit_all(&mut session, later)),
        [b"ls\r"]
    );
    let seen = events(&mut session);
    let paused = seen.iter().position(|e| *e == Event::Paused).unwrap();
    let resumed = seen.iter().position(|e| *e == Event::Resumed).unwrap();
    assert!(paused < resumed, "{seen:?}");
}

#[test]
fn stream_data_an_ack_or_a_reconnect_also_end_the_pause_as_in_the_agent() {
    let now = Instant::now();
    let mut session = client(now);
    session.handle_frame(now, &output(0, b"$ "));
    session.handle_frame(now, &service(MessageType::PausePublication, b""));
    session.handle_frame(now, &output(1, b"more"));
    assert!(!session.is_paused());

    session.handle_frame(now, &service(MessageType::PausePublication, b""));
    let ack = Acknowledge {
        acknowledged_message_type: "input_stream_data".into(),
        acknowledged_message_id: String::new(),
        acknowledged_message_sequence_number: 40,
        is_sequential_message: true,
    };
    session.handle_frame(now, &service(MessageType::Acknowledge, &ack.to_json()));
    assert!(!session.is_paused());

    session.handle_frame(now, &service(MessageType::PausePublication, b""));
    session.handle_reconnect(now);
    assert!(!session.is_paused());
}

#[test]
fn channel_closed_that_does_not_parse_still_closes_the_client() {
    for payload in [
        &b"not json"[..],
        br#"{"Output":null,"SchemaVersion":"1"}"#,
        b"",
    ] {
        let now = Instant::now();
        let mut session = client(now);
        session.handle_frame(now, &output(0, b"$ "));
        session.handle_frame(now, &service(MessageType::ChannelClosed, payload));
        assert!(session.is_closed(), "{payload:?}");
        let closed = events(&mut session)
            .into_iter()
            .find_map(|event| match event {
                Event::ChannelClosed(closed) => Some(closed),
                _ => None,
            });
        assert_eq!(closed.unwrap().output, "");
    }
    // The agent acts only on a channel_closed whose JSON parses (§3).
    let now = Instant::now();
    let mut agent = Session::new(
        SessionConfig::agent("sid-1"),
        Box::new(SeededIds::new(2)),
        now,
        1_700_000_000_000,
    );
    agent.handle_frame(now, &service(MessageType::ChannelClosed, b"not json"));
    assert!(!agent.is_closed());
}

#[test]
fn output_with_a_longer_header_is_delivered() {
    let now = Instant::now();
    let mut session = client(now);
    let canonical = output(0, b"hi");
    let mut bytes = canonical[..116].to_vec();
    bytes[..4].copy_from_slice(&120u32.to_be_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&canonical[116..]);
    session.handle_frame(now, &bytes);
    assert_eq!(session.stats().noncanonical_accepted, 1);
    assert!(events(&mut session).contains(&Event::Data {
        payload_type: PayloadType::Output,
        bytes: b"hi".to_vec()
    }));
}

/// The acknowledged sequence numbers among `frames`.
fn acked(frames: &[Frame]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f.message_type == MessageType::Acknowledge)
        .map(|f| {
            Acknowledge::from_json(&f.payload)
                .unwrap()
                .acknowledged_message_sequence_number
        })
        .collect()
}

#[test]
fn a_payload_over_the_maximum_is_dropped_as_malformed() {
    let now = Instant::now();
    let mut config = SessionConfig::client("sid-1");
    config.max_incoming_payload_bytes = 16;
    let mut client = Session::new(config, Box::new(SeededIds::new(1)), now, 1);
    client.handle_frame(now, &output(0, &[b'x'; 17]));
    assert!(transmit_all(&mut client, now).is_empty());
    assert!(events(&mut client).is_empty());
    assert_eq!(client.stats().malformed_dropped, 1);
    client.handle_frame(now, &output(0, &[b'x'; 16]));
    assert_eq!(acked(&transmit_all(&mut client, now)), vec![0]);
}

#[test]
fn frames_beyond_the_span_are_neither_held_nor_acked() {
    let now = Instant::now();
    let mut config = SessionConfig::client("sid-1");
    config.incoming_span = 10;
    let mut client = Session::new(config, Box::new(SeededIds::new(1)), now, 1);
    client.handle_frame(now, &output(11, b"far"));
    client.handle_frame(now, &output(10, b"near"));
    assert_eq!(acked(&transmit_all(&mut client, now)), vec![10]);
    assert_eq!(client.stats().beyond_span_dropped, 1);
    assert_eq!(client.reorder_buffer_len(), 1);
}

/// F3: far-ahead messages that never see their gap filled are held up to the byte bound
/// only; past it they are dropped unacked, and the memory comes back once the gap fills.
#[test]
fn the_reorder_buffer_is_bounded_by_bytes() {
    let now = Instant::now();
    let mut config = SessionConfig::client("sid-1");
    config.incoming_capacity_bytes = 4096;
    let mut client = Session::new(config, Box::new(SeededIds::new(1)), now, 1);
    for seq in 1..=10 {
        client.handle_frame(now, &output(seq, &[b'x'; 1024]));
    }
    assert_eq!(acked(&transmit_all(&mut client, now)), vec![1, 2, 3, 4]);
    assert_eq!(client.reorder_buffer_bytes(), 4096);
    assert_eq!(client.stats().reorder_overflow_dropped, 6);
    client.handle_frame(now, &output(0, b"$ "));
    assert_eq!(acked(&transmit_all(&mut client, now)), vec![0]);
    assert_eq!(client.reorder_buffer_bytes(), 0);
    assert_eq!(client.stats().bytes_delivered, 2 + 4 * 1024);
}
