//! Each session's agent runs on a thread of its own, with a single-threaded tokio runtime:
//! the session task, its process's reader/control/waiter tasks, its socket writer and its
//! port plugin all live there.
//!
//! Why: on AWS every session runs on its own instance, so one instance's bulk output never
//! delays another's keystroke echo. In one emulator process, 200 sessions streaming at the
//! agent's pace want more CPU than a small machine has; on one shared runtime every task then
//! waits behind a run queue of several hundred others, several times per keystroke (input
//! frame, PTY write, PTY read, output frame), and the p99 echo of an idle shell reached
//! 0.4-1.3 s (docs/PERFORMANCE.md, "Load"). As threads, the sessions are scheduled by the
//! kernel, which favours a thread that mostly sleeps (an interactive shell) over one that
//! keeps using its share (a bulk stream), so a quiet session's hops each wait about a
//! scheduler slice, not a round of every session's work. The HTTP API and the sockets' first
//! frames stay on the main runtime, which is then seldom busy.
//!
//! The session's websocket was accepted on the main runtime; once its token is checked it
//! moves here (`link.rs`, PendingSocket) and is registered with this thread's own I/O
//! driver, so an input frame or an ack wakes the session's thread directly, without a main
//! runtime worker in between. A session thread ends
//! with its session, or when the runtime that started it shuts down (an in-process emulator
//! dropped at a test's end), as a task on that runtime would.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::oneshot;

/// How long a session's thread keeps running the tasks its session left when it ended.
const LEFTOVER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

type SessionFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `session` on a new thread with its own runtime; if the thread or runtime cannot be
/// had (thread or descriptor limits), on the calling runtime instead, as before.
pub fn spawn(session: impl Future<Output = ()> + Send + 'static) {
    let session: SessionFuture = Box::pin(session);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::warn!(%err, "no runtime for a session thread; the session shares the main one");
            tokio::spawn(session);
            return;
        }
    };
    // Dropped when the session thread is done with the session, or by the calling runtime's
    // shutdown (the task holding `alive` is dropped then): either ends the session thread.
    let (mut alive, parent_gone) = oneshot::channel::<()>();
    let (hand_over, take_over) = std::sync::mpsc::sync_channel::<SessionFuture>(1);
    let spawned = std::thread::Builder::new()
        .name("gangway-session".into())
        .spawn(move || {
            let Ok(session) = take_over.recv() else {
                return;
            };
            runtime.block_on(async move {
                tokio::select! {
                    () = session => {}
                    _ = parent_gone => return,
                }
                // What the session leaves behind finishes here: the waiter reaping the killed
                // process, a writer flushing. Bounded: they are not waited for beyond this.
                let metrics = tokio::runtime::Handle::current().metrics();
                let give_up = tokio::time::Instant::now() + LEFTOVER_WAIT;
                while metrics.num_alive_tasks() > 0 && tokio::time::Instant::now() < give_up {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            });
            runtime.shutdown_background();
        });
    match spawned {
        Ok(_) => {
            tokio::spawn(async move { alive.closed().await });
            // The thread waits for it; it cannot have gone.
            let _ = hand_over.send(session);
        }
        Err(err) => {
            tracing::warn!(%err, "no thread for a session; it shares the main runtime");
            tokio::spawn(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_session_runs_on_a_thread_of_its_own() {
        let caller = std::thread::current().id();
        let (ran_on, on) = oneshot::channel();
        spawn(async move {
            // Its own runtime: spawning and sleeping work there.
            let inner = tokio::spawn(async { std::thread::current().id() });
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = ran_on.send((
                std::thread::current().id(),
                inner.await.expect("the inner task"),
            ));
        });
        let (thread, inner) = tokio::time::timeout(Duration::from_secs(30), on)
            .await
            .expect("the session ran")
            .expect("the session sent its threads");
        assert_ne!(thread, caller);
        assert_eq!(inner, thread);
    }

    #[test]
    fn a_session_ends_when_the_runtime_that_started_it_shuts_down() {
        let (dropped_tx, dropped) = std::sync::mpsc::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            spawn(async move {
                // Dropped (and so the sender with it) only when the session future is.
                let _guard = dropped_tx;
                std::future::pending::<()>().await;
            });
        });
        drop(runtime);
        assert_eq!(
            dropped.recv_timeout(Duration::from_secs(30)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected),
            "the session future was dropped"
        );
    }
}
