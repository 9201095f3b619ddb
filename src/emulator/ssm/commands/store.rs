//! Every command SendCommand made, newest last, with its invocations; the one place their
//! statuses change. The API reads it under the lock through closures (a page of a
//! thousand-instance command is rendered without copying the rest), the runners write it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::sync::watch;

use super::model::{CommandRecord, Detail, Invocation, MAX_COMMANDS_KEPT};

struct Entry {
    record: CommandRecord,
    /// Instances whose cancellation was asked for while they ran.
    cancel_requested: Vec<String>,
    /// Bumped on every CancelCommand, so the command's runner looks again.
    cancel: watch::Sender<u64>,
}

#[derive(Default)]
pub struct CommandStore {
    commands: Mutex<VecDeque<Entry>>,
}

/// How an invocation ended, as its runner saw it.
#[derive(Debug)]
pub struct Ending {
    pub detail: Detail,
    pub response_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelError {
    UnknownCommand,
    UnknownInstance(String),
}

impl CommandStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.commands.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a command; returns the receiver its runner watches for cancellations. The
    /// oldest finished commands go once more than [`MAX_COMMANDS_KEPT`] are held.
    pub fn insert(&self, record: CommandRecord) -> watch::Receiver<u64> {
        let (cancel, watcher) = watch::channel(0);
        let mut commands = self.lock();
        commands.push_back(Entry {
            record,
            cancel_requested: Vec::new(),
            cancel,
        });
        while commands.len() > MAX_COMMANDS_KEPT {
            match commands.iter().position(|e| e.record.is_finished()) {
                Some(oldest) => {
                    commands.remove(oldest);
                }
                None => break,
            }
        }
        watcher
    }

    /// `read` applied to one command, if it exists.
    pub fn with<R>(&self, id: &str, read: impl FnOnce(&CommandRecord) -> R) -> Option<R> {
        let commands = self.lock();
        commands
            .iter()
            .find(|e| e.record.id == id)
            .map(|e| read(&e.record))
    }

    /// `read` applied to every command, newest first.
    pub fn with_all<R>(
        &self,
        read: impl FnOnce(&mut dyn Iterator<Item = &CommandRecord>) -> R,
    ) -> R {
        let commands = self.lock();
        let mut newest_first = commands.iter().rev().map(|e| &e.record);
        read(&mut newest_first)
    }

    fn invocation_mut<'a>(
        commands: &'a mut VecDeque<Entry>,
        id: &str,
        instance: &str,
    ) -> Option<&'a mut Invocation> {
        commands
            .iter_mut()
            .find(|e| e.record.id == id)?
            .record
            .invocations
            .iter_mut()
            .find(|i| i.instance_id == instance)
    }

    /// Pending → InProgress, unless it was cancelled or ended meanwhile (then `false`).
    pub fn try_start(&self, id: &str, instance: &str) -> bool {
        let mut commands = self.lock();
        match Self::invocation_mut(&mut commands, id, instance) {
            Some(invocation) if invocation.detail == Detail::Pending => {
                invocation.detail = Detail::InProgress;
                invocation.started = Some(SystemTime::now());
                true
            }
            _ => false,
        }
    }

    pub fn finish(&self, id: &str, instance: &str, ending: Ending) {
        let mut commands = self.lock();
        if let Some(invocation) = Self::invocation_mut(&mut commands, id, instance) {
            invocation.detail = ending.detail;
            invocation.response_code = ending.response_code;
            invocation.ended = Some(SystemTime::now());
            invocation.stdout = ending.stdout;
            invocation.stderr = ending.stderr;
            invocation.stdout_truncated = ending.stdout_truncated;
            invocation.stderr_truncated = ending.stderr_truncated;
        }
    }

    /// Ends every invocation still Pending with `detail`; how many there were.
    pub fn finish_pending(&self, id: &str, detail: Detail) -> usize {
        let mut commands = self.lock();
        let Some(entry) = commands.iter_mut().find(|e| e.record.id == id) else {
            return 0;
        };
        let now = SystemTime::now();
        let mut ended = 0;
        for invocation in &mut entry.record.invocations {
            if invocation.detail == Detail::Pending {
                invocation.detail = detail;
                invocation.ended = Some(now);
                ended += 1;
            }
        }
        ended
    }

    pub fn has_pending(&self, id: &str) -> bool {
        self.with(id, |record| {
            record
                .invocations
                .iter()
                .any(|i| i.detail == Detail::Pending)
        })
        .unwrap_or(false)
    }

    /// Errors so far are past the command's MaxErrors: start nothing more.
    pub fn over_error_limit(&self, id: &str) -> bool {
        self.with(id, |record| {
            record
                .invocations
                .iter()
                .filter(|i| i.detail.is_error())
                .count()
                > record.error_limit
        })
        .unwrap_or(true)
    }

    pub fn cancel_requested(&self, id: &str, instance: &str) -> bool {
        let commands = self.lock();
        commands
            .iter()
            .find(|e| e.record.id == id)
            .is_some_and(|e| e.cancel_requested.iter().any(|i| i == instance))
    }

    /// CancelCommand: Pending invocations end Cancelled at once, running ones go to
    /// Cancelling and their runner kills the process. `instances` empty means all.
    pub fn request_cancel(&self, id: &str, instances: &[String]) -> Result<(), CancelError> {
        let mut commands = self.lock();
        let entry = commands
            .iter_mut()
            .find(|e| e.record.id == id)
            .ok_or(CancelError::UnknownCommand)?;
        if let Some(unknown) = instances
            .iter()
            .find(|wanted| entry.record.invocation(wanted).is_none())
        {
            return Err(CancelError::UnknownInstance(unknown.clone()));
        }
        if instances.is_empty() {
            entry.record.cancelled = true;
        }
        let now = SystemTime::now();
        for invocation in &mut entry.record.invocations {
            if !instances.is_empty() && !instances.contains(&invocation.instance_id) {
                continue;
            }
            match invocation.detail {
                Detail::Pending => {
                    invocation.detail = Detail::Cancelled;
                    invocation.ended = Some(now);
                }
                Detail::InProgress => {
                    invocation.detail = Detail::Cancelling;
                    entry.cancel_requested.push(invocation.instance_id.clone());
                }
                _ => {}
            }
        }
        entry.cancel.send_modify(|generation| *generation += 1);
        Ok(())
    }

    /// The emulator stops: every command still running is cancelled.
    pub fn cancel_all(&self) {
        let ids: Vec<String> = self
            .lock()
            .iter()
            .filter(|e| !e.record.is_finished())
            .map(|e| e.record.id.clone())
            .collect();
        for id in ids {
            let _ = self.request_cancel(&id, &[]);
        }
    }
}
