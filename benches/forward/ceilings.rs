//! The two ceilings of issue 12, measured in the same run as gangway's figures:
//!
//! - upwards, [`bare_websocket_up`]: the same bytes over a bare loopback websocket with the
//!   protocol's framing and acknowledgement shape — real frames from `proto`'s encoder
//!   (SHA-256 digest included), decoded on the far side and answered by a real acknowledge
//!   frame each, at most gangway's window of unacknowledged messages in flight — but no
//!   session, no tunnel, no local TCP, no process boundary;
//! - downwards, [`agent_pace_down`]: what the emulator's agent really delivers for one port
//!   session, read by a bare protocol client (StartSession, the websocket, `proto::Session`
//!   for the handshake and the acks, `proto::smux` for the stream) that does nothing else, so
//!   the figure is the agent's pace and not gangway's forwarding.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{FutureExt, SinkExt, StreamExt};
use gangway::aws::{AwsClient, StartSessionRequest};
use gangway::proto::port_mode::{PortMode, PortSessionOffer};
use gangway::proto::smux::{Mux, MuxConfig, MuxEvent, Role as MuxRole};
use gangway::proto::{
    Acknowledge, Event, Frame, MessageType, PayloadType, SeededIds, Session, SessionConfig,
};
use gangway::transport::{open_data_channel_json, process_client_id};
use gangway::tunnel::Destination;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Payload bytes per message: the protocol's 1 KiB (§5.3), as gangway sends them.
const PAYLOAD: usize = 1024;
/// gangway's window of unacknowledged input messages (`ChannelOptions::max_in_flight_messages`).
const WINDOW: usize = 512;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

fn frame(
    message_type: MessageType,
    sequence: i64,
    payload_type: PayloadType,
    payload: Vec<u8>,
) -> Frame {
    Frame {
        message_type,
        schema_version: 1,
        created_ms: unix_ms(),
        sequence,
        flags: u64::from(sequence == 0),
        message_id: Uuid::new_v4(),
        payload_type,
        payload,
    }
}

/// `bytes` upwards in 1 KiB input frames over a loopback websocket, each decoded (digest
/// checked) and acknowledged by the receiver; returns the time from the first frame to the
/// receiver's last byte.
pub async fn bare_websocket_up(bytes: u64) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let receiver = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let mut socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let mut received = 0u64;
        while received < bytes {
            // One message, then every one already there, then a single flush for the batch
            // of acks: as a transport answers a batch of frames.
            let mut next = socket.next().await;
            loop {
                match next {
                    Some(Ok(Message::Binary(wire))) => {
                        let input = Frame::decode(&wire).expect("a valid input frame");
                        received += input.payload.len() as u64;
                        let ack = Acknowledge {
                            acknowledged_message_type: input.message_type.as_str().to_owned(),
                            acknowledged_message_id: input.message_id.hyphenated().to_string(),
                            acknowledged_message_sequence_number: input.sequence,
                            is_sequential_message: true,
                        };
                        let answer = frame(
                            MessageType::Acknowledge,
                            0,
                            PayloadType::Null,
                            ack.to_json(),
                        );
                        socket.feed(Message::binary(answer.encode())).await.unwrap();
                    }
                    Some(Ok(_)) => {}
                    other => panic!("the bare websocket ended early: {other:?}"),
                }
                match socket.next().now_or_never() {
                    Some(more) => next = more,
                    None => break,
                }
            }
            socket.flush().await.unwrap();
        }
        Instant::now()
    });
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/"))
        .await
        .unwrap();
    let (mut sink, mut answers) = socket.split();
    let payload = vec![0xa5u8; PAYLOAD];
    let messages = bytes.div_ceil(PAYLOAD as u64) as i64;
    let started = Instant::now();
    let mut acked = 0i64;
    for sequence in 0..messages {
        while sequence - acked >= WINDOW as i64 {
            sink.flush().await.unwrap();
            let Some(Ok(Message::Binary(wire))) = answers.next().await else {
                panic!("no acknowledgement");
            };
            let answer = Frame::decode(&wire).unwrap();
            Acknowledge::from_json(&answer.payload).unwrap();
            acked += 1;
        }
        let input = frame(
            MessageType::InputStreamData,
            sequence,
            PayloadType::Output,
            payload.clone(),
        );
        sink.feed(Message::binary(input.encode())).await.unwrap();
    }
    sink.flush().await.unwrap();
    let finished = receiver.await.unwrap();
    finished - started
}

