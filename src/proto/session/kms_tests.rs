//! A client and an agent session wired back to back through a KMS handshake (§4.6).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use super::*;
use crate::proto::SendError;
use crate::proto::crypto::{CounterNonces, NONCE_BYTES, NonceSource, SEAL_OVERHEAD};
use crate::proto::ids::SeededIds;
use crate::proto::payloads::{
    ActionStatus, HandshakeComplete, HandshakeRequest, HandshakeResponse, RequestedClientAction,
};

const BLOB: &[u8] = b"ciphertext-blob-from-kms";

/// The client's nonces: a deterministic stand-in for the transport's random ones.
struct Counting(u8);

impl NonceSource for Counting {
    fn next_nonce(&mut self) -> [u8; NONCE_BYTES] {
        self.0 = self.0.wrapping_add(1);
        [self.0; NONCE_BYTES]
    }
}

fn data_key() -> Vec<u8> {
    (100u8..164).collect()
}

fn sessions(now: Instant) -> (Session, Session) {
    let mut client_config = SessionConfig::client("s-1");
    client_config.kms_encryption = true;
    let client = Session::new(client_config, Box::new(SeededIds::new(1)), now, 0);
    let agent = Session::new(
        SessionConfig::agent("s-1"),
        Box::new(SeededIds::new(2)),
        now,
        0,
    );
    (client, agent)
}

/// Moves every frame `from` has into `to`, optionally rewriting stream frames on the way.
fn deliver(from: &mut Session, to: &mut Session, now: Instant, mut edit: impl FnMut(&mut Frame)) {
    while let Some(bytes) = from.poll_transmit(now) {
        let mut frame = Frame::decode(&bytes).unwrap();
        edit(&mut frame);
        to.handle_frame(now, &frame.encode());
    }
}

fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn kms_request() -> HandshakeRequest {
    HandshakeRequest {
        agent_version: "3.3.1142.0".into(),
        requested_client_actions: vec![
            RequestedClientAction::session_type("Standard_Stream", serde_json::Value::Null),
            RequestedClientAction::kms_encryption("alias/sessions", &[9; 16]),
        ],
    }
}

/// Runs the handshake up to the client's response; returns what the agent got.
fn answer_kms(client: &mut Session, agent: &mut Session, now: Instant) -> HandshakeResponse {
    agent.start_handshake(now, kms_request()).unwrap();
    deliver(agent, client, now, |_| {});
    let requested = events(client);
    assert!(
        requested.contains(&Event::KmsDataKeyRequested {
            key_id: "alias/sessions".into(),
            challenge: "CQkJCQkJCQkJCQkJCQkJCQ==".into(),
        }),
        "{requested:?}"
    );
    // Nothing is answered before the data key is there (the ack goes out at once).
    deliver(client, agent, now, |frame| {
        assert_ne!(frame.payload_type, PayloadType::HandshakeResponse);
    });
    client
        .complete_kms(now, BLOB, &data_key(), Box::new(Counting(0)))
        .unwrap();
    deliver(client, agent, now, |_| {});
    events(agent)
        .into_iter()
        .find_map(|event| match event {
            Event::HandshakeResponded(response) => Some(response),
            _ => None,
        })
        .unwrap()
}

/// Handshake, challenge and HandshakeComplete: both ends encrypted and open.
fn open_encrypted(now: Instant) -> (Session, Session) {
    let (mut client, mut agent) = sessions(now);
    let response = answer_kms(&mut client, &mut agent, now);
    assert!(response.all_succeeded());
    assert_eq!(response.kms_ciphertext_key().unwrap(), BLOB);
    assert!(client.is_encrypted());
    agent
        .start_challenge(
            now,
            &data_key(),
            Box::new(CounterNonces::new([5, 0, 0])),
            vec![42; 64],
        )
        .unwrap();
    deliver(&mut agent, &mut client, now, |_| {});
    deliver(&mut client, &mut agent, now, |_| {});
    assert!(events(&mut agent).contains(&Event::ChallengeVerified));
    agent
        .complete_handshake(
            now,
            HandshakeComplete {
                handshake_time_to_complete: 0,
                customer_message: "This session is encrypted using AWS KMS.".into(),
            },
        )
        .unwrap();
    deliver(&mut agent, &mut client, now, |_| {});
    assert!(events(&mut client).contains(&Event::Opened { handshake: true }));
    deliver(&mut client, &mut agent, now, |_| {});
    assert_eq!(agent.unacked_count(), 0);
    (client, agent)
}

