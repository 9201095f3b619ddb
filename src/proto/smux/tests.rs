use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::*;
use crate::proto::SplitMix64;

// ---------------------------------------------------------------- codec

fn decode_all(decoder: &mut FrameDecoder, input: &[u8], out: &mut Vec<Frame>) {
    decoder
        .feed(input, |frame| {
            out.push(frame);
            ControlFlow::Continue(())
        })
        .expect("valid input");
}

fn sample_frames() -> Vec<Frame> {
    vec![
        Frame {
            cmd: Cmd::Syn,
            stream: StreamId(3),
            data: vec![],
        },
        Frame {
            cmd: Cmd::Psh,
            stream: StreamId(3),
            data: (0..40u8).collect(),
        },
        Frame {
            cmd: Cmd::Nop,
            stream: StreamId(0),
            data: vec![],
        },
        Frame {
            cmd: Cmd::Psh,
            stream: StreamId(0xDEAD_BEEF),
            data: vec![0x0A],
        },
        Frame {
            cmd: Cmd::Fin,
            stream: StreamId(3),
            data: vec![],
        },
    ]
}

fn encode_all(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        encode_frame(&mut out, frame.cmd, frame.stream, &frame.data);
    }
    out
}

#[test]
fn known_bytes_of_a_syn_and_a_psh() {
    let mut out = Vec::new();
    encode_frame(&mut out, Cmd::Syn, StreamId(3), &[]);
    assert_eq!(out, [1, 0, 0, 0, 3, 0, 0, 0]);
    out.clear();
    encode_data(&mut out, StreamId(3), b"hi", DEFAULT_MAX_FRAME_SIZE);
    assert_eq!(out, [1, 2, 2, 0, 3, 0, 0, 0, b'h', b'i']);

    // And the mux produces exactly these for its first stream.
    let mut client = Mux::new(Role::Client, MuxConfig::default(), Instant::now());
    let id = client.open_stream().expect("open");
    client.send(id, b"hi").expect("send");
    assert_eq!(
        client.poll_transmit(usize::MAX).expect("bytes"),
        [1, 0, 0, 0, 3, 0, 0, 0, 1, 2, 2, 0, 3, 0, 0, 0, b'h', b'i']
    );
}

#[test]
fn round_trip_of_random_frames() {
    let mut rng = SplitMix64::new(7);
    let mut frames = Vec::new();
    for _ in 0..300 {
        let stream = StreamId(rng.next_u64() as u32);
        let frame = match rng.next_u64() % 4 {
            0 => Frame {
                cmd: Cmd::Syn,
                stream,
                data: vec![],
            },
            1 => Frame {
                cmd: Cmd::Fin,
                stream,
                data: vec![],
            },
            2 => Frame {
                cmd: Cmd::Nop,
                stream,
                data: vec![],
            },
            _ => {
                let len = (rng.next_u64() % 65_536) as usize;
                Frame {
                    cmd: Cmd::Psh,
                    stream,
                    data: (0..len).map(|_| rng.next_u64() as u8).collect(),
                }
            }
        };
        frames.push(frame);
    }
    let bytes = encode_all(&frames);
    let mut decoded = Vec::new();
    let mut decoder = FrameDecoder::new();
    // Random chunking, like PT 1 payloads.
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = (1 + rng.next_u64() % 5000) as usize;
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        decode_all(&mut decoder, chunk, &mut decoded);
        rest = tail;
    }
    assert_eq!(decoded, frames);
    assert_eq!(decoder.partial_len(), 0);
}

#[test]
fn split_at_every_byte_boundary() {
    let frames = sample_frames();
    let bytes = encode_all(&frames);
    for split in 0..=bytes.len() {
        let mut decoder = FrameDecoder::new();
        let mut decoded = Vec::new();
        decode_all(&mut decoder, &bytes[..split], &mut decoded);
        decode_all(&mut decoder, &bytes[split..], &mut decoded);
        assert_eq!(decoded, frames, "split at {split}");
    }
    // One byte at a time.
    let mut decoder = FrameDecoder::new();
    let mut decoded = Vec::new();
    for byte in &bytes {
        decode_all(&mut decoder, std::slice::from_ref(byte), &mut decoded);
    }
    assert_eq!(decoded, frames);
}

