//! Hostile clients speaking raw bytes to the emulator (issue 17, F1-F4): hand-made HTTP requests
//! and websocket upgrades, so that neither hyper nor tungstenite on the client side tidies up
//! what the emulator has to survive. Shared by `emulator_hardening` (one pattern at a time) and
//! `load` (all of them at once, next to honest sessions).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use futures_util::StreamExt;

use super::PATIENCE;

/// F1: a DescribeInstances form body of just under 1 MiB (the body limit), nearly all
/// `Filter.N` pairs; and how many filters it holds.
pub fn megabyte_of_filters() -> (String, usize) {
    let mut body = String::from("Action=DescribeInstances&Version=2016-11-15");
    let mut pairs = 0;
    while body.len() < (1 << 20) - 64 {
        pairs += 1;
        body.push_str(&format!(
            "&Filter.{pairs}.Name=tag%3AEnv&Filter.{pairs}.Value.1=dev"
        ));
    }
    (body, pairs)
}

/// The request head for a form POST of `content_length` bytes to `addr`, as `dev`.
pub fn form_post_head(addr: std::net::SocketAddr, content_length: usize, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: {AUTHORIZATION}\r\nContent-Length: {content_length}\r\n{connection}\r\n"
    )
}

/// A SigV4 header the emulator accepts as the `dev` engineer (it checks the key, not the
/// signature).
pub const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";

/// Sends `head` + `body` on a fresh connection and reads until the server closes it.
pub async fn raw_exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> String {
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

/// Upgrades a raw connection to a websocket by hand, so that the test client's own websocket
/// library never sees (or traces) the first frame either.
pub async fn raw_upgrade(stream_url: &str) -> Result<TcpStream, String> {
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
pub fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
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

pub fn open_data_channel(token: &str, padding: usize) -> Vec<u8> {
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
pub async fn after_first_message(stream: TcpStream) -> Option<bool> {
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
