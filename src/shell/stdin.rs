//! Reading our stdin on a plain thread that can be stopped. `tokio::io::stdin` would leave
//! a blocked read behind when the shell ends, and that read would steal the next key
//! from whoever owns the terminal after us (the TUI, gitui's "pause the input reader").
//! So we poll with a short timeout and check a stop flag between polls.

use std::io::Read;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::transport::InputSender;

/// One read of stdin; also the largest input command sent to the transport.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// How long a stop request may wait for the poll to return.
const POLL_INTERVAL_MS: u16 = 50;
/// End of transmission: what a remote shell needs to see end of input (issue 5, pipe mode).
const EOT: u8 = 0x04;

/// What to do when stdin reaches end of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnEof {
    /// Pipe mode: send EOT so the remote shell sees end of input.
    SendEot,
    /// Nothing to send (a terminal does not reach EOF in raw mode).
    Stop,
}

/// The reader thread; stopped and joined on drop.
pub struct StdinPump {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StdinPump {
    pub fn spawn(input: InputSender, on_eof: OnEof) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("gangway-stdin".into())
            .spawn(move || read_loop(&input, on_eof, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for StdinPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_loop(input: &InputSender, on_eof: OnEof, stop: &AtomicBool) {
    let stdin = std::io::stdin();
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    while !stop.load(Ordering::Relaxed) {
        match wait_readable(&stdin) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(error) => {
                tracing::warn!(%error, "polling stdin failed");
                return;
            }
        }
        // The buffer is larger than std's internal one, so reads bypass it and poll
        // never misses bytes sitting in a user-space buffer.
        match stdin.lock().read(&mut buffer) {
            Ok(0) => {
                tracing::debug!("stdin reached end of file");
                if on_eof == OnEof::SendEot {
                    let _ = input.send_input_blocking(vec![EOT]);
                }
                return;
            }
            Ok(n) => {
                if input.send_input_blocking(buffer[..n].to_vec()).is_err() {
                    return;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(%error, "reading stdin failed");
                return;
            }
        }
    }
}

fn wait_readable(stdin: &std::io::Stdin) -> nix::Result<bool> {
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(POLL_INTERVAL_MS)) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(error) => Err(error),
    }
}