#[test]
fn many_frames_in_one_chunk() {
    let frames: Vec<Frame> = (0..1000)
        .map(|i| Frame {
            cmd: Cmd::Psh,
            stream: StreamId(2 * i + 3),
            data: vec![i as u8; (i % 7) as usize + 1],
        })
        .collect();
    let mut decoder = FrameDecoder::new();
    let mut decoded = Vec::new();
    decode_all(&mut decoder, &encode_all(&frames), &mut decoded);
    assert_eq!(decoded, frames);
}

#[test]
fn data_is_split_at_max_frame_size() {
    let data = vec![0x55; 100_000];
    let mut out = Vec::new();
    encode_data(&mut out, StreamId(5), &data, DEFAULT_MAX_FRAME_SIZE);
    let mut decoded = Vec::new();
    decode_all(&mut FrameDecoder::new(), &out, &mut decoded);
    let sizes: Vec<usize> = decoded.iter().map(|f| f.data.len()).collect();
    assert_eq!(sizes, [32_768, 32_768, 32_768, 1_696]);
    assert!(
        decoded
            .iter()
            .all(|f| f.cmd == Cmd::Psh && f.stream == StreamId(5))
    );
}

#[test]
fn invalid_headers_are_errors_after_the_good_frames() {
    let cases: [(&[u8], FrameError); 4] = [
        (&[2, 0, 0, 0, 3, 0, 0, 0], FrameError::Version(2)),
        (&[1, 4, 8, 0, 3, 0, 0, 0], FrameError::Command(4)),
        (
            &[1, 0, 1, 0, 3, 0, 0, 0],
            FrameError::UnexpectedData {
                cmd: Cmd::Syn,
                length: 1,
            },
        ),
        (
            &[1, 3, 0, 1, 0, 0, 0, 0],
            FrameError::UnexpectedData {
                cmd: Cmd::Nop,
                length: 256,
            },
        ),
    ];
    for (bad, expected) in cases {
        let mut input = encode_all(&sample_frames());
        input.extend_from_slice(bad);
        input.extend_from_slice(&encode_all(&sample_frames()));
        let mut decoder = FrameDecoder::new();
        let mut decoded = Vec::new();
        let result = decoder.feed(&input, |frame| {
            decoded.push(frame);
            ControlFlow::Continue(())
        });
        assert_eq!(result, Err(expected.clone()));
        assert_eq!(decoded, sample_frames());
        // It stays failed.
        assert_eq!(
            decoder.feed(&encode_all(&sample_frames()), |_| ControlFlow::Continue(())),
            Err(expected)
        );
    }
}

#[test]
fn garbage_never_panics_and_memory_stays_bounded() {
    let mut rng = SplitMix64::new(0x5EED);
    for round in 0..300 {
        let mut bytes: Vec<u8> = if round % 2 == 0 {
            // Pure noise, biased towards version 1 and small commands so that frames parse.
            (0..4096)
                .map(|i| match (i % 8, rng.next_u64() % 4) {
                    (0, 0..=2) => 1,
                    (1, 0..=2) => (rng.next_u64() % 4) as u8,
                    _ => rng.next_u64() as u8,
                })
                .collect()
        } else {
            // A valid stream with a few bytes flipped.
            let mut valid = encode_all(&sample_frames());
            valid.extend(encode_all(&sample_frames()));
            valid
        };
        for _ in 0..3 {
            let i = (rng.next_u64() as usize) % bytes.len();
            bytes[i] = rng.next_u64() as u8;
        }
        let mut decoder = FrameDecoder::new();
        let mut mux = Mux::new(
            if round % 3 == 0 {
                Role::Client
            } else {
                Role::Server
            },
            MuxConfig::default(),
            Instant::now(),
        );
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = (1 + rng.next_u64() % 300) as usize;
            let (chunk, tail) = rest.split_at(n.min(rest.len()));
            let _ = decoder.feed(chunk, |_| ControlFlow::Continue(()));
            assert!(decoder.partial_len() <= HEADER_SIZE + 65_535);
            mux.handle_input(chunk);
            while mux.poll_event().is_some() {}
            assert!(mux.buffered_bytes() <= MuxConfig::default().receive_hard_limit);
            rest = tail;
        }
    }
}

