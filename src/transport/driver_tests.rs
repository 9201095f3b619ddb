//! The driver on a paused clock, over in-memory websockets (`tokio::io::duplex`) handed to
//! it through the [`Connect`] seam, against a minimal agent built from `proto::Session` in
//! the agent role: keepalive and resume, no dead socket held while resuming, a service
//! close coinciding with a ping, and the resume-failure message.
#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Duration, Instant, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role as WsRole;

use super::channel::{Backoff, ChannelEvent, ChannelOptions, Resumer, SessionChannel};
use super::dial::Connect;
use super::socket::BoxedWs;
use super::{SecretString, SessionEndpoint, TransportError};
use crate::proto::{
    Event, HandshakeComplete, HandshakeRequest, HandshakeResponse, PayloadFlag,
    RequestedClientAction, SeededIds, Session, SessionConfig,
};

const SESSION_ID: &str = "test-0123456789abcdef0";
/// Long enough for anything the tests wait for; on the paused clock it costs nothing.
const PATIENCE: Duration = Duration::from_secs(3600);

type AgentWs = WebSocketStream<DuplexStream>;

fn options() -> ChannelOptions {
    ChannelOptions {
        ping_interval: Duration::from_secs(20),
        dead_after: Duration::from_secs(65),
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            attempts: 3,
        },
        ..ChannelOptions::default()
    }
}

/// A [`Resumer`] from a function of the call number (1-based).
fn resumer<F>(answer: F) -> Resumer
where
    F: Fn(usize) -> BoxFuture<'static, Result<Option<SecretString>, String>>
        + Send
        + Sync
        + 'static,
{
    let calls = Arc::new(Mutex::new(0));
    Arc::new(move || {
        let mut calls = calls.lock().unwrap();
        *calls += 1;
        answer(*calls)
    })
}

fn fresh_tokens() -> Resumer {
    resumer(|n| Box::pin(async move { Ok(Some(SecretString::new(format!("token-{n}")))) }))
}

/// The client ends to the driver, the agent ends to the agent task.
struct DuplexConnect {
    sockets: mpsc::UnboundedSender<(AgentWs, String)>,
    dialled_at: Arc<Mutex<Vec<Instant>>>,
}

impl Connect for DuplexConnect {
    fn connect(
        &self,
        _url: &SecretString,
        token: &SecretString,
    ) -> BoxFuture<'static, Result<BoxedWs, TransportError>> {
        self.dialled_at.lock().unwrap().push(Instant::now());
        let sockets = self.sockets.clone();
        let token = token.expose().to_owned();
        Box::pin(async move {
            let (client, agent) = tokio::io::duplex(64 * 1024);
            let client = WebSocketStream::from_raw_socket(client, WsRole::Client, None).await;
            let agent = WebSocketStream::from_raw_socket(agent, WsRole::Server, None).await;
            sockets.send((agent, token)).unwrap();
            Ok(Box::new(client) as BoxedWs)
        })
    }
}

enum Order {
    Output(&'static [u8]),
    /// Starts a handshake (§4.2); HandshakeComplete follows the client's response.
    Handshake(HandshakeRequest),
    /// Stop reading the socket (pings go unanswered) and lose what is sent: a laptop asleep.
    Sleep,
    Wake,
    /// channel_closed at `at`, then the socket is dropped (after a close frame if asked),
    /// after yielding `yields` times so that either side may go first at that instant.
    CloseAt {
        at: Instant,
        reason: &'static str,
        close_frame: bool,
        yields: u32,
    },
}

#[derive(Debug, PartialEq)]
enum News {
    Socket { token: String },
    Ping(Instant),
    Data(Vec<u8>),
    Flag(PayloadFlag),
    Responded(HandshakeResponse),
    SocketEnded,
}

struct Agent {
    session: Session,
    sockets: mpsc::UnboundedReceiver<(AgentWs, String)>,
    orders: mpsc::UnboundedReceiver<Order>,
    news: mpsc::UnboundedSender<News>,
    asleep: bool,
    /// Armed once, when ordered (not re-armed on every loop), so that at the close's
    /// instant the agent's timer fires before the driver's re-armed ping interval.
    close_at: Option<(Pin<Box<Sleep>>, &'static str, bool, u32)>,
}

impl Agent {
    async fn run(mut self) {
        let mut next = self.sockets.recv().await;
        let mut first = true;
        while let Some((ws, token)) = next {
            let _ = self.news.send(News::Socket { token });
            if !first {
                self.session.handle_reconnect(Instant::now().into_std());
            }
            first = false;
            self.asleep = false;
            next = self.serve(ws).await;
        }
    }

