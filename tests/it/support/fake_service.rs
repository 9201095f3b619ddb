//! A stand-in for the service and agent, built only from `gangway::proto` and
//! tokio-tungstenite, to test the transport without the emulator: a websocket server on
//! 127.0.0.1:0 that checks OpenDataChannel tokens and hands every socket to ONE agent
//! task whose `proto::Session` (agent role) outlives sockets, like the real service.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use gangway::proto::{Event, SeededIds, Session, SessionConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::unix_ms;

pub const SESSION_ID: &str = "test-0123456789abcdef0";

/// What the fake agent does; everything off by default (a plain echo).
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Answer the upgrade with this HTTP status instead of accepting it.
    pub refuse_status: Option<u16>,
    /// For connection k (0-based), drop the socket after this many inbound frames.
    pub cut_after_frames: Vec<usize>,
    /// After echoing this many bytes, send channel_closed with this Output.
    pub close_after_bytes: Option<(usize, String)>,
    /// Right after opening, send this many garbage binary frames.
    pub garbage_frames: usize,
}

#[derive(Clone, Default)]
pub struct Record {
    /// Every OpenDataChannel JSON received, in order.
    pub opens: Arc<Mutex<Vec<serde_json::Value>>>,
    /// Tokens the service accepts; tests add the resumed ones.
    pub valid_tokens: Arc<Mutex<Vec<String>>>,
    pub sizes: Arc<Mutex<Vec<(u32, u32)>>>,
    pub connections: Arc<Mutex<usize>>,
}

pub struct FakeService {
    pub url: String,
    pub record: Record,
}

impl FakeService {
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_at_host(behaviour, "127.0.0.1").await
    }

    /// `host` is what the URL says (a name that a test proxy maps to this server).
    pub async fn start_at_host(behaviour: Behaviour, host: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let record = Record::default();
        record.valid_tokens.lock().unwrap().push("token-0".into());
        let (socket_tx, socket_rx) = mpsc::unbounded_channel();
        tokio::spawn(agent_task(socket_rx, behaviour.clone(), record.clone()));
        tokio::spawn(accept_loop(listener, behaviour, record.clone(), socket_tx));
        Self {
            url: format!("ws://{host}:{port}/v1/data-channel/{SESSION_ID}?role=publish_subscribe"),
            record,
        }
    }

    pub fn port(&self) -> u16 {
        self.url
            .split(':')
            .nth(2)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap()
    }
}

async fn accept_loop(
    listener: TcpListener,
    behaviour: Behaviour,
    record: Record,
    sockets: mpsc::UnboundedSender<WebSocketStream<TcpStream>>,
) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        if let Some(status) = behaviour.refuse_status {
            let reply = format!("HTTP/1.1 {status} Refused\r\ncontent-length: 0\r\n\r\n");
            let _ = tcp.write_all(reply.as_bytes()).await;
            continue;
        }
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            continue;
        };
        let open: serde_json::Value = serde_json::from_str(&text).unwrap();
        let token = open["TokenValue"].as_str().unwrap_or_default().to_owned();
        record.opens.lock().unwrap().push(open);
        if !record.valid_tokens.lock().unwrap().contains(&token) {
            continue; // dropping the socket refuses it
        }
        let _ = sockets.send(ws);
    }
}

struct Agent {
    session: Session,
    pending_echo: VecDeque<u8>,
    echoed: usize,
    behaviour: Behaviour,
    record: Record,
    closed: bool,
}

async fn agent_task(
    mut sockets: mpsc::UnboundedReceiver<WebSocketStream<TcpStream>>,
    behaviour: Behaviour,
    record: Record,
) {
    let session = Session::new(
        SessionConfig::agent(SESSION_ID),
        Box::new(SeededIds::new(7)),
        Instant::now(),
        unix_ms(),
    );
    let mut agent = Agent {
        session,
        pending_echo: VecDeque::new(),
        echoed: 0,
        behaviour,
        record,
        closed: false,
    };
    let mut index = 0;
    while let Some(ws) = sockets.recv().await {
        *agent.record.connections.lock().unwrap() += 1;
        let now = Instant::now();
        if index == 0 {
            // No handshake for a shell: the first output opens the session (quirk 9).
            agent.session.send_data(now, b"READY\n");
        } else {
            agent.session.handle_reconnect(now);
        }
        let cut_after = agent.behaviour.cut_after_frames.get(index).copied();
        agent.serve(ws, cut_after, index == 0).await;
        index += 1;
        if agent.closed {
            return;
        }
    }
}

impl Agent {
    async fn serve(
        &mut self,
        mut ws: WebSocketStream<TcpStream>,
        cut_after: Option<usize>,
        first: bool,
    ) {
        let mut frames_in = 0usize;
        if first && self.behaviour.garbage_frames > 0 {
            self.flush(&mut ws).await;
            for _ in 0..self.behaviour.garbage_frames {
                let _ = ws.feed(Message::binary(vec![0xde, 0xad, 0xbe, 0xef])).await;
            }
            let _ = ws.flush().await;
        }
        loop {
            self.flush(&mut ws).await;
            if self.closed {
                return;
            }
            let deadline = self.session.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = ws.next() => match message {
                    Some(Ok(Message::Binary(bytes))) => {
                        self.session.handle_frame(Instant::now(), &bytes);
                        frames_in += 1;
                        if cut_after.is_some_and(|n| frames_in >= n) {
                            return; // drop the socket: a cut
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                () = sleep => self.session.handle_timeout(Instant::now()),
            }
            self.on_events();
        }
    }

    fn on_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Data { bytes, .. } => self.pending_echo.extend(bytes),
                Event::Resize(size) => self
                    .record
                    .sizes
                    .lock()
                    .unwrap()
                    .push((size.cols, size.rows)),
                _ => {}
            }
        }
        let now = Instant::now();
        while !self.pending_echo.is_empty() {
            let chunk: Vec<u8> = self.pending_echo.iter().take(64 * 1024).copied().collect();
            let accepted = self.session.send_data(now, &chunk);
            self.pending_echo.drain(..accepted);
            self.echoed += accepted;
            if accepted < chunk.len() {
                break;
            }
        }
        if let Some((limit, reason)) = &self.behaviour.close_after_bytes
            && self.echoed >= *limit
            && self.session.unacked_count() == 0
            && !self.closed
        {
            self.session.close(now, reason);
            self.closed = true;
        }
    }

    async fn flush(&mut self, ws: &mut WebSocketStream<TcpStream>) {
        let now = Instant::now();
        while let Some(frame) = self.session.poll_transmit(now) {
            if ws.feed(Message::binary(frame)).await.is_err() {
                return;
            }
        }
        let _ = ws.flush().await;
    }
}
