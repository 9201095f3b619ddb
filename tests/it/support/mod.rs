//! What the integration tests share, one module per job. Nothing here is allowed to go unused:
//! the whole directory is compiled into the one test binary, so an item no test needs is a
//! warning (and CI denies warnings).

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod accounts;
pub mod agent_client;
pub mod aws_clients;
pub mod awscli;
pub mod cli;
pub mod copy;
pub mod cut_proxy;
pub mod emulator;
pub mod fake_service;
pub mod forward;
pub mod frames;
pub mod hostile;
pub mod pair;
pub mod port_client;
pub mod pty;
pub mod trail;

/// A generous bound for "eventually": a deadline against hangs on a loaded 2-core machine,
/// never a speed assertion.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Wall-clock milliseconds, for a `Session`'s created-date base.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `http://127.0.0.1:PORT` where nothing listens: a port that was free a moment ago, for the
/// "unreachable endpoint" cases. (Another process could take it in between; nothing in these
/// tests binds a fixed port, so in practice none does.)
pub fn unreachable_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Reads `output` (a child's stdout) line by line until one starts with `prefix` and returns
/// the rest of that line; panics if none comes within `PATIENCE` or the stream ends first.
/// The rest of the output keeps being read (and dropped) on a thread of its own, so the child
/// never blocks on a full pipe.
pub fn line_after(output: impl Read + Send + 'static, prefix: &str, what: &str) -> String {
    let (found, wanted) = mpsc::channel();
    let wanted_prefix = prefix.to_owned();
    std::thread::spawn(move || {
        let mut found = Some(found);
        let mut seen = Vec::new();
        for line in BufReader::new(output).lines() {
            let Ok(line) = line else { break };
            match line.strip_prefix(&wanted_prefix) {
                Some(rest) if found.is_some() => {
                    let _ = found.take().unwrap().send(Ok(rest.to_owned()));
                }
                _ if found.is_some() => seen.push(line),
                _ => {}
            }
        }
        if let Some(found) = found {
            let _ = found.send(Err(seen));
        }
    });
    match wanted.recv_timeout(PATIENCE) {
        Ok(Ok(rest)) => rest,
        Ok(Err(seen)) => panic!("{what} ended before a {prefix:?} line; it printed {seen:?}"),
        Err(_) => panic!("no {prefix:?} line from {what} within {PATIENCE:?}"),
    }
}

/// Polls `check` every 50 ms until it holds; panics after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let give_up = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < give_up, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
