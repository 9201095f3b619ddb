//! A data-channel client for the agent tests, built only from `gangway::proto` and
//! tokio-tungstenite (not the product's transport), which resumes after a dropped socket the
//! way the reference client does (protocol.md §7.2); and the StartSession that precedes it.

use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use gangway::emulator::fleet::{Fleet, FleetInstance};
use gangway::emulator::{EmulatorConfig, RunningEmulator};
use gangway::proto::{
    ChannelClosed, Event, HandshakeRequest, PayloadFlag, PayloadType, SeededIds, Session,
    SessionConfig, TerminalSize,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::aws_clients::{DEV, ssm};
use super::{PATIENCE, unix_ms};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// Receives output bytes instead of `Client::stdout` (big transfers hash as they go).
pub type ByteSink = Box<dyn FnMut(&[u8]) + Send>;

/// A generated fleet of `instances`, everything else at the emulator's defaults.
pub fn config(instances: usize) -> EmulatorConfig {
    EmulatorConfig::new(Fleet::generated(instances))
}

/// The first connectable instance whose Env tag is `env`.
pub fn instance_in(emulator: &RunningEmulator, env: &str) -> FleetInstance {
    emulator
        .state()
        .fleet()
        .instances
        .iter()
        .find(|i| i.is_connectable() && i.tags.get("Env").map(String::as_str) == Some(env))
        .cloned()
        .expect("a connectable instance")
}

pub struct StartedSession {
    pub session_id: String,
    pub token: String,
    pub stream_url: String,
}

pub async fn start_session(
    ssm: &aws_sdk_ssm::Client,
    target: &str,
    document: Option<&str>,
    command: Option<&str>,
) -> StartedSession {
    let parameters: Vec<(&str, &str)> = command.map(|c| ("command", c)).into_iter().collect();
    start_session_with(ssm, target, document, &parameters).await
}

/// StartSession with any document parameters (`name`, `value`).
pub async fn start_session_with(
    ssm: &aws_sdk_ssm::Client,
    target: &str,
    document: Option<&str>,
    parameters: &[(&str, &str)],
) -> StartedSession {
    let mut request = ssm.start_session().target(target);
    if let Some(document) = document {
        request = request.document_name(document);
    }
    for (name, value) in parameters {
        request = request.parameters(*name, vec![(*value).to_string()]);
    }
    let response = request.send().await.expect("StartSession");
    StartedSession {
        session_id: response.session_id().unwrap().to_string(),
        token: response.token_value().unwrap().to_string(),
        stream_url: response.stream_url().unwrap().to_string(),
    }
}

/// Runs `command` under `document` on the first connectable `Env=dev` instance, as `dev`,
/// and opens the data channel (`client.started.session_id` names the session).
pub async fn open_command(emulator: &RunningEmulator, document: &str, command: &str) -> Client {
    let target = instance_in(emulator, "dev");
    let dev = ssm(emulator, DEV);
    let started = start_session(&dev, &target.id, Some(document), Some(command)).await;
    Client::open(dev, started).await
}

/// Dials the StreamUrl and sends OpenDataChannel (protocol.md §1.4).
pub async fn dial(stream_url: &str, token: &str) -> Socket {
    // 16 KiB reads: tungstenite zeroes its whole read buffer (128 KiB by default) before
    // every read, which for 200 clients reading one small frame at a time was CPU taken
    // from the emulator the load test measures (docs/PERFORMANCE.md "Load").
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 << 10);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(stream_url, Some(config), false)
            .await
            .expect("websocket dial");
    let open = serde_json::json!({
        "MessageSchemaVersion": "1.0",
        "RequestId": uuid::Uuid::new_v4().to_string(),
        "TokenValue": token,
        "ClientId": "c329d795-aced-4c1a-badd-bc50de221c4d",
        "ClientVersion": "1.2.0.0",
    });
    socket
        .send(Message::Text(open.to_string().into()))
        .await
        .expect("send OpenDataChannel");
    socket
}

