//! Decode and re-encode, byte for byte, the worked example of protocol.md §2 and every frame
//! captured from the reference client (shared/captures, copied into tests/fixtures/captures).

use std::path::PathBuf;

use gangway::proto::{
    Acknowledge, ChannelClosed, Frame, HandshakeComplete, HandshakeRequest, HandshakeResponse,
    MessageType, PayloadType, TerminalSize,
};
use serde_json::Value;

const WORKED_EXAMPLE: &str = "
00 00 00 74 69 6e 70 75 74 5f 73 74 72 65 61 6d 5f 64 61 74 61 20 20 20 20 20 20 20 20 20 20 20
20 20 20 20 00 00 00 01 00 00 01 5e 0b aa 78 84 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 00
a5 08 b5 f0 73 f3 1b 16 dd 01 e5 6b ff 48 48 3e 1d 88 7c e0 f8 67 2e 49 14 d9 00 0e 80 1c d7 4e
cd 80 5d d9 36 6c 0b c4 2d c1 6a dc 01 97 dc 2f 00 00 00 01 00 00 00 03 6c 73 0d";

#[test]
fn worked_example_of_section_2() {
    let bytes = hex::decode(WORKED_EXAMPLE.split_whitespace().collect::<String>()).unwrap();
    assert_eq!(bytes.len(), 123);
    let frame = Frame::decode(&bytes).unwrap();
    assert_eq!(frame.message_type, MessageType::InputStreamData);
    assert_eq!(frame.schema_version, 1);
    assert_eq!(frame.created_ms, 1_503_434_274_948);
    assert_eq!(frame.sequence, 7);
    assert_eq!(frame.flags, 0);
    assert_eq!(
        frame.message_id.to_string(),
        "dd01e56b-ff48-483e-a508-b5f073f31b16"
    );
    assert_eq!(frame.payload_type, PayloadType::Output);
    assert_eq!(frame.payload, b"ls\r");
    assert_eq!(frame.encode(), bytes);
}

/// Prefer the copy inside the repository; fall back to the shared directory beside the clone.
fn captures_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let local = root.join("tests/fixtures/captures");
    if local.is_dir() {
        local
    } else {
        root.join("../shared/captures")
    }
}

fn capture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(captures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_captured_frame_round_trips_with_the_recorded_fields() {
    let files = capture_files();
    assert_eq!(files.len(), 4, "expected the four capture files");
    let mut frames = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line_number, line) in text.lines().enumerate() {
            let record: Value = serde_json::from_str(line).unwrap();
            let context = format!("{}:{}", file.display(), line_number + 1);
            check_record(&record, &context);
            frames += 1;
        }
    }
    assert!(frames > 50, "only {frames} frames");
}

fn check_record(record: &Value, context: &str) {
    let bytes = hex::decode(record["frame_hex"].as_str().unwrap()).unwrap();
    let frame = Frame::decode(&bytes).unwrap_or_else(|err| panic!("{context}: {err}"));
    assert_eq!(frame.encode(), bytes, "{context}: re-encoding differs");
    assert_eq!(
        frame.message_type.as_str(),
        record["message_type"],
        "{context}"
    );
    assert_eq!(
        u64::from(frame.schema_version),
        record["schema_version"],
        "{context}"
    );
    assert_eq!(frame.created_ms, record["created_ms"], "{context}");
    assert_eq!(frame.sequence, record["sequence"], "{context}");
    assert_eq!(frame.flags, record["flags"], "{context}");
    assert_eq!(
        frame.message_id.to_string(),
        record["message_id"],
        "{context}"
    );
    assert_eq!(
        u64::from(frame.payload_type.as_u32()),
        record["payload_type"],
        "{context}"
    );
    assert_eq!(
        frame.payload.len() as u64,
        record["payload_length"],
        "{context}"
    );
    // The recorder wrote text payloads as text and binary ones as hex.
    let recorded = record["payload"].as_str().unwrap();
    let as_text = std::str::from_utf8(&frame.payload).ok() == Some(recorded);
    assert!(
        as_text || hex::encode(&frame.payload) == recorded,
        "{context}: payload differs"
    );
    check_typed_payload(&frame, context);
}

/// The JSON payloads also parse into their typed form.
fn check_typed_payload(frame: &Frame, context: &str) {
    let payload = frame.payload.as_slice();
    let parsed = match (&frame.message_type, frame.payload_type) {
        (MessageType::Acknowledge, _) => Acknowledge::from_json(payload).map(drop),
        (MessageType::ChannelClosed, _) => ChannelClosed::from_json(payload).map(drop),
        (_, PayloadType::Size) => TerminalSize::from_json(payload).map(drop),
        (_, PayloadType::HandshakeRequest) => HandshakeRequest::from_json(payload).map(drop),
        (_, PayloadType::HandshakeResponse) => HandshakeResponse::from_json(payload).map(drop),
        (_, PayloadType::HandshakeComplete) => HandshakeComplete::from_json(payload).map(drop),
        _ => Ok(()),
    };
    parsed.unwrap_or_else(|err| panic!("{context}: {err}"));
}

/// The acks our session writes have exactly the reference client's JSON bytes.
#[test]
fn reference_client_ack_bytes_match_ours() {
    let text = std::fs::read_to_string(captures_dir().join("shell.jsonl")).unwrap();
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        if record["direction"] == "client->agent" && record["message_type"] == "acknowledge" {
            let payload = record["payload"].as_str().unwrap();
            let ack = Acknowledge::from_json(payload.as_bytes()).unwrap();
            assert_eq!(ack.to_json(), payload.as_bytes());
        }
    }
}