// ---------------------------------------------------------------- mux behaviour

fn frames_of(mux: &mut Mux) -> Vec<Frame> {
    let mut decoded = Vec::new();
    if let Some(bytes) = mux.poll_transmit(usize::MAX) {
        decode_all(&mut FrameDecoder::new(), &bytes, &mut decoded);
    }
    decoded
}

fn events_of(mux: &mut Mux) -> Vec<MuxEvent> {
    std::iter::from_fn(|| mux.poll_event()).collect()
}

fn no_keepalive() -> MuxConfig {
    MuxConfig {
        keepalive: false,
        ..MuxConfig::default()
    }
}

#[test]
fn stream_ids_follow_xtaci() {
    let now = Instant::now();
    let mut client = Mux::new(Role::Client, no_keepalive(), now);
    let ids: Vec<u32> = (0..3)
        .map(|_| client.open_stream().expect("id").0)
        .collect();
    assert_eq!(ids, [3, 5, 7]);
    let mut server = Mux::new(Role::Server, no_keepalive(), now);
    let ids: Vec<u32> = (0..2)
        .map(|_| server.open_stream().expect("id").0)
        .collect();
    assert_eq!(ids, [2, 4]);
    // An id the peer already opened is skipped rather than shared.
    let mut client = Mux::new(Role::Client, no_keepalive(), now);
    let mut syn = Vec::new();
    encode_frame(&mut syn, Cmd::Syn, StreamId(3), &[]);
    client.handle_input(&syn);
    assert_eq!(
        events_of(&mut client),
        [MuxEvent::StreamAccepted(StreamId(3))]
    );
    assert_eq!(client.open_stream(), Ok(StreamId(5)));
}

#[test]
fn unknown_duplicate_and_late_frames_are_handled_like_xtaci() {
    let mut server = Mux::new(Role::Server, no_keepalive(), Instant::now());
    let mut input = Vec::new();
    encode_frame(&mut input, Cmd::Psh, StreamId(3), b"early"); // PSH before SYN: dropped
    encode_frame(&mut input, Cmd::Fin, StreamId(9), &[]); // FIN for unknown: ignored
    encode_frame(&mut input, Cmd::Syn, StreamId(3), &[]);
    encode_frame(&mut input, Cmd::Psh, StreamId(3), b"one");
    encode_frame(&mut input, Cmd::Syn, StreamId(3), &[]); // duplicate SYN: ignored
    encode_frame(&mut input, Cmd::Psh, StreamId(3), &[]); // empty PSH: skipped
    encode_frame(&mut input, Cmd::Psh, StreamId(3), b"two");
    encode_frame(&mut input, Cmd::Fin, StreamId(3), &[]);
    encode_frame(&mut input, Cmd::Fin, StreamId(3), &[]); // second FIN: ignored
    encode_frame(&mut input, Cmd::Psh, StreamId(3), b"late"); // after FIN: dropped
    server.handle_input(&input);
    assert_eq!(
        events_of(&mut server),
        [
            MuxEvent::StreamAccepted(StreamId(3)),
            MuxEvent::Data(StreamId(3), b"onetwo".to_vec()),
            MuxEvent::StreamFinished(StreamId(3)),
        ]
    );
    assert_eq!(server.stats().dropped_frames, 2);
    assert_eq!(server.stats().dropped_bytes, 9);
    assert_eq!(server.buffered_bytes(), 6);
    assert!(!server.is_dead());
}

