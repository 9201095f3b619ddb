//! The bench's destination server and the local clients that drive it, through a tunnel or
//! directly.
//!
//! Protocol: `U` + u64 length: the server reads that many bytes and answers `K`; `D` + u64
//! length: it writes that many bytes; `E`: it echoes one byte. It then waits for the client
//! to close.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub async fn serve() -> SocketAddr {
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

/// Connect, send `bytes`, wait for the server's `K`: the time from connect to `K`.
pub async fn upload(addr: SocketAddr, bytes: u64) -> Duration {
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

/// Connect, ask for `bytes`: the time from connect to the last byte.
pub async fn download(addr: SocketAddr, bytes: u64) -> Duration {
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

/// `connections` downloads of `each` bytes at once: the time until the last one is done.
pub async fn parallel_download(addr: SocketAddr, connections: usize, each: u64) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(download(addr, each)))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

/// Connect, one byte there and back; the median of `runs`.
pub async fn setup_latency(addr: SocketAddr, runs: usize) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..runs {
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
