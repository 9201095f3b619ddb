//! Property tests: the codec round-trips, and neither the decoder nor a `Session` panics on
//! arbitrary input; malformed input is never acknowledged or delivered.

use std::time::{Duration, Instant};

use gangway::proto::{
    Acknowledge, Frame, MessageType, PayloadType, SeededIds, Session, SessionConfig,
};
use proptest::prelude::*;

fn message_type() -> impl Strategy<Value = MessageType> {
    prop_oneof![
        Just(MessageType::InputStreamData),
        Just(MessageType::OutputStreamData),
        Just(MessageType::Acknowledge),
        Just(MessageType::ChannelClosed),
        Just(MessageType::StartPublication),
        Just(MessageType::PausePublication),
        Just(MessageType::AgentSessionState),
        "[a-z_]{1,32}".prop_map(|name| MessageType::parse(&name)),
    ]
}

prop_compose! {
    fn frame()(
        message_type in message_type(),
        schema_version: u32,
        created_ms: u64,
        sequence: i64,
        flags: u64,
        id: u128,
        payload_type: u32,
        payload in proptest::collection::vec(any::<u8>(), 0..2048),
    ) -> Frame {
        Frame {
            message_type,
            schema_version,
            created_ms,
            sequence,
            flags,
            message_id: uuid::Uuid::from_u128(id),
            payload_type: PayloadType::from_u32(payload_type),
            payload,
        }
    }
}

// A frame a session might plausibly see: small sequence numbers, stream or ack types.
prop_compose! {
    fn plausible_frame()(
        kind in 0u8..4,
        sequence in -2i64..40,
        payload_type in 0u32..14,
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        id: u128,
    ) -> Frame {
        let (message_type, payload) = match kind {
            0 => (MessageType::InputStreamData, payload),
            1 => (MessageType::OutputStreamData, payload),
            2 => (MessageType::Acknowledge, ack_json(sequence)),
            _ => (MessageType::ChannelClosed, b"{\"Output\":\"bye\"}".to_vec()),
        };
        Frame {
            message_type,
            schema_version: 1,
            created_ms: 1,
            sequence,
            flags: 0,
            message_id: uuid::Uuid::from_u128(id),
            payload_type: PayloadType::from_u32(payload_type),
            payload,
        }
    }
}

fn ack_json(sequence: i64) -> Vec<u8> {
    Acknowledge {
        acknowledged_message_type: "input_stream_data".into(),
        acknowledged_message_id: String::new(),
        acknowledged_message_sequence_number: sequence,
        is_sequential_message: true,
    }
    .to_json()
}

fn session(agent: bool) -> Session {
    let config = if agent {
        SessionConfig::agent("s")
    } else {
        SessionConfig::client("s")
    };
    Session::new(
        config,
        Box::new(SeededIds::new(1)),
        Instant::now(),
        1_700_000_000_000,
    )
}

fn drain(session: &mut Session, now: Instant) {
    while session.poll_transmit(now).is_some() {}
    while session.poll_event().is_some() {}
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity(frame in frame()) {
        let bytes = frame.encode();
        prop_assert_eq!(bytes.len(), 120 + frame.payload.len());
        let decoded = Frame::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &frame);
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Frame::decode(&bytes);
    }

    #[test]
    fn corrupted_frames_are_rejected_or_consistent(
        frame in frame(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut bytes = frame.encode();
        for (index, mask) in flips {
            let at = index.index(bytes.len());
            bytes[at] ^= mask;
        }
        if let Ok(decoded) = Frame::decode(&bytes) {
            // Only header fields outside the digest's reach can change undetected.
            prop_assert_eq!(decoded.payload.len(), frame.payload.len());
        }
    }

    #[test]
    fn sessions_survive_arbitrary_bytes(
        agent: bool,
        inputs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
    ) {
        let mut session = session(agent);
        let now = Instant::now();
        let mut malformed = 0;
        for bytes in &inputs {
            if Frame::decode(bytes).is_err() {
                malformed += 1;
            }
            session.handle_frame(now, bytes);
        }
        prop_assert_eq!(session.stats().malformed_dropped, malformed);
        if malformed == inputs.len() as u64 {
            // Garbage is never acknowledged and never delivered.
            prop_assert!(session.poll_transmit(now).is_none());
            prop_assert!(session.poll_event().is_none());
        }
    }

    #[test]
    fn sessions_survive_arbitrary_frames(
        agent: bool,
        frames in proptest::collection::vec(plausible_frame(), 0..60),
        gaps in proptest::collection::vec(0u64..400, 60),
        ready in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let mut session = session(agent);
        let mut now = Instant::now();
        session.send_data(now, b"hello");
        for ((frame, gap), ready) in frames.iter().zip(gaps).zip(ready) {
            now += Duration::from_millis(gap);
            // The consumer's readiness (§5.2 "not ready") flips at random too.
            session.set_receive_ready(ready);
            session.handle_frame(now, &frame.encode());
            if session.poll_timeout().is_some_and(|due| due <= now) {
                session.handle_timeout(now);
            }
            session.send_data(now, b"more");
            drain(&mut session, now);
            prop_assert!(session.unacked_count() <= session.config().outgoing_capacity);
        }
    }
}

/// Found by `cargo fuzz run frame_decode`: a MessageType field of a space, a NUL and control
/// bytes decoded to a type that did not survive re-encoding. Now rejected.
#[test]
fn fuzz_regression_interior_nul_in_message_type() {
    use base64::Engine;
    let input = "AAAAdCAAEH0AAHQAA3JlYWRhbV90AAAAAAAABAAAAAAAAAAAkeyF8p8AAaIpPtR0AAAAAAAAAAQAAAAAAAAAAJHshfKfmZnfAt0eTmX/Su4PewpT6s6aaPW0p0UcER0v5ZOmuiChMHlY0TUVM5NDMwAAAAEAAAAFQUdBSU4=";
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(input)
        .unwrap();
    assert_eq!(
        Frame::decode(&bytes),
        Err(gangway::proto::DecodeError::MessageType)
    );
}
