//! The accept loop: one task per connection, HTTP/1.1 with upgrades (for the websocket).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::router;
use super::state::EmulatorState;

/// A client that opens a connection and never finishes its request headers is dropped
/// after this, so it holds no task forever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves until `stop` fires or is dropped. Connection tasks live in a `JoinSet`, so
/// stopping (or aborting this task) ends them too.
pub async fn accept_loop(
    listener: TcpListener,
    state: Arc<EmulatorState>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, Arc::clone(&state)));
                }
                Err(err) => {
                    // Usually EMFILE: back off briefly instead of spinning.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The address a request came from, put in its extensions for the trail's
/// `sourceIPAddress`.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

async fn serve_connection(stream: TcpStream, peer: SocketAddr, state: Arc<EmulatorState>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        router::route(Arc::clone(&state), request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(err) = connection.await {
        tracing::debug!("connection ended: {err}");
    }
}
