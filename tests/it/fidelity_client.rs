//! Issue 11, items 4–6: gangway's client behaves towards the agent and the service as the
//! reference client does (protocol.md §2.1, §3, §4.4, §4.4.1, §5.4).
//!
//! - the product's transport against a scripted agent (one websocket, a `proto::Session` in
//!   the agent role plus hand-made service frames): one ClientVersion in OpenDataChannel and
//!   in the HandshakeResponse; a Port session answered Failed and ended with the reason;
//!   pause_publication holding input until start_publication; a longer header and an odd
//!   channel_closed still understood;
//! - the emulator's agent deciding on the HandshakeResponse's ClientVersion, never on
//!   OpenDataChannel's;
//! - a property: the receivers' lenient decoder accepts whatever the strict one does.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gangway::proto::{
    self, ActionStatus, Event, Frame, HandshakeComplete, HandshakeRequest, HandshakeResponse,
    MessageType, PayloadType, RequestedClientAction, SeededIds, Session, SessionConfig,
};
use gangway::transport::{
    ChannelEvent, ChannelOptions, Dialer, Resumer, SecretString, SessionChannel, SessionEndpoint,
};
use proptest::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::support::agent_client::{StartedSession, config, instance_in};
use crate::support::aws_clients::{DEV, ssm};
use crate::support::emulator::start;
use crate::support::unix_ms;

const SESSION_ID: &str = "fidelity-0123456789abcdef0";
/// A generous bound for "soon" on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long input must stay away to count as held back.
const HELD_FOR: Duration = Duration::from_millis(400);

/// What the test tells the scripted agent to do.
enum Script {
    Handshake(&'static str),
    Complete,
    Output(Vec<u8>),
    /// Bytes written as they are: service frames and hand-laid frames.
    Raw(Vec<u8>),
    /// A websocket ping: its pong means the client's reader has taken every frame before it.
    Ping,
}

/// What the scripted agent saw.
#[derive(Debug)]
enum Seen {
    Open(serde_json::Value),
    Event(Event),
    Pong,
}

/// The agent's end of one websocket, driven by `Script` commands.
struct ScriptedAgent {
    url: String,
    script: mpsc::UnboundedSender<Script>,
    seen: mpsc::UnboundedReceiver<Seen>,
}

impl ScriptedAgent {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (script, mut commands) = mpsc::unbounded_channel::<Script>();
        let (report, seen) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let Some(Ok(Message::Text(open))) = ws.next().await else {
                panic!("no OpenDataChannel");
            };
            let _ = report.send(Seen::Open(serde_json::from_str(&open).unwrap()));
            let mut session = Session::new(
                SessionConfig::agent(SESSION_ID),
                Box::new(SeededIds::new(3)),
                Instant::now(),
                unix_ms(),
            );
            loop {
                let now = Instant::now();
                // Events first: the client may have closed the socket right behind its frame.
                while let Some(event) = session.poll_event() {
                    let _ = report.send(Seen::Event(event));
                }
                while let Some(frame) = session.poll_transmit(now) {
                    if ws.send(Message::binary(frame)).await.is_err() {
                        return;
                    }
                }
                let deadline = session.poll_timeout();
                let sleep = async {
                    match deadline {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    message = ws.next() => match message {
                        Some(Ok(Message::Binary(bytes))) => session.handle_frame(Instant::now(), &bytes),
                        Some(Ok(Message::Pong(_))) => {
                            let _ = report.send(Seen::Pong);
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    command = commands.recv() => {
                        let now = Instant::now();
                        match command {
                            Some(Script::Handshake(session_type)) => {
                                let request = HandshakeRequest {
                                    agent_version: "3.3.1142.0".into(),
                                    requested_client_actions: vec![RequestedClientAction::session_type(
                                        session_type,
                                        serde_json::Value::Null,
                                    )],
                                };
                                session.start_handshake(now, request).unwrap();
                            }
                            Some(Script::Complete) => {
                                let complete = HandshakeComplete {
                                    handshake_time_to_complete: 1_000_000,
                                    customer_message: String::new(),
                                };
                                session.complete_handshake(now, complete).unwrap();
                            }
                            Some(Script::Output(bytes)) => {
                                assert_eq!(session.send_data(now, &bytes), bytes.len());
                            }
                            Some(Script::Raw(bytes)) => {
                                if ws.send(Message::binary(bytes)).await.is_err() {
                                    return;
                                }
                            }
                            Some(Script::Ping) => {
                                if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                                    return;
                                }
                            }
                            None => return,
                        }
                    }
                    () = sleep => session.handle_timeout(Instant::now()),
                }
            }
        });
        Self {
            url: format!("ws://127.0.0.1:{port}/v1/data-channel/{SESSION_ID}"),
            script,
            seen,
        }
    }