#[test]
fn fin_in_both_directions() {
    let now = Instant::now();
    let mut client = Mux::new(Role::Client, no_keepalive(), now);
    let mut server = Mux::new(Role::Server, no_keepalive(), now);
    let id = client.open_stream().expect("open");
    client.send(id, b"hello").expect("send");
    client.close_write(id).expect("half-close");
    assert_eq!(client.send(id, b"x"), Err(StreamError::WriteClosed(id)));
    assert_eq!(client.close_write(id), Err(StreamError::WriteClosed(id)));
    server.handle_input(&client.poll_transmit(usize::MAX).expect("bytes"));
    assert_eq!(
        events_of(&mut server),
        [
            MuxEvent::StreamAccepted(id),
            MuxEvent::Data(id, b"hello".to_vec()),
            MuxEvent::StreamFinished(id),
        ]
    );
    server.consumed(id, 5);
    // The server may still answer after the client's FIN (half-close), then closes.
    server.send(id, b"world").expect("send after peer FIN");
    server.close(id).expect("close");
    assert_eq!(server.stream_count(), 0);
    assert_eq!(
        frames_of(&mut server),
        [
            Frame {
                cmd: Cmd::Psh,
                stream: id,
                data: b"world".to_vec()
            },
            Frame {
                cmd: Cmd::Fin,
                stream: id,
                data: vec![]
            },
        ]
    );
    let mut reply = Vec::new();
    encode_data(&mut reply, id, b"world", DEFAULT_MAX_FRAME_SIZE);
    encode_frame(&mut reply, Cmd::Fin, id, &[]);
    client.handle_input(&reply);
    assert_eq!(
        events_of(&mut client),
        [
            MuxEvent::Data(id, b"world".to_vec()),
            MuxEvent::StreamFinished(id)
        ]
    );
    assert_eq!(client.buffered_bytes(), 5);
    client.close(id).expect("close");
    // Closing released the unconsumed bytes and sent no second FIN.
    assert_eq!(client.buffered_bytes(), 0);
    assert_eq!(client.poll_transmit(usize::MAX), None);
    assert_eq!(client.close(id), Err(StreamError::UnknownStream(id)));
    // Data for the closed stream is dropped on the server.
    let mut late = Vec::new();
    encode_data(&mut late, id, b"late", DEFAULT_MAX_FRAME_SIZE);
    server.handle_input(&late);
    assert_eq!(events_of(&mut server), []);
    assert_eq!(server.stats().dropped_frames, 1);
}

#[test]
fn close_drops_undelivered_events_and_sends_fin() {
    let mut server = Mux::new(Role::Server, no_keepalive(), Instant::now());
    let mut input = Vec::new();
    encode_frame(&mut input, Cmd::Syn, StreamId(3), &[]);
    encode_data(&mut input, StreamId(3), &[7; 1000], DEFAULT_MAX_FRAME_SIZE);
    server.handle_input(&input);
    assert_eq!(server.buffered_bytes(), 1000);
    server.close(StreamId(3)).expect("close");
    assert_eq!(server.buffered_bytes(), 0);
    assert_eq!(events_of(&mut server), []);
    assert_eq!(
        frames_of(&mut server),
        [Frame {
            cmd: Cmd::Fin,
            stream: StreamId(3),
            data: vec![]
        }]
    );
}

#[test]
fn protocol_error_kills_the_session() {
    let mut server = Mux::new(Role::Server, MuxConfig::default(), Instant::now());
    let mut input = Vec::new();
    encode_frame(&mut input, Cmd::Syn, StreamId(3), &[]);
    input.extend_from_slice(&[1, 5, 0, 0, 3, 0, 0, 0]);
    server.handle_input(&input);
    assert_eq!(
        events_of(&mut server),
        [
            MuxEvent::StreamAccepted(StreamId(3)),
            MuxEvent::Error(MuxError::Protocol(FrameError::Command(5))),
        ]
    );
    assert!(server.is_dead());
    assert!(!server.wants_input());
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(server.send(StreamId(3), b"x"), Err(StreamError::Dead));
    assert_eq!(server.open_stream(), Err(StreamError::Dead));
    assert_eq!(server.poll_transmit(usize::MAX), None);
}

