//! Hardening of the emulator against what an unauthenticated or hostile client sends
//! (issue 17, F1, F2, F4): loopback only, bounded in count and time.
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::PATIENCE;
use crate::support::agent_client::{config, instance_in, start_session};
use crate::support::aws_clients::{DEV, ssm};
use crate::support::emulator::start;

const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";

/// Sends `head` + `body` on a fresh connection and reads until the server closes it.
async fn raw_exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("an answer, then the connection closed")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// F1: a 1 MiB DescribeInstances body of filters (tens of thousands of `Filter.N` pairs)
/// once took seconds of CPU per request; it now gets EC2's own FilterLimitExceeded.
#[tokio::test]
async fn a_megabyte_of_filters_gets_filter_limit_exceeded() {
    let emulator = start(config(50)).await;
    let mut body = String::from("Action=DescribeInstances&Version=2016-11-15");
    let mut pairs = 0;
    while body.len() < (1 << 20) - 64 {
        pairs += 1;
        body.push_str(&format!(
            "&Filter.{pairs}.Name=tag%3AEnv&Filter.{pairs}.Value.1=dev"
        ));
    }
    assert!(pairs * 2 >= 25_000, "{pairs} filters");
    assert!(body.len() <= 1 << 20);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: {AUTHORIZATION}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        emulator.local_addr,
        body.len()
    );
    let answer = raw_exchange(emulator.local_addr, &head, body.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(
        answer.contains("<Code>FilterLimitExceeded</Code>"),
        "{}",
        &answer[..answer.len().min(600)]
    );
}

/// F2: a body that stops half-way is answered (408) and its connection closed once the body
/// deadline passes, instead of being held open for as long as the client likes.
#[tokio::test]
async fn bodies_that_stall_are_cut_off_at_the_body_deadline() {
    let mut config = config(5);
    config.body_deadline = Duration::from_millis(300);
    let emulator = start(config).await;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: {AUTHORIZATION}\r\nContent-Length: 1000\r\n\r\n",
        emulator.local_addr
    );
    // Twenty at once, each sending 10 of its 1,000 bytes and then nothing.
    let stalled = (0..20).map(|_| raw_exchange(emulator.local_addr, &head, b"Action=Des"));
    for answer in futures_util::future::join_all(stalled).await {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
}

/// F2: a declared body over the limit is refused from its Content-Length alone.
#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    let emulator = start(config(5)).await;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: {AUTHORIZATION}\r\n\
         Content-Length: 104857600\r\n\r\n",
        emulator.local_addr
    );
    let answer = raw_exchange(emulator.local_addr, &head, b"Action=").await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// Upgrades a raw connection to a websocket by hand, so that the test client's own websocket
/// library never sees (or traces) the first frame either.
async fn raw_upgrade(stream_url: &str) -> Result<TcpStream, String> {
    let rest = stream_url.strip_prefix("ws://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(PATIENCE, stream.read_u8())
            .await
            .expect("an upgrade answer")
            .map_err(|err| err.to_string())?;
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    if head.starts_with("HTTP/1.1 101") {
        Ok(stream)
    } else {
        Err(head)
    }
}

/// A final, masked text frame (RFC 6455 §5.2).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

fn open_data_channel(token: &str, padding: usize) -> Vec<u8> {
    serde_json::json!({
        "MessageSchemaVersion": "1.0",
        "RequestId": uuid::Uuid::new_v4().to_string(),
        "TokenValue": token,
        "ClientId": "x".repeat(padding),
        "ClientVersion": "1.2.0.0",
    })
    .to_string()
    .into_bytes()
}

/// What the server does after the first message: `Some(true)` if the session opened (a
/// binary frame came), `Some(false)` if it closed with a policy violation (or the connection
/// simply ended), `None` for anything else.
async fn after_first_message(stream: TcpStream) -> Option<bool> {
    let mut socket = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    let next = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .expect("the server answers the first message");
    match next {
        Some(Ok(Message::Binary(_))) => Some(true),
        Some(Ok(Message::Close(Some(close)))) if close.code == CloseCode::Policy => Some(false),
        None | Some(Err(_)) => Some(false),
        _ => None,
    }
}

/// F4: a first message over a few KiB is refused even when it carries a valid token; the
/// same token in a normal-sized frame opens the session.
#[tokio::test]
async fn an_oversized_first_message_is_refused_even_with_a_valid_token() {
    let emulator = start(config(5)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;

    let mut stream = raw_upgrade(&started.stream_url).await.unwrap();
    let big = open_data_channel(&started.token, 64 << 10);
    // The server may refuse from the header alone and close while this is still being sent.
    let _ = stream.write_all(&masked_text_frame(&big)).await;
    assert_eq!(after_first_message(stream).await, Some(false));

    let mut stream = raw_upgrade(&started.stream_url).await.unwrap();
    let small = open_data_channel(&started.token, 36);
    stream.write_all(&masked_text_frame(&small)).await.unwrap();
    assert_eq!(after_first_message(stream).await, Some(true));
}

/// F4: sockets that have not passed the token check are capped; a slot comes back when one
/// of them goes away.
#[tokio::test]
async fn unauthenticated_sockets_are_capped() {
    let mut config = config(5);
    config.max_unauthenticated_sockets = 2;
    let emulator = start(config).await;
    let url = format!(
        "ws://{}/v1/data-channel/nobody-0123456789abcdef0?role=publish_subscribe",
        emulator.local_addr
    );
    let first = raw_upgrade(&url).await.unwrap();
    let _second = raw_upgrade(&url).await.unwrap();
    let refused = raw_upgrade(&url).await.unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match raw_upgrade(&url).await {
            Ok(_third) => break,
            Err(head) if head.starts_with("HTTP/1.1 503") => {
                assert!(tokio::time::Instant::now() < deadline, "no slot came back");
                tokio::task::yield_now().await;
            }
            Err(other) => panic!("{other}"),
        }
    }
}

/// Every log line of this test binary, at trace level, for the emulator and the websocket
/// library (the SDK's own client-side traces are F8's business).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "gangway=trace,tungstenite=trace,tokio_tungstenite=trace",
            ))
            .with_writer(move || Sink(Arc::clone(&sink)))
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

/// F4: at trace level nothing the emulator or its websocket library logs holds the first
/// message or the token in it (once tungstenite traced the whole frame, in hex and as text).
#[tokio::test]
async fn no_log_line_at_trace_holds_the_first_message() {
    let logs = captured_logs();
    let emulator = start(config(5)).await;
    let target = instance_in(&emulator, "dev");
    let dev = ssm(&emulator, DEV);
    let started = start_session(&dev, &target.id, None, None).await;
    let mut stream = raw_upgrade(&started.stream_url).await.unwrap();
    stream
        .write_all(&masked_text_frame(&open_data_channel(&started.token, 36)))
        .await
        .unwrap();
    assert_eq!(after_first_message(stream).await, Some(true));
    tracing::trace!(target: "gangway", "marker: the capture works");
    let _ = std::io::stderr().flush();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("marker: the capture works"));
    assert!(
        text.contains("data channel opened"),
        "the emulator's lines are captured"
    );
    assert!(!text.contains(&started.token), "the token is in a log line");
    assert!(
        !text.contains(&hex::encode(&started.token)),
        "the token is in a log line (hex)"
    );
    assert!(
        !text.contains("ClientVersion"),
        "the first message is in a log line"
    );
}