    fn run(&self, command: Script) {
        self.script.send(command).unwrap();
    }

    /// The next thing seen for which `pick` gives a value; panics after PATIENCE.
    async fn wait_for<T>(&mut self, mut pick: impl FnMut(Seen) -> Option<T>) -> T {
        let give_up = tokio::time::Instant::now() + PATIENCE;
        loop {
            let seen = tokio::time::timeout_at(give_up, self.seen.recv())
                .await
                .expect("the agent saw nothing of the kind in time")
                .expect("the agent stopped");
            if let Some(value) = pick(seen) {
                return value;
            }
        }
    }

    async fn handshake_response(&mut self) -> HandshakeResponse {
        self.wait_for(|seen| match seen {
            Seen::Event(Event::HandshakeResponded(response)) => Some(response),
            _ => None,
        })
        .await
    }

    async fn input(&mut self) -> Vec<u8> {
        self.wait_for(|seen| match seen {
            Seen::Event(Event::Data { bytes, .. }) => Some(bytes),
            _ => None,
        })
        .await
    }

    /// Whether any input arrives within `window`.
    async fn input_within(&mut self, window: Duration) -> Option<Vec<u8>> {
        let until = tokio::time::Instant::now() + window;
        loop {
            match tokio::time::timeout_at(until, self.seen.recv()).await {
                Err(_) | Ok(None) => return None,
                Ok(Some(Seen::Event(Event::Data { bytes, .. }))) => return Some(bytes),
                Ok(Some(_)) => {}
            }
        }
    }

    async fn open_frame(&mut self) -> serde_json::Value {
        self.wait_for(|seen| match seen {
            Seen::Open(open) => Some(open),
            _ => None,
        })
        .await
    }
}

/// The product's transport, dialled at the scripted agent; no resume.
async fn open_channel(agent: &ScriptedAgent) -> SessionChannel {
    let endpoint = SessionEndpoint {
        session_id: SESSION_ID.into(),
        stream_url: SecretString::new(agent.url.clone()),
        token: SecretString::new("token-0"),
    };
    let no_resume: Resumer = Arc::new(|| Box::pin(async { Ok(None) }));
    SessionChannel::open(
        endpoint,
        Dialer::with_env(HashMap::new()).unwrap(),
        no_resume,
        ChannelOptions::default(),
    )
    .await
    .unwrap()
}

/// The next event for which `pick` gives a value; panics on a final event or after PATIENCE.
async fn next_matching<T>(
    channel: &mut SessionChannel,
    mut pick: impl FnMut(&ChannelEvent) -> Option<T>,
) -> T {
    let give_up = tokio::time::Instant::now() + PATIENCE;
    loop {
        let event = tokio::time::timeout_at(give_up, channel.next_event())
            .await
            .expect("no such event in time")
            .expect("the channel ended");
        if let Some(value) = pick(&event) {
            return value;
        }
        assert!(!event.is_final(), "ended early: {event:?}");
    }
}

/// A service frame (seq 0, flags 3, PayloadType 0), as the service makes them (§2.2).
fn service_frame(message_type: MessageType, payload: &[u8]) -> Vec<u8> {
    Frame {
        message_type,
        schema_version: 1,
        created_ms: unix_ms(),
        sequence: 0,
        flags: proto::FLAG_SYN | proto::FLAG_FIN,
        message_id: uuid::Uuid::new_v4(),
        payload_type: PayloadType::Null,
        payload: payload.to_vec(),
    }
    .encode()
}