#[test]
fn memory_cap_stops_a_peer_that_ignores_backpressure() {
    let now = Instant::now();
    let config = no_keepalive();
    let mut client = Mux::new(Role::Client, config.clone(), now);
    let id = client.open_stream().expect("open");
    let mut server = Mux::new(Role::Server, config.clone(), now);
    server.handle_input(&client.poll_transmit(usize::MAX).expect("syn"));
    assert_eq!(events_of(&mut server), [MuxEvent::StreamAccepted(id)]);
    let chunk = vec![0xAB; 60_000];
    let mut saw_stop = false;
    let mut error = None;
    // The client never consumes and is fed regardless of wants_input().
    for _ in 0..400 {
        server.send(id, &chunk).expect("send");
        while let Some(bytes) = server.poll_transmit(1024) {
            client.handle_input(&bytes);
        }
        assert!(client.buffered_bytes() <= config.receive_hard_limit);
        if client.buffered_bytes() >= config.max_receive_buffer {
            assert!(!client.wants_input());
            saw_stop = true;
        }
        for event in events_of(&mut client) {
            if let MuxEvent::Error(e) = event {
                error = Some(e);
            }
        }
        if error.is_some() {
            break;
        }
    }
    assert!(saw_stop);
    assert!(matches!(
        error,
        Some(MuxError::ReceiveLimit { limit, .. }) if limit == config.receive_hard_limit
    ));
    assert!(client.is_dead());
}

#[test]
fn consuming_reopens_input() {
    let config = MuxConfig {
        max_receive_buffer: 1000,
        ..no_keepalive()
    };
    let mut server = Mux::new(Role::Server, config, Instant::now());
    let mut input = Vec::new();
    encode_frame(&mut input, Cmd::Syn, StreamId(3), &[]);
    encode_data(&mut input, StreamId(3), &[1; 1500], DEFAULT_MAX_FRAME_SIZE);
    server.handle_input(&input);
    assert!(!server.wants_input());
    server.consumed(StreamId(3), 600);
    assert!(server.wants_input());
    assert_eq!(server.buffered_bytes(), 900);
    server.consumed(StreamId(3), 10_000); // capped at what was received
    assert_eq!(server.buffered_bytes(), 0);
}

// ---------------------------------------------------------------- keepalive

fn nop_count(mux: &mut Mux) -> usize {
    frames_of(mux).iter().filter(|f| f.cmd == Cmd::Nop).count()
}

