//! Hand-made frames and small helpers for the single-`Session` tests.

use std::time::Instant;

use gangway::proto::{
    Acknowledge, Event, Frame, MessageType, PayloadType, SeededIds, Session, SessionConfig,
};

pub const UNIX_MS: u64 = 1_795_988_311_532;

pub fn client(now: Instant) -> Session {
    Session::new(
        SessionConfig::client("sid-1"),
        Box::new(SeededIds::new(1)),
        now,
        UNIX_MS,
    )
}

pub fn agent(now: Instant) -> Session {
    Session::new(
        SessionConfig::agent("sid-1"),
        Box::new(SeededIds::new(2)),
        now,
        UNIX_MS,
    )
}

pub fn stream(
    message_type: MessageType,
    sequence: i64,
    payload_type: PayloadType,
    payload: &[u8],
) -> Vec<u8> {
    Frame {
        message_type,
        schema_version: 1,
        created_ms: UNIX_MS,
        sequence,
        flags: 0,
        message_id: uuid::Uuid::from_u128(0x1000 + sequence as u128),
        payload_type,
        payload: payload.to_vec(),
    }
    .encode()
}

pub fn output(sequence: i64, payload: &[u8]) -> Vec<u8> {
    stream(
        MessageType::OutputStreamData,
        sequence,
        PayloadType::Output,
        payload,
    )
}

pub fn input(sequence: i64, payload: &[u8]) -> Vec<u8> {
    stream(
        MessageType::InputStreamData,
        sequence,
        PayloadType::Output,
        payload,
    )
}

pub fn ack_for(sequence: i64) -> Vec<u8> {
    let payload = Acknowledge {
        acknowledged_message_type: "output_stream_data".into(),
        acknowledged_message_id: String::new(),
        acknowledged_message_sequence_number: sequence,
        is_sequential_message: true,
    };
    let mut frame = Frame::decode(&output(0, b"x")).unwrap();
    frame.message_type = MessageType::Acknowledge;
    frame.payload_type = PayloadType::Null;
    frame.payload = payload.to_json();
    frame.encode()
}

pub fn transmitted(session: &mut Session, now: Instant) -> Vec<Frame> {
    std::iter::from_fn(|| session.poll_transmit(now))
        .map(|bytes| Frame::decode(&bytes).unwrap())
        .collect()
}

pub fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

/// The bytes of every `Event::Data` waiting, in order (other events are dropped).
pub fn delivered_bytes(session: &mut Session) -> Vec<u8> {
    events(session)
        .into_iter()
        .filter_map(|e| match e {
            Event::Data { bytes, .. } => Some(bytes),
            _ => None,
        })
        .flatten()
        .collect()
}

pub fn acked_sequences(frames: &[Frame]) -> Vec<i64> {
    frames
        .iter()
        .filter(|frame| frame.message_type == MessageType::Acknowledge)
        .map(|frame| {
            Acknowledge::from_json(&frame.payload)
                .unwrap()
                .acknowledged_message_sequence_number
        })
        .collect()
}
