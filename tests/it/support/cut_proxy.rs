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
    cut: Arc<AtomicBool>,
    throttle: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl CutProxy {
    /// Forwards 127.0.0.1:0 (a free port) to `target` until dropped.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let throttle = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let flags = Flags {
            cut: Arc::clone(&cut),
            throttle: Arc::clone(&throttle),
            stop: Arc::clone(&stop),
        };
        std::thread::spawn(move || serve(Some(listener), addr, target, &flags));
        Self {
            endpoint: format!("http://{addr}"),
            cut,
            throttle,
            stop,
        }
    }

    /// From now on every request is answered with a ThrottlingException (and the
    /// connections open now are closed, so none slips through).
    pub fn throttle(&self) {
        self.throttle.store(true, Ordering::SeqCst);
    }

    pub fn stop_throttling(&self) {
        self.throttle.store(false, Ordering::SeqCst);
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct Flags {
    cut: Arc<AtomicBool>,
    throttle: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

fn serve(mut listener: Option<TcpListener>, addr: SocketAddr, target: SocketAddr, flags: &Flags) {
    let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let mut throttling = false;
    while !flags.stop.load(Ordering::SeqCst) {
        let throttle = flags.throttle.load(Ordering::SeqCst);
        if throttle && !throttling {
            for stream in open.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        throttling = throttle;
        if flags.cut.load(Ordering::SeqCst) {
            listener = None;
            for stream in open.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
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
            Ok((client, _)) if throttling => {
                client.set_nonblocking(false).unwrap();
                std::thread::spawn(move || answer_throttled(client));
            }
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut tracked = open.lock().unwrap();
                tracked.push(client.try_clone().unwrap());
                tracked.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
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