    /// Serves `ws` until the client dials again (its new socket) or the test ends (None).
    async fn serve(&mut self, ws: AgentWs) -> Option<(AgentWs, String)> {
        let mut ws = Some(ws);
        loop {
            self.transmit(ws.as_mut()).await;
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            let close_timer = self.close_at.as_mut().map(|(timer, ..)| timer.as_mut());
            tokio::select! {
                message = next_message(ws.as_mut()), if !self.asleep => {
                    if !self.on_message(message, ws.as_mut()).await {
                        let _ = self.news.send(News::SocketEnded);
                        ws = None;
                    }
                }
                order = self.orders.recv() => self.on_order(order?),
                socket = self.sockets.recv() => return socket,
                () = sleep_until(deadline) => self.session.handle_timeout(Instant::now().into_std()),
                () = fire(close_timer) => {
                    self.close(ws.take()).await;
                }
            }
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::Data { bytes, .. } => {
                        let _ = self.news.send(News::Data(bytes));
                    }
                    Event::Flag(flag) => {
                        let _ = self.news.send(News::Flag(flag));
                    }
                    Event::HandshakeResponded(response) => {
                        let complete = HandshakeComplete {
                            handshake_time_to_complete: 1,
                            customer_message: String::new(),
                        };
                        let now = Instant::now().into_std();
                        self.session.complete_handshake(now, complete).unwrap();
                        let _ = self.news.send(News::Responded(response));
                    }
                    _ => {}
                }
            }
        }
    }

    /// False once the socket has ended.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        ws: Option<&mut AgentWs>,
    ) -> bool {
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                self.session.handle_frame(Instant::now().into_std(), &bytes);
            }
            Some(Ok(Message::Ping(_))) => {
                let _ = self.news.send(News::Ping(Instant::now()));
                // Sends the pong tungstenite queued, now rather than with the next frame.
                if let Some(ws) = ws {
                    let _ = ws.flush().await;
                }
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return false,
        }
        true
    }

    fn on_order(&mut self, order: Order) {
        let now = Instant::now().into_std();
        match order {
            Order::Output(bytes) => assert_eq!(self.session.send_data(now, bytes), bytes.len()),
            Order::Handshake(request) => self.session.start_handshake(now, request).unwrap(),
            Order::Sleep => self.asleep = true,
            Order::Wake => self.asleep = false,
            Order::CloseAt {
                at,
                reason,
                close_frame,
                yields,
            } => {
                let timer = Box::pin(tokio::time::sleep_until(at));
                self.close_at = Some((timer, reason, close_frame, yields));
            }
        }
    }

    async fn close(&mut self, ws: Option<AgentWs>) {
        let Some((_, reason, close_frame, yields)) = self.close_at.take() else {
            return;
        };
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
        self.session.close(Instant::now().into_std(), reason);
        let Some(mut ws) = ws else { return };
        self.transmit(Some(&mut ws)).await;
        if close_frame {
            let _ = ws.close(None).await;
        }
    }

    /// Writes what the session has ready; asleep, it is lost in transit (and stays unacked).
    async fn transmit(&mut self, ws: Option<&mut AgentWs>) {
        let Some(ws) = ws else { return };
        let now = Instant::now().into_std();
        while let Some(frame) = self.session.poll_transmit(now) {
            if !self.asleep {
                let _ = ws.feed(Message::binary(frame)).await;
            }
        }
        let _ = ws.flush().await;
    }
}