/// What the bare client reads.
pub enum Down {
    /// A port session to the instance's `port`: one smux stream asking the bench server for
    /// the bytes (`D`), as `download` does through gangway.
    Port(u16),
    /// AWS-StartInteractiveCommand writing the bytes to its pty (`head -c`), as `gangway cp`
    /// reads a file: the agent's pace for a shell session.
    Pty,
}

/// One session to `instance`, read by a bare protocol client: the time from the moment data
/// may flow (the smux stream opened and the request sent; or the session open) to the last
/// of `bytes`.
pub async fn agent_pace_down(endpoint: &str, instance: &str, what: Down, bytes: u64) -> Duration {
    let aws =
        AwsClient::with_static_credentials("us-east-1", endpoint, "AKIAGANGWAYADMIN", "gangway");
    let (request, port_session) = match what {
        Down::Port(port) => (Destination::Port(port).request(instance, None), true),
        Down::Pty => {
            let command = format!("stty raw -echo; head -c {bytes} /dev/zero; sleep 60");
            let request = StartSessionRequest {
                target: instance.to_owned(),
                document_name: Some("AWS-StartInteractiveCommand".to_owned()),
                parameters: [("command".to_owned(), vec![command])].into(),
                reason: None,
            };
            (request, false)
        }
    };
    let started = aws.start_session(&request).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::connect_async(started.stream_url.expose())
        .await
        .unwrap();
    let open = open_data_channel_json(&started.token, Uuid::new_v4(), process_client_id());
    socket.send(Message::text(open)).await.unwrap();
    let mut config = SessionConfig::client(started.session_id.clone());
    config.port_sessions = port_session;
    let mut session = Session::new(
        config,
        Box::new(SeededIds::new(7)),
        Instant::now(),
        unix_ms(),
    );
    let mut mux: Option<Mux> = None;
    let mut begun: Option<Instant> = None;
    let mut received = 0u64;
    let took = loop {
        let now = Instant::now();
        while let Some(event) = session.poll_event() {
            match event {
                Event::HandshakeRequested(request) => {
                    let Some(offer) = PortSessionOffer::from_request(&request) else {
                        continue; // a shell session: nothing to set up
                    };
                    let PortMode::Mux { keepalive } = offer.mode else {
                        panic!("the agent offered {:?}, not mux", offer.mode);
                    };
                    let config = MuxConfig {
                        keepalive,
                        ..MuxConfig::default()
                    };
                    mux = Some(Mux::new(MuxRole::Client, config, now));
                }
                Event::Opened { .. } => {
                    if let Some(mux) = mux.as_mut() {
                        let stream = mux.open_stream().unwrap();
                        let mut ask = vec![b'D'];
                        ask.extend_from_slice(&bytes.to_le_bytes());
                        mux.send(stream, &ask).unwrap();
                    }
                    begun = Some(now);
                }
                Event::Data { bytes: data, .. } => match mux.as_mut() {
                    Some(mux) => {
                        mux.handle_input(&data);
                        while let Some(event) = mux.poll_event() {
                            if let MuxEvent::Data(stream, data) = event {
                                received += data.len() as u64;
                                mux.consumed(stream, data.len());
                            }
                        }
                    }
                    None => received += data.len() as u64,
                },
                Event::ChannelClosed(closed) => panic!("the session closed: {closed:?}"),
                _ => {}
            }
        }
        if received >= bytes {
            break begun.expect("opened").elapsed();
        }
        if let Some(mux) = mux.as_mut() {
            while let Some(chunk) = mux.poll_transmit(16 * PAYLOAD) {
                let accepted = session.send_data(now, &chunk);
                assert_eq!(accepted, chunk.len(), "the bench asks for a few bytes only");
            }
        }
        while let Some(wire) = session.poll_transmit(now) {
            socket.feed(Message::binary(wire)).await.unwrap();
        }
        socket.flush().await.unwrap();
        let deadline = session.poll_timeout();
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Binary(wire))) => session.handle_frame(Instant::now(), &wire),
                Some(Ok(_)) => {}
                other => panic!("the websocket ended: {other:?}"),
            },
            () = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            } => session.handle_timeout(Instant::now()),
        }
    };
    let _ = aws.terminate_session(&started.session_id).await;
    took
}
