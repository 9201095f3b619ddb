//! `GET /v1/data-channel/{sid}`: the websocket upgrade and the OpenDataChannel check
//! (protocol.md §1.3, §1.4). A wrong or expired token closes the socket before anything
//! reaches a shell; the token itself is never logged.
//!
//! Before the token check a socket is anyone's, so what it may cost is bounded: at most
//! `max_unauthenticated_sockets` such sockets at once, `OPEN_FRAME_TIMEOUT` to send the first
//! message, and `FIRST_MESSAGE_LIMIT` bytes for it. The first frame is read here, off the raw
//! upgraded stream, before tungstenite sees the connection: so its size is checked before a
//! byte of its payload is buffered, and no websocket library trace line ever carries it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HeaderValue, RETRY_AFTER, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use super::link::{NotTaken, PendingSocket};
use super::open_channel::OpenDataChannel;
use super::task;
use crate::emulator::state::EmulatorState;

/// A client that upgrades and then does not finish its OpenDataChannel frame within this
/// long is dropped. The real client sends it right after the upgrade (protocol.md §1.4).
pub const OPEN_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest first message accepted. The reference client's OpenDataChannel frame is ~200
/// bytes plus the token (a few hundred more); 4 KiB leaves room for longer tokens and ids
/// while keeping what an unauthenticated socket can make the emulator hold small.
pub const FIRST_MESSAGE_LIMIT: usize = 4096;

/// Default for `EmulatorConfig::max_unauthenticated_sockets`: far more than a fleet of
/// honest clients opens at once (each holds one only for the round trip of its first
/// frame), and at most 64 × 4 KiB of first messages.
pub const DEFAULT_MAX_UNAUTHENTICATED: usize = 64;

/// Answers the upgrade request, then serves the websocket in its own task.
pub async fn handle_upgrade(
    state: Arc<EmulatorState>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(session_id) = session_id_from_path(request.uri().path()) else {
        return plain(StatusCode::NOT_FOUND, "no such data channel\n");
    };
    let accept = match accept_key(&request) {
        Ok(accept) => accept,
        Err(problem) => return plain(StatusCode::BAD_REQUEST, problem),
    };
    // Refused before the upgrade: a socket over the cap costs no task and no buffers.
    let Ok(permit) = Arc::clone(&state.unauthenticated).try_acquire_owned() else {
        tracing::warn!(%session_id, "data channel refused: too many sockets waiting for their token check");
        let mut response = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many data channels are opening at once; retry\n",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => serve_socket(state, session_id, TokioIo::new(upgraded), permit).await,
            Err(err) => tracing::debug!(%session_id, "websocket upgrade failed: {err}"),
        }
    });
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

/// `/v1/data-channel/<sid>` (the query string is not part of the path).
fn session_id_from_path(path: &str) -> Option<String> {
    let id = path.strip_prefix("/v1/data-channel/")?;
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    valid.then(|| id.to_string())
}

/// Checks the RFC 6455 upgrade headers and derives Sec-WebSocket-Accept.
fn accept_key(request: &Request<Incoming>) -> Result<String, &'static str> {
    let headers = request.headers();
    let header_has = |name: &str, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|part| part.trim().eq_ignore_ascii_case(token))
    };
    if !header_has("upgrade", "websocket") || !header_has("connection", "upgrade") {
        return Err("this URL is a websocket: send an Upgrade: websocket request\n");
    }
    if !header_has("sec-websocket-version", "13") {
        return Err("unsupported Sec-WebSocket-Version (need 13)\n");
    }
    let key = headers
        .get("sec-websocket-key")
        .ok_or("missing Sec-WebSocket-Key\n")?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// The largest data-channel message accepted after the token check: one frame of the
/// agent session's largest payload plus its header and room for a longer HeaderLength (§2.1).
/// The websocket library's own default (64 MiB) would let one message cost that much before
/// the protocol could refuse it; past this the library fails the socket, and the session
/// waits for a resume as after any dropped socket.
pub(super) const MAX_DATA_MESSAGE: usize =
    crate::proto::DEFAULT_MAX_INCOMING_PAYLOAD + crate::proto::HEADER_SIZE + 1024;