#[test]
fn the_kms_answer_carries_the_ciphertext_blob_in_the_reference_shape() {
    let now = Instant::now();
    let (mut client, mut agent) = sessions(now);
    let response = answer_kms(&mut client, &mut agent, now);
    let kms = &response.processed_client_actions[1];
    assert_eq!(kms.action_type, "KMSEncryption");
    assert_eq!(kms.action_status, ActionStatus::Success.as_u32());
    assert_eq!(
        kms.action_result,
        serde_json::json!({"KMSCipherTextKey": "Y2lwaGVydGV4dC1ibG9iLWZyb20ta21z", "KMSCipherTextHash": null})
    );
    assert_eq!(response.errors, None);
}

#[test]
fn stream_payloads_are_sealed_both_ways_and_arrive_as_plaintext() {
    let now = Instant::now();
    let (mut client, mut agent) = open_encrypted(now);
    agent.send_data(now, b"$ ");
    let mut seen = Vec::new();
    deliver(&mut agent, &mut client, now, |frame| {
        if frame.payload_type == PayloadType::Output {
            seen.push(frame.payload.clone());
        }
    });
    // The agent's counter nonce, first value after the challenge's: [6, 0, 0].
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].len(), 2 + SEAL_OVERHEAD);
    assert_eq!(&seen[0][..4], &6u32.to_le_bytes());
    assert!(events(&mut client).contains(&Event::Data {
        payload_type: PayloadType::Output,
        bytes: b"$ ".to_vec(),
    }));

    client.send_data(now, b"echo hi\r");
    client
        .send_size(now, crate::proto::TerminalSize { cols: 80, rows: 24 })
        .unwrap();
    let mut sizes = Vec::new();
    deliver(&mut client, &mut agent, now, |frame| {
        match frame.payload_type {
            PayloadType::Output => assert_eq!(frame.payload.len(), 8 + SEAL_OVERHEAD),
            // Size goes in plaintext (§4.6 step 6).
            PayloadType::Size => sizes.push(frame.payload.clone()),
            _ => {}
        }
    });
    assert_eq!(sizes, vec![br#"{"cols":80,"rows":24}"#.to_vec()]);
    let got = events(&mut agent);
    assert!(got.contains(&Event::Data {
        payload_type: PayloadType::Output,
        bytes: b"echo hi\r".to_vec(),
    }));

    agent.send_exit_code(now, 3).unwrap();
    deliver(&mut agent, &mut client, now, |_| {});
    assert!(events(&mut client).contains(&Event::ExitCode(3)));
}

#[test]
fn a_tampered_payload_ends_the_session_and_is_neither_acked_nor_delivered() {
    let now = Instant::now();
    let (mut client, mut agent) = open_encrypted(now);
    agent.send_data(now, b"secret output");
    deliver(&mut agent, &mut client, now, |frame| {
        if frame.payload_type == PayloadType::Output {
            let last = frame.payload.len() - 1;
            frame.payload[last] ^= 0x80;
        }
    });
    let got = events(&mut client);
    assert!(
        got.iter().any(
            |event| matches!(event, Event::EncryptionFailed(reason) if reason.contains("decrypt"))
        ),
        "{got:?}"
    );
    assert!(!got.iter().any(|event| matches!(event, Event::Data { .. })));
    assert_eq!(client.stats().undecryptable, 1);
    // No ack went back: the agent still waits for it.
    deliver(&mut client, &mut agent, now, |_| {});
    assert_eq!(agent.unacked_count(), 1);

    // Even the intact retransmission is not delivered any more: the session is over.
    let later = now + std::time::Duration::from_secs(2);
    agent.handle_timeout(later);
    deliver(&mut agent, &mut client, later, |_| {});
    assert!(
        !events(&mut client)
            .iter()
            .any(|e| matches!(e, Event::Data { .. }))
    );
}

#[test]
fn tampered_input_fails_at_the_agent() {
    let now = Instant::now();
    let (mut client, mut agent) = open_encrypted(now);
    client.send_data(now, b"rm -rf /tmp/x\r");
    deliver(&mut client, &mut agent, now, |frame| {
        if frame.payload_type == PayloadType::Output {
            frame.payload[NONCE_BYTES] ^= 1;
        }
    });
    let got = events(&mut agent);
    assert!(got.iter().any(|e| matches!(e, Event::EncryptionFailed(_))));
    assert!(!got.iter().any(|e| matches!(e, Event::Data { .. })));
}

#[test]
fn a_short_encrypted_payload_is_a_clean_failure() {
    let now = Instant::now();
    let (mut client, mut agent) = open_encrypted(now);
    agent.send_data(now, b"x");
    deliver(&mut agent, &mut client, now, |frame| {
        if frame.payload_type == PayloadType::Output {
            frame.payload.truncate(11);
        }
    });
    let got = events(&mut client);
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::EncryptionFailed(reason) if reason.contains("shorter"))),
        "{got:?}"
    );
}

