//! The progress bar: one line on stderr, redrawn five times a second, only when stderr is a
//! terminal (a script's stderr gets nothing but errors).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(200);
const BAR_CELLS: u64 = 24;

/// Counters the copy advances and the bar reads.
#[derive(Debug, Default)]
pub struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    /// Bytes counted as done before this run started (a resume): not part of the rate.
    start: AtomicU64,
    stopped: AtomicBool,
}

impl Progress {
    pub fn add_total(&self, bytes: u64) {
        self.total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Takes back bytes counted for a transfer that has to start again.
    pub fn rewind(&self, bytes: u64) {
        self.done
            .fetch_sub(bytes.min(self.done()), Ordering::Relaxed);
    }

    /// Bytes already done when this run began.
    pub fn resumed(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
        self.start.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Draws the bar on stderr until [`Progress::stop`], when `show` is true.
    pub fn spawn_bar(self: &Arc<Self>, show: bool) -> Option<tokio::task::JoinHandle<()>> {
        if !show {
            return None;
        }
        let progress = Arc::clone(self);
        Some(tokio::spawn(async move {
            let began = Instant::now();
            let mut tick = tokio::time::interval(REDRAW_EVERY);
            while !progress.stopped.load(Ordering::Relaxed) {
                tick.tick().await;
                let line = progress.line(began.elapsed());
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r{line}\x1b[K");
                let _ = stderr.flush();
            }
        }))
    }

    /// Stops the bar and clears its line.
    pub async fn stop(&self, bar: Option<tokio::task::JoinHandle<()>>) {
        self.stopped.store(true, Ordering::Relaxed);
        if let Some(bar) = bar {
            let _ = bar.await;
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
        }
    }

    fn line(&self, elapsed: Duration) -> String {
        let total = self.total.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed).min(total);
        let fresh = done.saturating_sub(self.start.load(Ordering::Relaxed));
        render(done, total, fresh, elapsed)
    }
}

/// `[=========>          ]  45%  28.8/64.0 MiB  5.2 MiB/s  ETA 7s`.
pub fn render(done: u64, total: u64, fresh: u64, elapsed: Duration) -> String {
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = ((fraction * BAR_CELLS as f64) as u64).min(BAR_CELLS);
    let mut bar = "=".repeat(filled as usize);
    if filled < BAR_CELLS {
        bar.push('>');
        bar.push_str(&" ".repeat((BAR_CELLS - filled - 1) as usize));
    }
    let rate = fresh as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if rate > 0.0 && done < total {
        format!("  ETA {}s", ((total - done) as f64 / rate).ceil() as u64)
    } else {
        String::new()
    };
    format!(
        "[{bar}] {:>3}%  {}/{}  {}/s{eta}",
        (fraction * 100.0) as u64,
        mib(done),
        mib(total),
        mib(rate as u64)
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_says_how_far_and_how_fast() {
        let mib = 1024 * 1024;
        let line = render(32 * mib, 64 * mib, 16 * mib, Duration::from_secs(4));
        assert!(
            line.starts_with("[============>           ]  50%"),
            "{line}"
        );
        assert!(line.contains("32.0 MiB/64.0 MiB"), "{line}");
        assert!(
            line.contains("4.0 MiB/s") && line.ends_with("ETA 8s"),
            "{line}"
        );
        assert!(render(0, 0, 0, Duration::ZERO).contains("100%"));
    }
}
