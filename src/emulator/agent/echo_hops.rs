//! A measurement aid for the load test (issue 17, tests/it/load.rs): where a keystroke's echo
//! waits inside the emulator. Off unless the emulator process was started with
//! `GANGWAY_ECHO_HOPS=FILE`; then, per session, the first input delivered to the process
//! while no earlier one is being timed, and the output that follows it, are stamped at each
//! hop and appended to FILE as one line:
//!
//! `SESSION_ID WAKE FRAME PTY_WRITE PTY_READ SENT` (wall-clock nanoseconds since the epoch,
//! so that the test process, which stamps the send and the receipt, can line them up):
//! - WAKE: the socket's readiness woke the session (the last wake before the frame was read);
//! - FRAME: the session task read the input frame;
//! - PTY_WRITE: the input was written to the PTY;
//! - PTY_READ: the next read of the process's output returned;
//! - SENT: the next output frame was flushed to the socket.
//!
//! Session ids and times only: never a payload, a token or a stream URL. Costs one atomic
//! load per hop when off.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

/// Where the lines go, opened once per process.
static SINK: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();

fn sink() -> Option<&'static Mutex<std::fs::File>> {
    SINK.get_or_init(|| {
        let path = std::env::var_os("GANGWAY_ECHO_HOPS")?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Mutex::new)
            .ok()
    })
    .as_ref()
}

/// Wall-clock nanoseconds: the one clock both processes of the load test read.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// One session's stamps; zero means not reached yet.
#[derive(Debug, Default)]
pub struct Hops {
    session_id: String,
    wake: AtomicU64,
    /// [`Self::wake`] as it was when the timed frame was read.
    frame_wake: AtomicU64,
    frame: AtomicU64,
    pty_write: AtomicU64,
    pty_read: AtomicU64,
}

/// A session's hops, `None` when the measurement is off.
pub type SessionHops = Option<Arc<Hops>>;

/// The stamps of a new session, when `GANGWAY_ECHO_HOPS` is set.
pub fn for_session(session_id: &str) -> SessionHops {
    sink().map(|_| {
        Arc::new(Hops {
            session_id: session_id.to_string(),
            ..Hops::default()
        })
    })
}

impl Hops {
    /// The socket's reader was woken (called from whichever thread runs its I/O driver).
    pub fn woken(&self) {
        self.wake.store(now_ns(), Ordering::Relaxed);
    }

    /// Input read at `frame` goes to the process: starts a measurement unless one runs.
    pub fn input_delivered(&self, frame: u64) {
        if self
            .frame
            .compare_exchange(0, frame, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.frame_wake
                .store(self.wake.load(Ordering::Relaxed), Ordering::Relaxed);
            self.pty_write.store(0, Ordering::Relaxed);
            self.pty_read.store(0, Ordering::Relaxed);
        }
    }

    /// Input was written to the PTY.
    pub fn pty_written(&self) {
        if self.frame.load(Ordering::Acquire) != 0 {
            let _ =
                self.pty_write
                    .compare_exchange(0, now_ns(), Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// A read of the process's output returned.
    pub fn pty_read(&self) {
        if self.pty_write.load(Ordering::Acquire) != 0 {
            let _ =
                self.pty_read
                    .compare_exchange(0, now_ns(), Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// A frame was flushed to the socket: ends the measurement if output was read.
    pub fn frame_sent(&self) {
        if self.pty_read.load(Ordering::Acquire) == 0 {
            return;
        }
        let sent = now_ns();
        let line = format!(
            "{} {} {} {} {} {}\n",
            self.session_id,
            self.frame_wake.load(Ordering::Relaxed),
            self.frame.load(Ordering::Relaxed),
            self.pty_write.load(Ordering::Relaxed),
            self.pty_read.load(Ordering::Relaxed),
            sent
        );
        self.pty_read.store(0, Ordering::Relaxed);
        self.pty_write.store(0, Ordering::Relaxed);
        self.frame.store(0, Ordering::Release);
        if let Some(sink) = sink()
            && let Ok(mut file) = sink.lock()
        {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// Polls `inner` with a waker that stamps [`Hops::woken`] before passing the wake on.
pub struct StampWakes<'a, F> {
    pub inner: F,
    pub hops: &'a Arc<Hops>,
}

struct StampingWaker {
    hops: Arc<Hops>,
    inner: Waker,
}

impl Wake for StampingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.hops.woken();
        self.inner.wake_by_ref();
    }
}

impl<F: Future + Unpin> Future for StampWakes<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(StampingWaker {
            hops: Arc::clone(self.hops),
            inner: cx.waker().clone(),
        }));
        Pin::new(&mut self.inner).poll(&mut Context::from_waker(&waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_needs_every_hop_in_order() {
        let hops = Hops::default();
        // Output before any input is not an echo.
        hops.pty_read();
        assert_eq!(hops.pty_read.load(Ordering::Relaxed), 0);
        hops.input_delivered(5);
        hops.input_delivered(9);
        assert_eq!(
            hops.frame.load(Ordering::Relaxed),
            5,
            "the first input is timed"
        );
        hops.pty_read();
        assert_eq!(hops.pty_read.load(Ordering::Relaxed), 0, "not written yet");
        hops.pty_written();
        hops.pty_read();
        assert_ne!(hops.pty_read.load(Ordering::Relaxed), 0);
        hops.frame_sent();
        assert_eq!(
            hops.frame.load(Ordering::Relaxed),
            0,
            "ready for the next one"
        );
    }
}