async fn next_message(
    ws: Option<&mut AgentWs>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

async fn fire(timer: Option<Pin<&mut Sleep>>) {
    match timer {
        Some(timer) => timer.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A channel to an agent task, and the test's side of both.
struct Harness {
    channel: SessionChannel,
    orders: mpsc::UnboundedSender<Order>,
    news: mpsc::UnboundedReceiver<News>,
    dialled_at: Arc<Mutex<Vec<Instant>>>,
    /// Data the agent received so far, in order.
    received: Vec<u8>,
    pings: Vec<Instant>,
}

impl Harness {
    async fn open(options: ChannelOptions, resumer: Resumer) -> Self {
        let (socket_tx, sockets) = mpsc::unbounded_channel();
        let (orders, order_rx) = mpsc::unbounded_channel();
        let (news_tx, news) = mpsc::unbounded_channel();
        let session = Session::new(
            SessionConfig::agent(SESSION_ID),
            Box::new(SeededIds::new(7)),
            Instant::now().into_std(),
            1_700_000_000_000,
        );
        let agent = Agent {
            session,
            sockets,
            orders: order_rx,
            news: news_tx,
            asleep: false,
            close_at: None,
        };
        tokio::spawn(agent.run());
        let dialled_at = Arc::new(Mutex::new(Vec::new()));
        let connect = DuplexConnect {
            sockets: socket_tx,
            dialled_at: Arc::clone(&dialled_at),
        };
        let endpoint = SessionEndpoint {
            session_id: SESSION_ID.into(),
            stream_url: SecretString::new("ws://in-memory/v1/data-channel/x"),
            token: SecretString::new("token-0"),
        };
        let channel = SessionChannel::open_with(endpoint, Arc::new(connect), resumer, options)
            .await
            .unwrap();
        let mut harness = Self {
            channel,
            orders,
            news,
            dialled_at,
            received: Vec::new(),
            pings: Vec::new(),
        };
        let first = harness
            .agent_news(|news| matches!(news, News::Socket { .. }))
            .await;
        assert_eq!(
            first,
            News::Socket {
                token: "token-0".into()
            }
        );
        harness
    }

    fn order(&self, order: Order) {
        self.orders.send(order).unwrap();
    }

    /// The next agent news that `want` picks; data and pings seen meanwhile are kept.
    async fn agent_news(&mut self, mut want: impl FnMut(&News) -> bool) -> News {
        let wait = async {
            loop {
                let news = self.news.recv().await.unwrap();
                match &news {
                    News::Data(bytes) => self.received.extend_from_slice(bytes),
                    News::Ping(at) => self.pings.push(*at),
                    _ => {}
                }
                if want(&news) {
                    return news;
                }
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .expect("no such news from the agent")
    }

    async fn agent_receives(&mut self, expected: &[u8]) {
        while self.received.len() < expected.len() {
            self.agent_news(|news| matches!(news, News::Data(_))).await;
        }
        assert_eq!(self.received, expected);
    }

    async fn next_event(&mut self) -> ChannelEvent {
        tokio::time::timeout(PATIENCE, self.channel.next_event())
            .await
            .expect("no channel event")
            .expect("the channel ended without a final event")
    }

    /// Output until `expected.len()` bytes arrived, and the other events meanwhile.
    async fn output(&mut self, expected: &[u8]) -> Vec<ChannelEvent> {
        let mut output = Vec::new();
        let mut others = Vec::new();
        while output.len() < expected.len() {
            match self.next_event().await {
                ChannelEvent::Output(bytes) => output.extend(bytes),
                event if event.is_final() => panic!("ended early: {event:?}"),
                event => others.push(event),
            }
        }
        assert_eq!(output, expected);
        others
    }

    /// Skips to the final event.
    async fn end(&mut self) -> ChannelEvent {
        loop {
            let event = self.next_event().await;
            if event.is_final() {
                return event;
            }
        }
    }

    /// The agent's first output opens the session (quirk 9).
    async fn opened(&mut self) {
        self.order(Order::Output(b"hello\n"));
        assert_eq!(self.next_event().await, ChannelEvent::Opened);
        self.output(b"hello\n").await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_answering_is_resumed_and_nothing_is_lost() {
    let options = options();
    let mut h = Harness::open(options.clone(), fresh_tokens()).await;
    h.opened().await;
    h.channel.send_input(b"before ".to_vec()).await.unwrap();
    h.agent_receives(b"before ").await;
    // Pings at 0 s and 20 s are answered; then the agent "sleeps".
    while h.pings.len() < 2 {
        h.agent_news(|news| matches!(news, News::Ping(_))).await;
    }
    let slept_at = Instant::now();
    h.order(Order::Sleep);
    h.order(Order::Output(b"lost in transit\n"));
    h.channel
        .send_input(b"typed while asleep".to_vec())
        .await
        .unwrap();

    assert_eq!(h.next_event().await, ChannelEvent::Reconnecting);
    let waited = Instant::now() - slept_at;
    assert!(
        waited <= options.dead_after && waited > options.dead_after - options.ping_interval,
        "declared dead after {waited:?}, not {:?} after the last pong",
        options.dead_after
    );
    let resumed = h
        .agent_news(|news| matches!(news, News::Socket { .. }))
        .await;
    assert_eq!(
        resumed,
        News::Socket {
            token: "token-1".into()
        }
    );
    let dialled_at = h.dialled_at.lock().unwrap().clone();
    assert_eq!(
        dialled_at.len(),
        2,
        "one initial dial, one through the seam"
    );
    assert_eq!(dialled_at[1] - slept_at, waited + options.backoff.delay(0));

    // Both directions, exactly once and in order: the lost frames were retransmitted.
    let others = h.output(b"lost in transit\n").await;
    assert_eq!(others, vec![ChannelEvent::Reconnected]);
    h.agent_receives(b"before typed while asleep").await;
    h.order(Order::Output(b"after\n"));
    h.channel.send_input(b" and after".to_vec()).await.unwrap();
    assert_eq!(h.output(b"after\n").await, vec![]);
    h.agent_receives(b"before typed while asleep and after")
        .await;
}

#[tokio::test(start_paused = true)]
async fn no_dead_socket_is_held_while_resuming() {
    // ResumeSession answers only when the test says so.
    let gate = Arc::new(Semaphore::new(0));
    let held = Arc::clone(&gate);
    let resumer = resumer(move |n| {
        let gate = Arc::clone(&held);
        Box::pin(async move {
            gate.acquire().await.unwrap().forget();
            Ok(Some(SecretString::new(format!("token-{n}"))))
        })
    });
    let mut h = Harness::open(options(), resumer).await;
    h.opened().await;
    h.order(Order::Sleep);
    assert_eq!(h.next_event().await, ChannelEvent::Reconnecting);

    // The driver is waiting for ResumeSession; the old socket must already be released,
    // so the agent, reading it again, finds its end.
    h.order(Order::Wake);
    let waited = tokio::time::timeout(
        Duration::from_secs(10),
        h.agent_news(|news| *news == News::SocketEnded),
    )
    .await;
    assert!(
        waited.is_ok(),
        "the dead socket is still held while resuming"
    );
    assert_eq!(
        h.dialled_at.lock().unwrap().len(),
        1,
        "no dial before the token"
    );

    gate.add_permits(1);
    assert_eq!(h.next_event().await, ChannelEvent::Reconnected);
    h.channel.send_input(b"still here".to_vec()).await.unwrap();
    h.agent_receives(b"still here").await;
}

/// Issue 16, bug 5: the end of the maximum duration (420 s, a multiple of the 20 s ping)
/// was once reported as a lost connection.
#[tokio::test(start_paused = true)]
async fn a_service_close_at_the_instant_a_ping_is_due_wins() {
    const REASON: &str = "Session reached its maximum duration";
    let options = options();
    let max_duration = options.ping_interval * 21;
    // Either side may act first at that instant; every order must end the same way.
    for variant in 0..8u32 {
        let start = Instant::now();
        // After the service's close, ResumeSession would say the session is gone.
        let gone = resumer(|_| Box::pin(async { Ok(None) }));
        let mut h = Harness::open(options.clone(), gone).await;
        h.opened().await;
        h.order(Order::CloseAt {
            at: start + max_duration,
            reason: REASON,
            close_frame: variant % 2 == 1,
            yields: variant / 2,
        });
        let end = h.end().await;
        assert_eq!(
            end,
            ChannelEvent::Closed {
                reason: Some(REASON.into())
            },
            "variant {variant}"
        );
        assert_eq!(Instant::now() - start, max_duration, "variant {variant}");
        // The premise: the driver's pings fall on multiples of 20 s from the start, so one
        // was due at the very instant of the close.
        while h.pings.len() < 21 {
            h.agent_news(|news| matches!(news, News::Ping(_))).await;
        }
        assert_eq!(h.pings[20] - start, max_duration - options.ping_interval);
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_resume_says_could_not_be_resumed_once() {
    let refused = resumer(|_| Box::pin(async { Err("ResumeSession failed: AccessDenied".into()) }));
    let mut h = Harness::open(options(), refused).await;
    h.opened().await;
    h.order(Order::Sleep);
    let ChannelEvent::Lost(error) = h.end().await else {
        panic!("the channel was not lost");
    };
    assert_eq!(
        error.to_string(),
        "the connection was lost and could not be resumed: ResumeSession failed: AccessDenied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_port_channel_reports_the_offer_before_opened_and_sends_flags_in_order() {
    let options = ChannelOptions {
        port_session: true,
        ..options()
    };
    let mut h = Harness::open(options, fresh_tokens()).await;
    // Input and a flag given before the session opens are held, then sent in order.
    h.channel.send_input(b"\x00\n\r".to_vec()).await.unwrap();
    h.channel
        .input()
        .send_flag(PayloadFlag::DisconnectToPort)
        .await
        .unwrap();
    h.order(Order::Handshake(HandshakeRequest {
        agent_version: "3.0.196.0".into(),
        requested_client_actions: vec![RequestedClientAction::session_type(
            "Port",
            serde_json::json!({"type": "LocalPortForwarding", "portNumber": "80"}),
        )],
    }));
    let News::Responded(response) = h
        .agent_news(|news| matches!(news, News::Responded(_)))
        .await
    else {
        unreachable!()
    };
    assert!(response.all_succeeded(), "{response:?}");
    let ChannelEvent::PortSession(offer) = h.next_event().await else {
        panic!("no port offer first");
    };
    assert_eq!(offer.mode, crate::proto::port_mode::PortMode::Basic);
    // Above 2.3.722.0: Ctrl-C may use the flag even in basic mode (§6.4).
    assert!(offer.terminate_flag);
    assert_eq!(h.next_event().await, ChannelEvent::Opened);
    h.agent_receives(b"\x00\n\r").await;
    let flag = h.agent_news(|news| matches!(news, News::Flag(_))).await;
    assert_eq!(flag, News::Flag(PayloadFlag::DisconnectToPort));
}

#[tokio::test(start_paused = true)]
async fn a_shell_channel_refuses_a_port_offer() {
    let mut h = Harness::open(options(), fresh_tokens()).await;
    h.order(Order::Handshake(HandshakeRequest {
        agent_version: "3.3.1142.0".into(),
        requested_client_actions: vec![RequestedClientAction::session_type(
            "Port",
            serde_json::json!({"type": "LocalPortForwarding"}),
        )],
    }));
    assert_eq!(
        h.end().await,
        ChannelEvent::Closed {
            reason: Some(crate::proto::PORT_REFUSAL.into())
        }
    );
}
