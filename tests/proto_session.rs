//! One `Session` at a time, fed hand-made frames: the exact bytes it writes, its timers,
//! retransmission bursts and reconnects (protocol.md §2, §3, §5.3, §7.2).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use gangway::proto::*;
use support::frames::*;

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