#[test]
fn a_wrong_challenge_answer_is_not_acked_and_not_verified() {
    let now = Instant::now();
    let (mut client, mut agent) = sessions(now);
    answer_kms(&mut client, &mut agent, now);
    agent
        .start_challenge(
            now,
            &data_key(),
            Box::new(CounterNonces::new([0; 3])),
            vec![1; 64],
        )
        .unwrap();
    deliver(&mut agent, &mut client, now, |_| {});
    deliver(&mut client, &mut agent, now, |frame| {
        if frame.payload_type == PayloadType::EncChallengeResponse {
            // Re-encode the answer with one byte of the sealed challenge changed.
            let mut answer = crate::proto::EncChallenge::from_json(&frame.payload).unwrap();
            answer.challenge[NONCE_BYTES + 3] ^= 4;
            frame.payload = answer.to_json();
        }
    });
    assert!(!events(&mut agent).contains(&Event::ChallengeVerified));
    assert_eq!(agent.stats().undecryptable, 1);
    assert_eq!(client.unacked_count(), 1, "the PT 9 stays unacked");
}

#[test]
fn a_refused_data_key_fails_the_kms_action() {
    let now = Instant::now();
    let (mut client, mut agent) = sessions(now);
    agent.start_handshake(now, kms_request()).unwrap();
    deliver(&mut agent, &mut client, now, |_| {});
    client.fail_kms(now, "AccessDeniedException").unwrap();
    assert!(client.fail_kms(now, "twice").is_err());
    deliver(&mut client, &mut agent, now, |_| {});
    let response = events(&mut agent)
        .into_iter()
        .find_map(|event| match event {
            Event::HandshakeResponded(response) => Some(response),
            _ => None,
        })
        .unwrap();
    assert!(!response.all_succeeded());
    assert_eq!(response.processed_client_actions[0].action_status, 1);
    assert_eq!(response.processed_client_actions[1].action_status, 2);
    assert_eq!(
        response.errors,
        Some(vec![
            "Failed to process action KMSEncryption: AccessDeniedException".to_string()
        ])
    );
    assert_eq!(response.kms_ciphertext_key(), None);
    assert!(!client.is_encrypted());
}

#[test]
fn a_data_key_of_the_wrong_size_fails_the_action_instead_of_encrypting() {
    let now = Instant::now();
    let (mut client, mut agent) = sessions(now);
    agent.start_handshake(now, kms_request()).unwrap();
    deliver(&mut agent, &mut client, now, |_| {});
    let result = client.complete_kms(now, BLOB, &[0; 32], Box::new(Counting(0)));
    assert!(matches!(result, Err(SendError::Crypto(_))));
    assert!(!client.is_encrypted());
    deliver(&mut client, &mut agent, now, |_| {});
    let failed = events(&mut agent).into_iter().any(
        |event| matches!(event, Event::HandshakeResponded(response) if !response.all_succeeded()),
    );
    assert!(failed);
}
