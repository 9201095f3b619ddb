//! Which sessions have a running agent task, so a reconnecting client's socket reaches the
//! task that owns the session (resume, protocol.md §7.2) instead of starting a new shell.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use super::link::PendingSocket;

/// Sockets waiting for a task beyond this are refused (a client reconnecting in a loop).
const PENDING_SOCKETS: usize = 4;

#[derive(Default)]
pub struct AgentDirectory {
    tasks: Mutex<HashMap<String, mpsc::Sender<PendingSocket>>>,
    /// Woken whenever the last task ends (shutdown waits for it).
    emptied: Notify,
}

impl AgentDirectory {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<PendingSocket>>> {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands `socket` to the session's task, or, when none runs, calls `spawn` with the
    /// receiving end and the socket. Atomic, so two sockets racing for a new session never
    /// start two shells. Returns false when the socket was refused.
    pub fn deliver_or_spawn(
        &self,
        session_id: &str,
        socket: PendingSocket,
        spawn: impl FnOnce(mpsc::Receiver<PendingSocket>, PendingSocket),
    ) -> bool {
        let mut tasks = self.lock();
        if let Some(task) = tasks.get(session_id) {
            return task.try_send(socket).is_ok();
        }
        let (sender, receiver) = mpsc::channel(PENDING_SOCKETS);
        tasks.insert(session_id.to_string(), sender);
        drop(tasks);
        spawn(receiver, socket);
        true
    }

    /// Called by a task as it ends.
    pub fn remove(&self, session_id: &str) {
        let mut tasks = self.lock();
        tasks.remove(session_id);
        if tasks.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    /// Returns once no agent task runs.
    pub async fn until_empty(&self) {
        loop {
            // Created before the check: notify_waiters reaches it even before it is polled.
            let emptied = self.emptied.notified();
            if self.running() == 0 {
                return;
            }
            emptied.await;
        }
    }

    /// Number of running agent tasks.
    pub fn running(&self) -> usize {
        self.lock().len()
    }
}
