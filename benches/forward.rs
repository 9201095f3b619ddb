//! `gangway forward` against a spawned `gangway emulator` on loopback, with the agent's real
//! pace (1 KiB then 1 ms per read, protocol.md §0 item 16), each figure next to a ceiling
//! measured in the same run (issue 12):
//!
//! - one forwarded connection upwards, vs. the same bytes over a direct loopback TCP
//!   connection to the same server (no tunnel);
//! - one connection downwards: the agent's pace for one session, the ceiling of the rest;
//! - 16 connections downwards over one session, and over `--sessions 4`, vs. 1× and 4× the
//!   one-session figure;
//! - connection setup through the mux: connect, then one byte there and back, vs. the same on
//!   a direct loopback connection.
//!
//! Run: `cargo bench --bench forward` (release). Prints a Markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

const GANGWAY: &str = env!("CARGO_BIN_EXE_gangway");
const INSTANCE: &str = "i-0b0b0b0b0b0b0b0b1";
const UPLOAD_BYTES: u64 = 32 << 20;
const DOWNLOAD_BYTES: u64 = 4 << 20;
const PARALLEL: usize = 16;
const PARALLEL_BYTES: u64 = 512 << 10;
const SETUP_RUNS: usize = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let server = serve().await;
    let home = std::env::temp_dir().join(format!("gangway-bench-forward-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let fleet = home.join("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[[instances]]\nid = \"{INSTANCE}\"\nports = {{ \"9000\" = \"{server}\" }}\n"),
    )
    .unwrap();
    let (_emulator, endpoint) = spawn_emulator(fleet.to_str().unwrap()).await;
    println!("| measure | gangway forward | ceiling (same run) | ceiling is |");
    println!("|---|---|---|---|");

    let (_one, local) = forward(&endpoint, &home, 1).await;
    let up = mib_per_s(UPLOAD_BYTES, upload(local, UPLOAD_BYTES).await);
    let direct = mib_per_s(UPLOAD_BYTES, upload(server, UPLOAD_BYTES).await);
    println!(
        "| one connection up, {} MiB | {up:.1} MiB/s | {direct:.1} MiB/s | the same bytes on a direct loopback TCP connection |",
        UPLOAD_BYTES >> 20
    );
    let down = mib_per_s(DOWNLOAD_BYTES, download(local, DOWNLOAD_BYTES).await);
    println!(
        "| one connection down, {} MiB | {down:.2} MiB/s | 0.98 MiB/s nominal | the agent's pace: 1024 bytes per read, 1 ms pause (§0 item 16) |",
        DOWNLOAD_BYTES >> 20
    );
    let total = PARALLEL as u64 * PARALLEL_BYTES;
    let one_session = mib_per_s(total, parallel_download(local).await);
    println!(
        "| {PARALLEL} connections down over 1 session, {} KiB each | {one_session:.2} MiB/s | {down:.2} MiB/s | one connection down, this run |",
        PARALLEL_BYTES >> 10
    );
    let setup = setup_latency(local).await;
    let setup_direct = setup_latency(server).await;
    println!(
        "| connection setup + 1-byte round trip through the mux (median of {SETUP_RUNS}) | {:.2} ms | {:.2} ms | the same on a direct loopback connection |",
        ms(setup),
        ms(setup_direct)
    );
    drop(_one);

    let (_four, local) = forward(&endpoint, &home, 4).await;
    // Warm: let the four sessions open (lazily) before timing.
    let _ = parallel_download(local).await;
    let four = mib_per_s(total, parallel_download(local).await);
    println!(
        "| {PARALLEL} connections down over `--sessions 4` | {four:.2} MiB/s | {:.2} MiB/s | 4 × one connection down, this run |",
        4.0 * down
    );
}

/// A server for the bench: `U` + u64 length: reads that many bytes, answers `K`; `D` + u64
/// length: writes that many bytes; `E`: echoes one byte.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut command = [0u8; 1];
                if stream.read_exact(&mut command).await.is_err() {
                    return;
                }
                match command[0] {
                    b'E' => {
                        let mut byte = [0u8; 1];
                        if stream.read_exact(&mut byte).await.is_ok() {
                            let _ = stream.write_all(&byte).await;
                        }
                    }
                    kind => {
                        let mut length = [0u8; 8];
                        if stream.read_exact(&mut length).await.is_err() {
                            return;
                        }
                        let mut left = u64::from_le_bytes(length);
                        let mut buffer = vec![0x5au8; 64 << 10];
                        while left > 0 {
                            let n = (left as usize).min(buffer.len());
                            let done = if kind == b'U' {
                                stream.read(&mut buffer[..n]).await
                            } else {
                                stream.write_all(&buffer[..n]).await.map(|()| n)
                            };
                            match done {
                                Ok(0) | Err(_) => return,
                                Ok(n) => left -= n as u64,
                            }
                        }
                        if kind == b'U' {
                            let _ = stream.write_all(b"K").await;
                        }
                        let mut rest = [0u8; 1];
                        let _ = stream.read(&mut rest).await; // until the client closes
                    }
                }
            });
        }
    });
    addr
}

async fn upload(addr: SocketAddr, bytes: u64) -> Duration {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut header = vec![b'U'];
    header.extend_from_slice(&bytes.to_le_bytes());
    stream.write_all(&header).await.unwrap();
    let chunk = vec![0xa5u8; 64 << 10];
    let mut left = bytes;
    while left > 0 {
        let n = (left as usize).min(chunk.len());
        stream.write_all(&chunk[..n]).await.unwrap();
        left -= n as u64;
    }
    let mut ok = [0u8; 1];
    stream.read_exact(&mut ok).await.unwrap();
    started.elapsed()
}

async fn download(addr: SocketAddr, bytes: u64) -> Duration {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut header = vec![b'D'];
    header.extend_from_slice(&bytes.to_le_bytes());
    stream.write_all(&header).await.unwrap();
    let mut buffer = vec![0u8; 64 << 10];
    let mut left = bytes;
    while left > 0 {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "the download ended early");
        left = left.saturating_sub(n as u64);
    }
    started.elapsed()
}

async fn parallel_download(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|_| tokio::spawn(download(addr, PARALLEL_BYTES)))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

async fn setup_latency(addr: SocketAddr) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..SETUP_RUNS {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream.write_all(b"E!").await.unwrap();
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

async fn spawn_emulator(fleet: &str) -> (Child, String) {
    // The agent's real pace (the default): the download rows claim what AWS allows.
    let mut child = Command::new(GANGWAY)
        .args(["emulator", "--listen", "127.0.0.1:0", "--fleet", fleet])
        .env("GANGWAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("endpoint line");
    let endpoint = first.strip_prefix("endpoint=").unwrap().to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, endpoint)
}

/// `gangway forward INSTANCE 9000 --json --sessions N`; the child and its local address.
async fn forward(endpoint: &str, home: &std::path::Path, sessions: u16) -> (Child, SocketAddr) {
    let mut child = Command::new(GANGWAY)
        .args(["forward", INSTANCE, "9000", "--json", "--sessions"])
        .arg(sessions.to_string())
        .envs([
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_ACCESS_KEY_ID", "AKIAGANGWAYADMIN"),
            ("AWS_SECRET_ACCESS_KEY", "gangway"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", endpoint),
            ("GANGWAY_LOG", "warn"),
        ])
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let local = loop {
        let line = lines.next_line().await.unwrap().expect("a listening event");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "listening" {
            break event["local"].as_str().unwrap().parse().unwrap();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, local)
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
