//! Short sleeps with the OS timer's precision, for the agent's 1 ms pause (§0 item 16).
//!
//! tokio's timer rounds every sleep up to a whole millisecond tick, so `sleep(1 ms)` lasted
//! about 2.2 ms (1,000 sleeps in 2.2 s, against 1.15 s for a thread's nanosleep, on the 2-core
//! test machine at load 10). That halved the agent's pace, while Go's `time.Sleep(1 ms)`, which
//! the agent uses, lasts about 1.1 ms. So the pauses are timed by one thread of their own for
//! the whole process: it keeps the deadlines in a heap and waits on a channel with the next
//! deadline as timeout (a futex wait, precise to tens of microseconds), then wakes every task
//! whose deadline passed. One thread whatever the number of sessions, and never the blocking
//! pool, which serves the API.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Instant;

use tokio::sync::oneshot;

type Request = (Instant, oneshot::Sender<()>);

static PACER: OnceLock<Sender<Request>> = OnceLock::new();

/// Sleeps until `until`. Restart-safe: dropping the future and calling again with the same
/// `until` waits only what is left. If the pacer thread cannot run, falls back to tokio's timer.
pub async fn sleep_until(until: Instant) {
    if until <= Instant::now() {
        return;
    }
    let (wake, woken) = oneshot::channel();
    let sent = PACER
        .get_or_init(|| {
            let (requests, receiver) = channel();
            let spawned = std::thread::Builder::new()
                .name("gangway-pacer".into())
                .spawn(move || run(&receiver));
            if spawned.is_err() {
                tracing::warn!("the pacer thread did not start; pauses use tokio's timer");
            }
            requests
        })
        .send((until, wake))
        .is_ok();
    if !sent || woken.await.is_err() {
        tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
    }
}

fn run(requests: &Receiver<Request>) {
    let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut waiting: std::collections::HashMap<u64, oneshot::Sender<()>> =
        std::collections::HashMap::new();
    let mut next_id = 0u64;
    loop {
        let request = match heap.peek() {
            None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(Reverse((deadline, _))) => {
                requests.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
        };
        let first = match request {
            Ok(request) => Some(request),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Everything already queued too: one wake-up per batch, not per session.
        for (deadline, wake) in first
            .into_iter()
            .chain(std::iter::from_fn(|| requests.try_recv().ok()))
        {
            heap.push(Reverse((deadline, next_id)));
            waiting.insert(next_id, wake);
            next_id += 1;
        }
        let now = Instant::now();
        while let Some(Reverse((deadline, id))) = heap.peek().copied() {
            if deadline > now {
                break;
            }
            heap.pop();
            if let Some(wake) = waiting.remove(&id) {
                let _ = wake.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn pauses_are_never_shorter_than_asked() {
        let start = Instant::now();
        for _ in 0..200 {
            let until = Instant::now() + Duration::from_millis(1);
            sleep_until(until).await;
            assert!(Instant::now() >= until);
        }
        let elapsed = start.elapsed();
        eprintln!("200 pauses of 1 ms: {elapsed:?}");
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    }

    #[tokio::test]
    async fn concurrent_sleepers_each_wake_at_their_own_deadline() {
        let start = Instant::now();
        let sleepers: Vec<_> = (1..=20u64)
            .map(|ms| tokio::spawn(sleep_until(start + Duration::from_millis(ms))))
            .collect();
        for sleeper in sleepers {
            sleeper.await.expect("a sleeper");
        }
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}

#[cfg(test)]
mod measure {
    use std::time::Duration;

    use super::*;

    /// 100 sessions pausing 200 times each, at once: how long a pause lasts under load.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement: cargo test --lib -- --ignored pacer::measure --nocapture"]
    async fn many_sessions_pausing_at_once() {
        let start = Instant::now();
        let sessions: Vec<_> = (0..100)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..200 {
                        sleep_until(Instant::now() + Duration::from_millis(1)).await;
                    }
                })
            })
            .collect();
        for session in sessions {
            session.await.expect("a session");
        }
        let per_pause = start.elapsed() / 200;
        eprintln!(
            "100 sessions x 200 pauses of 1 ms: {:?}, {per_pause:?} per pause",
            start.elapsed()
        );
    }
}