#[tokio::test]
async fn one_client_version_goes_in_open_data_channel_and_in_the_handshake_response() {
    let mut agent = ScriptedAgent::start().await;
    let mut channel = open_channel(&agent).await;
    let open = agent.open_frame().await;
    agent.run(Script::Handshake("NonInteractiveCommands"));
    let response = agent.handshake_response().await;
    assert!(response.all_succeeded());
    // §4.4.1: a released version past every agent threshold, the same string in both.
    assert_eq!(response.client_version, "1.2.677.0");
    assert_eq!(open["ClientVersion"], response.client_version.as_str());
    agent.run(Script::Complete);
    agent.run(Script::Output(b"done\n".to_vec()));
    let output = next_matching(&mut channel, |event| match event {
        ChannelEvent::Output(bytes) => Some(bytes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(output, b"done\n");
}

#[tokio::test]
async fn a_port_session_offered_to_a_shell_channel_is_answered_failed_and_ends_with_a_clear_reason()
{
    let mut agent = ScriptedAgent::start().await;
    let mut channel = open_channel(&agent).await;
    agent.run(Script::Handshake("Port"));
    let response = agent.handshake_response().await;
    let action = &response.processed_client_actions[0];
    assert_eq!(action.action_type, "SessionType");
    assert_eq!(action.action_status, ActionStatus::Failed.as_u32());
    assert!(
        action.error.contains("cannot run Port sessions"),
        "{action:?}"
    );
    // The client does not wait for a channel_closed that may never come.
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = channel.next_event().await.expect("a final event");
            if event.is_final() {
                return event;
            }
        }
    })
    .await
    .expect("the client hung after refusing the session type");
    assert_eq!(
        end,
        ChannelEvent::Closed {
            reason: Some(gangway::proto::PORT_REFUSAL.into())
        }
    );
}

#[tokio::test]
async fn pause_publication_holds_input_until_start_publication() {
    let mut agent = ScriptedAgent::start().await;
    let mut channel = open_channel(&agent).await;
    agent.run(Script::Output(b"$ ".to_vec()));
    next_matching(&mut channel, |event| {
        matches!(event, ChannelEvent::Output(_)).then_some(())
    })
    .await;
    channel.send_input(b"before\r".to_vec()).await.unwrap();
    assert_eq!(agent.input().await, b"before\r");

    agent.run(Script::Raw(service_frame(
        MessageType::PausePublication,
        b"",
    )));
    // The pause and the input travel different paths: wait until the client's reader has
    // passed the pause frame on (it answers the ping behind it) before typing.
    agent.run(Script::Ping);
    agent
        .wait_for(|seen| matches!(seen, Seen::Pong).then_some(()))
        .await;
    channel.send_input(b"during\r".to_vec()).await.unwrap();
    assert_eq!(
        agent.input_within(HELD_FOR).await,
        None,
        "input went out while paused"
    );

    agent.run(Script::Raw(service_frame(
        MessageType::StartPublication,
        b"",
    )));
    assert_eq!(agent.input().await, b"during\r");
}

#[tokio::test]
async fn a_longer_header_and_an_odd_channel_closed_are_understood() {
    let agent = ScriptedAgent::start().await;
    let mut channel = open_channel(&agent).await;
    // Output seq 0 laid out with HeaderLength 120: the payload starts at 124 (§2.1).
    let canonical = Frame {
        message_type: MessageType::OutputStreamData,
        schema_version: 1,
        created_ms: unix_ms(),
        sequence: 0,
        flags: proto::FLAG_SYN,
        message_id: uuid::Uuid::new_v4(),
        payload_type: PayloadType::Output,
        payload: b"hello\n".to_vec(),
    }
    .encode();
    let mut longer = canonical[..116].to_vec();
    longer[..4].copy_from_slice(&120u32.to_be_bytes());
    longer.extend_from_slice(&[0; 4]);
    longer.extend_from_slice(&canonical[116..]);
    agent.run(Script::Raw(longer));
    let output = next_matching(&mut channel, |event| match event {
        ChannelEvent::Output(bytes) => Some(bytes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(output, b"hello\n");

    // A SchemaVersion as text and a null Output: the plugin still ends the session (§3).
    let odd = br#"{"MessageId":"x","SchemaVersion":"1","Output":null,"SessionId":7}"#;
    agent.run(Script::Raw(service_frame(MessageType::ChannelClosed, odd)));
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = channel.next_event().await.expect("a final event");
            if event.is_final() {
                return event;
            }
        }
    })
    .await
    .expect("an odd channel_closed did not end the session");
    assert_eq!(end, ChannelEvent::Closed { reason: None });
}