/// A data-channel client: a proto `Session` in the client role over one websocket at a time.
pub struct Client {
    pub ssm: aws_sdk_ssm::Client,
    pub started: StartedSession,
    pub session: Session,
    socket: Option<Socket>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: Option<i32>,
    pub closed: Option<ChannelClosed>,
    pub resumes: usize,
    /// ResumeSession answered with an empty token: the session ended while no socket was
    /// attached (a cut just as the shell exited with everything acked), so no channel_closed
    /// can reach this client (§7.2: clients read it as "timed out").
    pub ended_while_away: bool,
    /// When set, `stdout` is not kept, only hashed and counted (for big transfers).
    pub sink: Option<ByteSink>,
    pub received_bytes: u64,
    /// Resume automatically when the socket drops (off to test abandoned sessions).
    pub auto_resume: bool,
    /// PT 10 flags from the agent, in order (a port session's ConnectToPortError).
    pub flags: Vec<PayloadFlag>,
    /// The agent's HandshakeRequest, once it came (§4.3).
    pub handshake: Option<HandshakeRequest>,
    /// Output payloads received (a port session's pace shows in their count, §0 item 16).
    pub payloads: u64,
}

impl Client {
    pub async fn open(ssm: aws_sdk_ssm::Client, started: StartedSession) -> Self {
        let config = SessionConfig::client(started.session_id.clone());
        Self::open_with(ssm, started, config).await
    }

    /// With a session configured by the caller (e.g. `port_sessions`, `client_version`).
    pub async fn open_with(
        ssm: aws_sdk_ssm::Client,
        started: StartedSession,
        config: SessionConfig,
    ) -> Self {
        let socket = dial(&started.stream_url, &started.token).await;
        let session = Session::new(
            config,
            Box::new(SeededIds::new(7)),
            Instant::now(),
            unix_ms(),
        );
        Self {
            ssm,
            started,
            session,
            socket: Some(socket),
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit_code: None,
            closed: None,
            resumes: 0,
            ended_while_away: false,
            sink: None,
            received_bytes: 0,
            auto_resume: true,
            flags: Vec::new(),
            handshake: None,
            payloads: 0,
        }
    }

    /// One round of the protocol (write, then wait up to 100 ms for frames), then the
    /// events; for callers that drive a protocol of their own on top (a port session's mux).
    pub async fn step(&mut self) {
        self.assert_not_ended_away();
        self.turn(Instant::now() + PATIENCE).await;
        self.drain_events();
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let accepted = self.session.send_data(Instant::now(), bytes);
        assert_eq!(accepted, bytes.len(), "client send buffer full");
    }

    pub fn resize(&mut self, rows: u32, cols: u32) {
        self.session
            .send_size(Instant::now(), TerminalSize { cols, rows })
            .unwrap();
    }

    /// Drops the websocket without a close frame, like the reference client (§7.2).
    pub fn cut(&mut self) {
        self.socket = None;
    }

    /// ResumeSession for a new token, dial the original StreamUrl again, carry on (§7.2).
    pub async fn resume(&mut self) -> bool {
        let response = self
            .ssm
            .resume_session()
            .session_id(&self.started.session_id)
            .send()
            .await
            .expect("ResumeSession");
        let Some(token) = response.token_value().filter(|t| !t.is_empty()) else {
            return false;
        };
        self.socket = Some(dial(&self.started.stream_url, token).await);
        self.session.handle_reconnect(Instant::now());
        self.resumes += 1;
        true
    }