/// How much the websocket library reads from the socket at a time. Its default, 128 KiB, is
/// zeroed before every read (tungstenite 0.30, `FrameCodec::read_in`): for a session whose
/// reads are mostly one ack of ~150 bytes, that memset was about 5 % of the emulator's CPU
/// under the load test (perf, docs/PERFORMANCE.md "Load"). 16 KiB still takes a burst of
/// ~14 input frames per read; larger messages span reads as before.
const SOCKET_READ_BUFFER: usize = 16 << 10;

pub(super) fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_DATA_MESSAGE))
        .max_frame_size(Some(MAX_DATA_MESSAGE))
        .read_buffer_size(SOCKET_READ_BUFFER)
}

/// Reads the OpenDataChannel frame, checks its token, and hands the socket to the session's
/// agent task (starting it on the first connection). `permit` is one of the unauthenticated
/// sockets' slots, given back once the token check is over either way.
async fn serve_socket(
    state: Arc<EmulatorState>,
    session_id: String,
    mut io: TokioIo<hyper::upgrade::Upgraded>,
    permit: OwnedSemaphorePermit,
) {
    let first = tokio::time::timeout(
        OPEN_FRAME_TIMEOUT,
        read_first_text(&mut io, FIRST_MESSAGE_LIMIT),
    )
    .await;
    let text = match first {
        Ok(Ok(text)) => text,
        Ok(Err(err)) => return refuse(io, &session_id, &err.to_string(), permit).await,
        Err(_elapsed) => {
            let why = format!("no OpenDataChannel frame within {OPEN_FRAME_TIMEOUT:?}");
            return refuse(io, &session_id, &why, permit).await;
        }
    };
    let open = match OpenDataChannel::parse(&text) {
        Ok(open) => open,
        Err(err) => return refuse(io, &session_id, &err.to_string(), permit).await,
    };
    let record = match state.sessions.authenticate(&session_id, &open.token_value) {
        Ok(record) => record,
        Err(err) => return refuse(io, &session_id, &err.to_string(), permit).await,
    };
    // The session's thread serves the socket from here (`link.rs`, PendingSocket).
    let socket = match PendingSocket::take(io) {
        Ok(socket) => socket,
        Err(NotTaken::NotTcp(io)) => {
            return refuse(io, &session_id, "not a TCP connection", permit).await;
        }
        Err(NotTaken::Lost(err)) => {
            tracing::warn!(%session_id, "data channel lost at hand-over: {err}");
            return;
        }
    };
    drop(permit);
    // Logged only: like the real agent, version decisions read the HandshakeResponse (§4.4.1).
    tracing::info!(%session_id, client_version = ?open.client_version, "data channel opened");
    let accepted = state
        .agents
        .deliver_or_spawn(&session_id, socket, |sockets, first| {
            // On a thread of its own, as if on its own instance (`session_thread.rs`).
            super::session_thread::spawn(task::run_session(
                Arc::clone(&state),
                record,
                sockets,
                first,
            ));
        });
    if !accepted {
        tracing::warn!(%session_id, "socket refused: the session is ending or reconnecting too fast");
    }
}

/// Why the first frame was not an OpenDataChannel candidate. The messages name sizes and
/// kinds only, never payload bytes: they are logged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum FirstFrameError {
    #[error("the first message must be a single unfragmented text frame")]
    NotText,
    #[error("the first frame is not masked (RFC 6455 §5.1: every client frame is)")]
    Unmasked,
    #[error("the first message is over {FIRST_MESSAGE_LIMIT} bytes")]
    TooLarge,
    #[error("the connection failed before the first message: {0}")]
    Io(std::io::ErrorKind),
}

/// Reads one websocket frame (RFC 6455 §5.2) straight off the upgraded stream: it must be a
/// final, masked text frame of at most `limit` payload bytes. The length is checked before
/// the payload is read, so a client announcing 64 MiB costs nothing but its 14-byte header.
async fn read_first_text<R: AsyncRead + Unpin>(
    io: &mut R,
    limit: usize,
) -> Result<String, FirstFrameError> {
    let io_error = |err: std::io::Error| FirstFrameError::Io(err.kind());
    let mut head = [0u8; 2];
    io.read_exact(&mut head).await.map_err(io_error)?;
    let (fin, reserved, opcode) = (head[0] & 0x80 != 0, head[0] & 0x70, head[0] & 0x0f);
    if !fin || reserved != 0 || opcode != 0x1 {
        return Err(FirstFrameError::NotText);
    }
    if head[1] & 0x80 == 0 {
        return Err(FirstFrameError::Unmasked);
    }
    let length = match head[1] & 0x7f {
        126 => u64::from(io.read_u16().await.map_err(io_error)?),
        127 => io.read_u64().await.map_err(io_error)?,
        short => u64::from(short),
    };
    let length = match usize::try_from(length) {
        Ok(length) if length <= limit => length,
        _ => return Err(FirstFrameError::TooLarge),
    };
    let mut mask = [0u8; 4];
    io.read_exact(&mut mask).await.map_err(io_error)?;
    let mut payload = vec![0u8; length];
    io.read_exact(&mut payload).await.map_err(io_error)?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    String::from_utf8(payload).map_err(|_| FirstFrameError::NotText)
}