/// Runs a NonInteractiveCommands session against the emulator with `open_version` in
/// OpenDataChannel and `handshake_version` in the HandshakeResponse; returns the
/// HandshakeComplete's CustomerMessage.
async fn customer_message(open_version: &str, handshake_version: &str) -> String {
    let emulator = start(config(6)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    // The notice concerns separate output streams, so only such a session gets it (§4.5).
    let started = dev
        .start_session()
        .target(&target.id)
        .document_name("AWS-StartNonInteractiveCommand")
        .parameters("command", vec!["echo hi".into()])
        .parameters("separateOutputStream", vec!["true".into()])
        .send()
        .await
        .unwrap();
    let started = StartedSession {
        session_id: started.session_id().unwrap().to_owned(),
        token: started.token_value().unwrap().to_owned(),
        stream_url: started.stream_url().unwrap().to_owned(),
    };
    let (mut socket, _) = tokio_tungstenite::connect_async(started.stream_url.as_str())
        .await
        .unwrap();
    let open = serde_json::json!({
        "MessageSchemaVersion": "1.0",
        "RequestId": uuid::Uuid::new_v4().to_string(),
        "TokenValue": started.token,
        "ClientId": uuid::Uuid::new_v4().to_string(),
        "ClientVersion": open_version,
    });
    socket
        .send(Message::Text(open.to_string().into()))
        .await
        .unwrap();
    let config = SessionConfig {
        client_version: handshake_version.to_owned(),
        ..SessionConfig::client(started.session_id.clone())
    };
    let mut session = Session::new(
        config,
        Box::new(SeededIds::new(5)),
        Instant::now(),
        unix_ms(),
    );
    let give_up = tokio::time::Instant::now() + PATIENCE;
    loop {
        while let Some(frame) = session.poll_transmit(Instant::now()) {
            socket.send(Message::binary(frame)).await.unwrap();
        }
        while let Some(event) = session.poll_event() {
            if let Event::HandshakeCompleted(complete) = event {
                return complete.customer_message;
            }
        }
        let message = tokio::time::timeout_at(give_up, socket.next())
            .await
            .expect("no HandshakeComplete in time");
        match message {
            Some(Ok(Message::Binary(bytes))) => session.handle_frame(Instant::now(), &bytes),
            Some(Ok(_)) => {}
            other => panic!("socket ended before HandshakeComplete: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_emulator_agent_reads_the_client_version_from_the_handshake_response() {
    // An old version in the handshake gets the agent's update notice (§4.5), whatever
    // OpenDataChannel said ...
    let old = customer_message(proto::CLIENT_VERSION, "1.2.0.0").await;
    assert_eq!(old, proto::version::UPDATE_NOTICE);
    assert!(old.starts_with("Please update session manager plugin version"));
    // ... and gangway's version there gets none, whatever OpenDataChannel said.
    let current = customer_message("1.2.0.0", proto::CLIENT_VERSION).await;
    assert_eq!(current, "");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// What a sender writes (strictly valid) every receiver accepts, as the same frame; and
    /// a header stretched to any length the references accept still carries that frame.
    #[test]
    fn the_lenient_decoder_accepts_what_the_strict_one_does(
        kind in 0usize..5,
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        extra in 0usize..16,
        sequence: i64,
    ) {
        let message_type = [
            MessageType::OutputStreamData,
            MessageType::Acknowledge,
            MessageType::ChannelClosed,
            MessageType::PausePublication,
            MessageType::parse("agent_session_state"),
        ][kind].clone();
        let frame = Frame {
            message_type,
            schema_version: 1,
            created_ms: 1,
            sequence,
            flags: 0,
            message_id: uuid::Uuid::from_u128(sequence as u128),
            payload_type: PayloadType::Output,
            payload,
        };
        let bytes = frame.encode();
        prop_assert_eq!(&Frame::decode(&bytes).unwrap(), &frame);
        let received = Frame::decode_received(&bytes).unwrap();
        prop_assert_eq!(&received.frame, &frame);
        prop_assert!(!received.noncanonical);
        let mut stretched = bytes[..116].to_vec();
        let header_length = u32::try_from(116 + extra).unwrap();
        stretched[..4].copy_from_slice(&header_length.to_be_bytes());
        stretched.resize(116 + extra, 0);
        stretched.extend_from_slice(&bytes[116..]);
        let received = Frame::decode_received(&stretched).unwrap();
        prop_assert_eq!(&received.frame, &frame);
        prop_assert_eq!(received.noncanonical, extra > 0);
    }
}
