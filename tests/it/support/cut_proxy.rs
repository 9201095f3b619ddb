//! A TCP forwarder in front of an emulator whose network can be cut and restored: while cut,
//! the port refuses connections and every forwarded connection is closed, as when a laptop
//! loses its network; restored, it listens on the same port again.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct CutProxy {
    /// `http://127.0.0.1:PORT` of the forwarder.
    pub endpoint: String,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl CutProxy {
    /// Forwards 127.0.0.1:0 (a free port) to `target` until dropped.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (cut_flag, stop_flag) = (Arc::clone(&cut), Arc::clone(&stop));
        std::thread::spawn(move || serve(Some(listener), addr, target, &cut_flag, &stop_flag));
        Self {
            endpoint: format!("http://{addr}"),
            cut,
            stop,
        }
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

fn serve(
    mut listener: Option<TcpListener>,
    addr: SocketAddr,
    target: SocketAddr,
    cut: &AtomicBool,
    stop: &AtomicBool,
) {
    let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    while !stop.load(Ordering::SeqCst) {
        if cut.load(Ordering::SeqCst) {
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
