//! A TCP forwarder in front of an emulator whose network can be cut and restored: while cut,
//! the port refuses connections and every forwarded connection is closed, as when a laptop
//! loses its network; restored, it listens on the same port again. It can also play AWS
//! throttling: while `throttle` is on, every request gets SSM's ThrottlingException.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct CutProxy {
    /// `http://127.0.0.1:PORT` of the forwarder.
    pub endpoint: String,
    shared: Arc<Shared>,
}

/// What the test's calls and the forwarding thread share. Each call changes it under the
/// lock and closes what must close before it returns, and the thread decides each accepted
/// connection under the same lock: so once `throttle()` or `cut()` has returned, no request
/// can reach the emulator through a connection that was open before, or one accepted after.
/// (Flags read on the thread's next turn let a pooled keep-alive connection carry one more
/// request through, which made a throttling test flaky under load.)
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

#[derive(Default)]
struct State {
    cut: bool,
    throttle: bool,
    /// Both ends of every forwarded connection, to close them on a cut or throttle.
    open: Vec<TcpStream>,
}

impl State {
    fn close_all(&mut self) {
        for stream in self.open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl CutProxy {
    /// Forwards 127.0.0.1:0 (a free port) to `target` until dropped.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        std::thread::spawn(move || serve(Some(listener), addr, target, &thread_shared));
        Self {
            endpoint: format!("http://{addr}"),
            shared,
        }
    }

    /// From now on every request is answered with a ThrottlingException (and the
    /// connections open now are closed, so none slips through).
    pub fn throttle(&self) {
        let mut state = self.shared.state.lock().unwrap();
        state.throttle = true;
        state.close_all();
    }

    pub fn stop_throttling(&self) {
        self.shared.state.lock().unwrap().throttle = false;
    }

    pub fn cut(&self) {
        let mut state = self.shared.state.lock().unwrap();
        state.cut = true;
        state.close_all();
    }

    pub fn restore(&self) {
        self.shared.state.lock().unwrap().cut = false;
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut listener: Option<TcpListener>, addr: SocketAddr, target: SocketAddr, shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.state.lock().unwrap().cut {
            listener = None;
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        let Some(active) = &listener else {
            // Restored: the same port again (std sets SO_REUSEADDR).
            listener = TcpListener::bind(addr).ok();
            continue;
        };
        active.set_nonblocking(true).unwrap();
        match active.accept() {
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                let mut state = shared.state.lock().unwrap();
                if state.cut {
                    let _ = client.shutdown(Shutdown::Both);
                } else if state.throttle {
                    std::thread::spawn(move || answer_throttled(client));
                } else {
                    let Ok(server) = TcpStream::connect(target) else {
                        continue;
                    };
                    state.open.push(client.try_clone().unwrap());
                    state.open.push(server.try_clone().unwrap());
                    pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                    pipe(server, client);
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Reads one request (head and Content-Length body) and answers as SSM does when it
/// throttles: HTTP 400 with `ThrottlingException`, then closes.
fn answer_throttled(mut client: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes());
    let _ = client.shutdown(Shutdown::Both);
}
