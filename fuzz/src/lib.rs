//! The protocol core, compiled from the main crate's sources (`src/proto/`), plus the checks
//! the fuzz targets call. `src/proto/` is sans-IO and refers to itself as `crate::proto`, so it
//! builds here unchanged.

#[path = "../../src/proto/mod.rs"]
pub mod proto;

use std::time::{Duration, Instant};

use proto::{Frame, SeededIds, Session, SessionConfig};

/// Decoding never panics, strict or lenient. Whatever the strict decoder accepts the lenient
/// one (the receivers', §2.1) accepts as the same frame. Whatever decodes strictly re-encodes
/// to a frame that decodes to the same value, and every fixed-width field comes back byte for
/// byte; only the MessageType padding (NULs vs spaces) and the digest of an empty payload
/// (unchecked, §2.1) may be normalised.
pub fn check_frame_decode(data: &[u8]) {
    let received = Frame::decode_received(data);
    let Ok(frame) = Frame::decode(data) else {
        return;
    };
    assert_eq!(received.map(|received| received.frame).as_ref(), Ok(&frame));
    let encoded = frame.encode();
    assert_eq!(encoded.len(), data.len());
    assert_eq!(Frame::decode(&encoded).as_ref(), Ok(&frame));
    assert_eq!(encoded[..4], data[..4], "header length");
    assert_eq!(
        encoded[36..80],
        data[36..80],
        "schema, date, sequence, flags, id"
    );
    assert_eq!(encoded[112..], data[112..], "payload type, length, payload");
    if !frame.payload.is_empty() {
        assert_eq!(encoded[80..112], data[80..112], "digest");
    }
}

/// Splits the input into frames (2-byte big-endian length prefix each) and feeds them to a
/// client and an agent session, with clock steps taken from the input too. Checks the
/// invariants that must hold whatever arrives.
pub fn check_session_frames(data: &[u8]) {
    let start = Instant::now();
    for config in [SessionConfig::client("fuzz"), SessionConfig::agent("fuzz")] {
        let capacity = config.outgoing_capacity;
        let mut session = Session::new(
            config,
            Box::new(SeededIds::new(7)),
            start,
            1_700_000_000_000,
        );
        let mut now = start;
        session.send_data(now, b"hello");
        let mut rest = data;
        while rest.len() >= 3 {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 3);
            now += Duration::from_millis(u64::from(rest[2]) * 4);
            let frame = &rest[3..3 + len];
            rest = &rest[3 + len..];
            let malformed_before = session.stats().malformed_dropped;
            // The consumer's readiness (§5.2 "not ready") follows a bit of the input.
            session.set_receive_ready(len % 2 == 0);
            session.handle_frame(now, frame);
            // The session reads frames leniently (§2.1), so that is the decoder to compare with.
            if Frame::decode_received(frame).is_err() && !session.is_closed() {
                assert_eq!(session.stats().malformed_dropped, malformed_before + 1);
            }
            if session.poll_timeout().is_some_and(|due| due <= now) {
                session.handle_timeout(now);
            }
            session.send_data(now, b"more");
            while let Some(out) = session.poll_transmit(now) {
                Frame::decode(&out).expect("the session only writes valid frames");
            }
            while session.poll_event().is_some() {}
            assert!(session.unacked_count() <= capacity);
        }
    }
}