    /// Runs the protocol until `done` holds or the channel closes; panics after `limit`.
    pub async fn pump_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let give_up = Instant::now() + limit;
        loop {
            self.drain_events();
            if done(self) {
                return;
            }
            self.assert_not_ended_away();
            assert!(
                self.closed.is_none(),
                "channel closed early: {:?}; stdout so far: {:?}",
                self.closed,
                String::from_utf8_lossy(&self.stdout[self.stdout.len().saturating_sub(400)..])
            );
            assert!(
                Instant::now() < give_up,
                "gave up waiting; stdout: {:?}",
                String::from_utf8_lossy(&self.stdout[self.stdout.len().saturating_sub(400)..])
            );
            self.turn(give_up).await;
        }
    }

    /// Runs until channel_closed arrives; returns its Output.
    pub async fn until_closed(&mut self, limit: Duration) -> String {
        let output = self.until_ended(limit).await;
        self.assert_not_ended_away();
        output.unwrap_or_default()
    }

    /// Runs until the session ends: the Output of its channel_closed, or `None` when it
    /// ended while this client was cut off (`ended_while_away`).
    pub async fn until_ended(&mut self, limit: Duration) -> Option<String> {
        let give_up = Instant::now() + limit;
        while self.closed.is_none() && !self.ended_while_away {
            assert!(Instant::now() < give_up, "no channel_closed in time");
            self.turn(give_up).await;
            self.drain_events();
        }
        self.closed.as_ref().map(|closed| closed.output.clone())
    }

    fn assert_not_ended_away(&self) {
        assert!(
            !self.ended_while_away,
            "resume refused: the session is gone (received {})",
            self.received_bytes
        );
    }

    pub async fn until_stdout_contains(&mut self, needle: &str) {
        self.pump_until(PATIENCE, |client| client.stdout_text().contains(needle))
            .await;
    }

    /// One round: write what the session has, then wait for a frame or its next timeout.
    async fn turn(&mut self, give_up: Instant) {
        let now = Instant::now();
        self.session.handle_timeout(now);
        if self.socket.is_none() {
            if !self.auto_resume {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
            if self.ended_while_away || !self.resume().await {
                self.ended_while_away = true;
                return;
            }
        }
        let socket = self.socket.as_mut().unwrap();
        let mut wrote = false;
        while let Some(frame) = self.session.poll_transmit(now) {
            wrote = true;
            if socket.feed(Message::Binary(frame.into())).await.is_err() {
                self.socket = None;
                return;
            }
        }
        if wrote && socket.flush().await.is_err() {
            self.socket = None;
            return;
        }
        let wake = self
            .session
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(100))
            .min(now + Duration::from_millis(100))
            .min(give_up);
        let first = tokio::select! {
            message = socket.next() => message,
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => return,
        };
        // Take whatever else is already there too, so acks go out in batches.
        let mut message = first;
        for handled in 1..=256 {
            match message {
                Some(Ok(Message::Binary(bytes))) => {
                    self.session.handle_frame(Instant::now(), &bytes);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    self.socket = None;
                    return;
                }
            }
            if handled == 256 {
                return;
            }
            match socket.next().now_or_never() {
                Some(next) => message = next,
                None => return,
            }
        }
    }

    /// Sends `data` keeping at most `window` messages unacknowledged, like a client that
    /// paces its input instead of queueing a mebibyte at once.
    pub async fn send_paced(&mut self, data: &[u8], window: usize) {
        self.send_while(data, window, |_| true).await;
    }

    /// Like `send_paced`, but stops once no ack has arrived for `stall` (the agent refuses
    /// input, §5.2) and returns how many bytes of `data` the session accepted by then.
    pub async fn send_until_stalled(
        &mut self,
        data: &[u8],
        window: usize,
        stall: Duration,
    ) -> usize {
        let mut acks = self.session.stats().acks_received;
        let mut last_progress = Instant::now();
        self.send_while(data, window, |session| {
            if session.stats().acks_received > acks {
                acks = session.stats().acks_received;
                last_progress = Instant::now();
            }
            last_progress.elapsed() < stall
        })
        .await
    }

    /// Sends `data` with at most `window` messages unacknowledged, one round at a time,
    /// while `go_on` holds after each round; returns how many bytes were accepted.
    async fn send_while(
        &mut self,
        data: &[u8],
        window: usize,
        mut go_on: impl FnMut(&Session) -> bool,
    ) -> usize {
        let mut offset = 0;
        while offset < data.len() {
            while offset < data.len() && self.session.unacked_count() < window {
                let end = (offset + 1024).min(data.len());
                match self.session.send_data(Instant::now(), &data[offset..end]) {
                    0 => break,
                    accepted => offset += accepted,
                }
            }
            self.drain_events();
            self.assert_not_ended_away();
            assert!(
                self.closed.is_none(),
                "closed while sending: {:?}",
                self.closed
            );
            self.turn(Instant::now() + PATIENCE).await;
            if !go_on(&self.session) {
                break;
            }
        }
        offset
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Data {
                    payload_type,
                    bytes,
                } => {
                    self.received_bytes += bytes.len() as u64;
                    self.payloads += 1;
                    if payload_type == PayloadType::StdErr {
                        self.stderr.extend_from_slice(&bytes);
                    } else if let Some(sink) = self.sink.as_mut() {
                        sink(&bytes);
                    } else {
                        self.stdout.extend_from_slice(&bytes);
                    }
                }
                Event::ExitCode(code) => self.exit_code = Some(code),
                Event::Flag(flag) => self.flags.push(flag),
                Event::HandshakeRequested(request) => self.handshake = Some(request),
                Event::ChannelClosed(closed) => self.closed = Some(closed),
                _ => {}
            }
        }
    }

    /// The socket is open but the client sends raw bytes that are not a frame.
    pub async fn send_garbage(&mut self, bytes: Vec<u8>) {
        if let Some(socket) = self.socket.as_mut() {
            socket.send(Message::Binary(bytes.into())).await.unwrap();
        }
    }
}
