//! `GET /v1/data-channel/{sid}`: the websocket upgrade and the OpenDataChannel check
//! (protocol.md §1.3, §1.4). A wrong or expired token closes the socket before anything
//! reaches a shell; the token itself is never logged.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::link::AgentSocket;
use super::open_channel::OpenDataChannel;
use super::task;
use crate::emulator::state::EmulatorState;

/// A client that upgrades and then says nothing is dropped after this long.
const OPEN_FRAME_TIMEOUT: Duration = Duration::from_secs(15);

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
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                serve_socket(state, session_id, socket).await;
            }
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

/// Reads the OpenDataChannel frame, checks its token, and hands the socket to the session's
/// agent task (starting it on the first connection).
async fn serve_socket(state: Arc<EmulatorState>, session_id: String, mut socket: AgentSocket) {
    let first = tokio::time::timeout(OPEN_FRAME_TIMEOUT, socket.next()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(text)))) => text,
        _ => {
            return refuse(
                socket,
                &session_id,
                "expected an OpenDataChannel text frame",
            )
            .await;
        }
    };
    let open = match OpenDataChannel::parse(text.as_str()) {
        Ok(open) => open,
        Err(err) => return refuse(socket, &session_id, &err.to_string()).await,
    };
    let record = match state.sessions.authenticate(&session_id, &open.token_value) {
        Ok(record) => record,
        Err(err) => return refuse(socket, &session_id, &err.to_string()).await,
    };
    // Logged only: like the real agent, version decisions read the HandshakeResponse (§4.4.1).
    tracing::info!(%session_id, client_version = ?open.client_version, "data channel opened");
    let accepted = state
        .agents
        .deliver_or_spawn(&session_id, socket, |sockets, first| {
            tokio::spawn(task::run_session(
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

async fn refuse(mut socket: AgentSocket, session_id: &str, why: &str) {
    tracing::warn!(%session_id, "data channel refused: {why}");
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
}