async fn refuse(
    io: TokioIo<hyper::upgrade::Upgraded>,
    session_id: &str,
    why: &str,
    _permit: OwnedSemaphorePermit,
) {
    tracing::warn!(%session_id, "data channel refused: {why}");
    let mut socket =
        WebSocketStream::from_raw_socket(io, Role::Server, Some(socket_config())).await;
    let close = CloseFrame {
        code: CloseCode::Policy,
        reason: "data channel refused".into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        socket.send(Message::Close(Some(close))),
    )
    .await;
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_come_from_the_path_only() {
        assert_eq!(
            session_id_from_path("/v1/data-channel/dev-0123456789abcdef0").as_deref(),
            Some("dev-0123456789abcdef0")
        );
        assert_eq!(session_id_from_path("/v1/data-channel/"), None);
        assert_eq!(session_id_from_path("/v1/data-channel/a/../b"), None);
        assert_eq!(session_id_from_path("/v1/other/x"), None);
    }

    /// A client frame as RFC 6455 §5.2 lays it out, masked with `mask`.
    fn client_frame(first_byte: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut frame = vec![first_byte];
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

    #[tokio::test]
    async fn the_first_frame_is_unmasked_and_returned_when_it_is_small_text() {
        let text = r#"{"MessageSchemaVersion":"1.0","TokenValue":"t"}"#;
        for payload in [text.to_owned(), "x".repeat(FIRST_MESSAGE_LIMIT)] {
            let frame = client_frame(0x81, payload.as_bytes(), [1, 2, 3, 4]);
            let read = read_first_text(&mut frame.as_slice(), FIRST_MESSAGE_LIMIT).await;
            assert_eq!(read.as_deref(), Ok(payload.as_str()));
        }
    }

    #[tokio::test]
    async fn a_large_first_frame_is_refused_from_its_header_alone() {
        // Only the header is supplied: the payload is never read, let alone buffered.
        let mut header = client_frame(0x81, &[], [0; 4]);
        header[1] = 0x80 | 127;
        header.truncate(2);
        header.extend_from_slice(&(64u64 << 20).to_be_bytes());
        assert_eq!(
            read_first_text(&mut header.as_slice(), FIRST_MESSAGE_LIMIT).await,
            Err(FirstFrameError::TooLarge)
        );
        let one_over = client_frame(0x81, &[b'x'; FIRST_MESSAGE_LIMIT + 1], [9; 4]);
        assert_eq!(
            read_first_text(&mut one_over.as_slice(), FIRST_MESSAGE_LIMIT).await,
            Err(FirstFrameError::TooLarge)
        );
    }

    #[tokio::test]
    async fn other_first_frames_are_refused() {
        let cases = [
            (client_frame(0x82, b"{}", [1; 4]), FirstFrameError::NotText), // binary
            (client_frame(0x01, b"{}", [1; 4]), FirstFrameError::NotText), // not final
            (client_frame(0x89, b"", [1; 4]), FirstFrameError::NotText),   // ping
            (
                client_frame(0x81, &[0xff, 0xfe], [0; 4]),
                FirstFrameError::NotText,
            ), // not UTF-8
            (vec![0x81, 0x02, b'{', b'}'], FirstFrameError::Unmasked),
            (
                vec![0x81],
                FirstFrameError::Io(std::io::ErrorKind::UnexpectedEof),
            ),
        ];
        for (frame, expected) in cases {
            assert_eq!(
                read_first_text(&mut frame.as_slice(), FIRST_MESSAGE_LIMIT).await,
                Err(expected)
            );
        }
    }
}