#[test]
fn keepalive_kills_a_silent_peer_at_thirty_seconds() {
    let t0 = Instant::now();
    let mut client = Mux::new(Role::Client, MuxConfig::default(), t0);
    assert_eq!(client.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    let mut nops = 0;
    let mut now = t0;
    // Drive it like an owner would: sleep until poll_timeout, handle it.
    while let Some(deadline) = client.poll_timeout() {
        assert!(deadline > now);
        now = deadline;
        client.handle_timeout(now);
        nops += nop_count(&mut client);
        assert!(now <= t0 + Duration::from_secs(30));
    }
    assert_eq!(now, t0 + Duration::from_secs(30));
    assert_eq!(nops, 2); // at 10 s and 20 s; none once dead
    assert_eq!(
        events_of(&mut client),
        [MuxEvent::Error(MuxError::KeepaliveTimeout)]
    );
}

#[test]
fn keepalive_checks_on_ticks_like_xtaci() {
    let t0 = Instant::now();
    let mut client = Mux::new(Role::Client, MuxConfig::default(), t0);
    let mut nop = Vec::new();
    encode_frame(&mut nop, Cmd::Nop, StreamId(0), &[]);
    client.handle_input(&nop[..3]); // a partial frame counts as activity
    client.handle_timeout(t0 + Duration::from_secs(30));
    assert!(!client.is_dead());
    client.handle_timeout(t0 + Duration::from_secs(59));
    assert!(!client.is_dead());
    client.handle_timeout(t0 + Duration::from_secs(60));
    assert!(client.is_dead());
}

#[test]
fn a_late_timeout_call_sends_one_nop_and_keeps_the_grid() {
    let t0 = Instant::now();
    let mut client = Mux::new(Role::Client, MuxConfig::default(), t0);
    client.handle_input(&[1]); // activity before the first check
    client.handle_timeout(t0 + Duration::from_secs(25));
    assert_eq!(nop_count(&mut client), 1);
    assert_eq!(client.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    client.handle_timeout(t0 + Duration::from_secs(30));
    assert!(!client.is_dead());
    assert_eq!(client.poll_timeout(), Some(t0 + Duration::from_secs(40)));
}

#[test]
fn keepalive_spares_a_session_whose_owner_stopped_reading() {
    let t0 = Instant::now();
    let config = MuxConfig {
        max_receive_buffer: 10,
        ..MuxConfig::default()
    };
    let mut client = Mux::new(Role::Client, config, t0);
    let id = client.open_stream().expect("open");
    let mut input = Vec::new();
    encode_data(&mut input, id, &[0; 20], DEFAULT_MAX_FRAME_SIZE);
    client.handle_input(&input);
    assert!(!client.wants_input());
    for s in [30, 60, 90, 120] {
        client.handle_timeout(t0 + Duration::from_secs(s));
    }
    assert!(!client.is_dead());
    client.consumed(id, 20);
    client.handle_timeout(t0 + Duration::from_secs(150));
    assert!(client.is_dead());
}

#[test]
fn keepalive_pair_stays_up_and_disabled_sends_no_nops() {
    let t0 = Instant::now();
    let mut client = Mux::new(Role::Client, MuxConfig::default(), t0);
    let mut server = Mux::new(Role::Server, MuxConfig::default(), t0);
    let mut nops = 0;
    for s in 1..=300 {
        let now = t0 + Duration::from_secs(s);
        client.handle_timeout(now);
        server.handle_timeout(now);
        while let Some(bytes) = client.poll_transmit(usize::MAX) {
            nops += bytes.len() / HEADER_SIZE;
            server.handle_input(&bytes);
        }
        while let Some(bytes) = server.poll_transmit(usize::MAX) {
            client.handle_input(&bytes);
        }
    }
    assert!(!client.is_dead() && !server.is_dead());
    assert_eq!(nops, 30);

    let mut quiet = Mux::new(Role::Server, no_keepalive(), t0);
    assert_eq!(quiet.poll_timeout(), None);
    quiet.handle_timeout(t0 + Duration::from_secs(100));
    assert_eq!(quiet.poll_transmit(usize::MAX), None);
    assert!(!quiet.is_dead());
}

// ---------------------------------------------------------------- a client/server pair

/// The deterministic content of one direction of one stream.
fn stream_bytes(id: StreamId, from_client: bool, len: usize) -> Vec<u8> {
    let mut rng = SplitMix64::new(u64::from(id.0) * 2 + u64::from(from_client));
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

struct Side {
    mux: Mux,
    /// Stream → bytes of its outgoing content sent so far.
    sending: BTreeMap<StreamId, usize>,
    content: HashMap<StreamId, Vec<u8>>,
    received: HashMap<StreamId, Sha256>,
    finished: HashMap<StreamId, [u8; 32]>,
    /// Data handed out and not yet "written onwards".
    owed: VecDeque<(StreamId, usize)>,
    closed: usize,
    saw_backpressure: bool,
}

impl Side {
    fn new(role: Role) -> Self {
        Self {
            mux: Mux::new(role, no_keepalive(), Instant::now()),
            sending: BTreeMap::new(),
            content: HashMap::new(),
            received: HashMap::new(),
            finished: HashMap::new(),
            owed: VecDeque::new(),
            closed: 0,
            saw_backpressure: false,
        }
    }

    fn send_some(&mut self, rng: &mut SplitMix64, per_stream: usize, from_client: bool) {
        let ids: Vec<StreamId> = self.sending.keys().copied().collect();
        for id in ids {
            if self.mux.pending_transmit_bytes() > 1 << 20 {
                break;
            }
            let sent = self.sending[&id];
            if sent == per_stream {
                continue;
            }
            let n = ((1 + rng.next_u64() % 20_000) as usize).min(per_stream - sent);
            let content = self
                .content
                .entry(id)
                .or_insert_with(|| stream_bytes(id, from_client, per_stream));
            self.mux.send(id, &content[sent..sent + n]).expect("send");
            self.sending.insert(id, sent + n);
            if sent + n == per_stream {
                self.mux.close_write(id).expect("fin");
            }
        }
    }

    fn handle_events(&mut self) {
        while let Some(event) = self.mux.poll_event() {
            match event {
                MuxEvent::StreamAccepted(id) => {
                    self.sending.insert(id, 0);
                }
                MuxEvent::Data(id, bytes) => {
                    self.received.entry(id).or_default().update(&bytes);
                    self.owed.push_back((id, bytes.len()));
                }
                MuxEvent::StreamFinished(id) => {
                    let hash = self.received.remove(&id).unwrap_or_default().finalize();
                    self.finished.insert(id, hash.into());
                }
                MuxEvent::Error(error) => panic!("mux died: {error}"),
            }
        }
    }

    /// Writes up to `budget` owed bytes onwards, then closes streams done both ways.
    fn consume(&mut self, mut budget: usize, per_stream: usize) {
        if !self.mux.wants_input() {
            self.saw_backpressure = true;
        }
        while budget > 0 {
            let Some((id, n)) = self.owed.pop_front() else {
                break;
            };
            let take = n.min(budget);
            self.mux.consumed(id, take);
            budget -= take;
            if take < n {
                self.owed.push_front((id, n - take));
            }
        }
        let done: Vec<StreamId> = self
            .finished
            .keys()
            .copied()
            .filter(|id| {
                self.sending.get(id) == Some(&per_stream) && !self.owed.iter().any(|o| o.0 == *id)
            })
            .collect();
        for id in done {
            if self.sending.remove(&id).is_some() {
                self.mux.close(id).expect("close");
                self.closed += 1;
            }
        }
    }
}

/// Moves bytes from `from` to `to` in payload-sized chunks while `to` wants input.
fn carry(from: &mut Mux, link: &mut VecDeque<Vec<u8>>, to: &mut Mux, rng: &mut SplitMix64) {
    while link.iter().map(Vec::len).sum::<usize>() < 256 * 1024 {
        let Some(bytes) = from.poll_transmit((1 + rng.next_u64() % 8192) as usize) else {
            break;
        };
        link.push_back(bytes);
    }
    while to.wants_input() {
        let Some(bytes) = link.pop_front() else {
            break;
        };
        to.handle_input(&bytes);
    }
}

#[test]
fn pair_carries_8_mib_on_50_streams_both_ways() {
    const STREAMS: usize = 50;
    const TOTAL: usize = 8 * 1024 * 1024;
    let per_stream = TOTAL / STREAMS;
    let mut rng = SplitMix64::new(42);
    let mut client = Side::new(Role::Client);
    let mut server = Side::new(Role::Server);
    let mut c2s = VecDeque::new();
    let mut s2c = VecDeque::new();
    for _ in 0..STREAMS {
        let id = client.mux.open_stream().expect("open");
        client.sending.insert(id, 0);
    }
    let mut steps = 0;
    while client.closed < STREAMS || server.closed < STREAMS {
        steps += 1;
        assert!(steps < 100_000, "stalled");
        client.send_some(&mut rng, per_stream, true);
        server.send_some(&mut rng, per_stream, false);
        carry(&mut client.mux, &mut c2s, &mut server.mux, &mut rng);
        carry(&mut server.mux, &mut s2c, &mut client.mux, &mut rng);
        client.handle_events();
        server.handle_events();
        // Input stops at the limit; the overshoot is at most the frame and chunk in flight.
        let bound = MuxConfig::default().max_receive_buffer + DEFAULT_MAX_FRAME_SIZE + 8192;
        assert!(client.mux.buffered_bytes() <= bound);
        assert!(server.mux.buffered_bytes() <= bound);
        client.consume(64 * 1024, per_stream);
        server.consume(64 * 1024, per_stream);
    }
    assert_eq!(client.finished.len(), STREAMS);
    assert_eq!(server.finished.len(), STREAMS);
    for id in client.finished.keys() {
        let to_client: [u8; 32] = Sha256::digest(stream_bytes(*id, false, per_stream)).into();
        let to_server: [u8; 32] = Sha256::digest(stream_bytes(*id, true, per_stream)).into();
        assert_eq!(client.finished[id], to_client, "stream {id} to the client");
        assert_eq!(server.finished[id], to_server, "stream {id} to the server");
    }
    assert!(client.saw_backpressure && server.saw_backpressure);
    for side in [&client, &server] {
        assert_eq!(side.mux.stream_count(), 0);
        assert_eq!(side.mux.buffered_bytes(), 0);
        assert_eq!(side.mux.stats().dropped_frames, 0);
    }
}
