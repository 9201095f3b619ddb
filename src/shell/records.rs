//! What a session leaves on this machine while it runs: its recording (TTY mode only: a
//! session on pipes has no terminal output to replay, and may carry binary data) and its
//! activity file (every mode). Neither may ever stop the shell: a directory that cannot be
//! written, or a disk that fills up, turns the recording off with one notice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::local::activity::{self, ActivityClock, ActivityEntry, ActivityFile};
use crate::local::{Recorder, RecordingMeta, RecordingSettings};

/// Where a session's recording and activity file go; the config file's `[recording]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecords {
    pub recording: RecordingSettings,
    /// The activity files' directory; `None` writes none.
    pub activity_dir: Option<PathBuf>,
}

impl Default for SessionRecords {
    fn default() -> Self {
        Self {
            recording: RecordingSettings::default(),
            activity_dir: Some(activity::default_dir()),
        }
    }
}

/// The recorder and the activity file of the running session.
pub(super) struct LiveRecords {
    recorder: Option<Recorder>,
    activity: Option<ActivityFile>,
    clock: Arc<ActivityClock>,
    /// What the user must hear once: why the session is not (or no longer) recorded.
    notice: Option<String>,
    size: Option<(u16, u16)>,
    activity_warned: bool,
}

impl LiveRecords {
    /// Creates the activity file and, with `record` and recording on, the recording. Blocking
    /// file work runs off the async workers.
    pub(super) async fn start(
        records: &SessionRecords,
        session_id: &str,
        target: &str,
        record: Option<(u16, u16)>,
    ) -> Self {
        let records = records.clone();
        let session_id = session_id.to_owned();
        let target = target.to_owned();
        let started = tokio::task::spawn_blocking(move || {
            Self::start_blocking(&records, &session_id, &target, record)
        })
        .await;
        started.unwrap_or_else(|error| {
            tracing::warn!(%error, "starting the session records failed");
            Self::none()
        })
    }

    pub(super) fn none() -> Self {
        Self {
            recorder: None,
            activity: None,
            clock: Arc::new(ActivityClock::default()),
            notice: None,
            size: None,
            activity_warned: false,
        }
    }

    fn start_blocking(
        records: &SessionRecords,
        session_id: &str,
        target: &str,
        record: Option<(u16, u16)>,
    ) -> Self {
        let mut live = Self::none();
        let now = SystemTime::now();
        if let Some(dir) = &records.activity_dir {
            let entry = ActivityEntry {
                session_id: session_id.to_owned(),
                target: target.to_owned(),
                user: activity::user_of(session_id).to_owned(),
                pid: std::process::id(),
                pid_start: activity::process_start(std::process::id()),
                started_unix_ms: activity::unix_ms(now),
                last_activity_unix_ms: activity::unix_ms(now),
            };
            match ActivityFile::create(dir, entry) {
                Ok(file) => {
                    live.clock = file.clock();
                    live.activity = Some(file);
                }
                Err(error) => {
                    tracing::warn!(%error, dir = %dir.display(), "no activity file for this session")
                }
            }
        }
        if let Some(size) = record
            && records.recording.enabled
        {
            let meta = RecordingMeta {
                session_id: session_id.to_owned(),
                target: target.to_owned(),
                size,
                started: now,
                env: ["TERM", "SHELL"]
                    .into_iter()
                    .map(|name| (name.to_owned(), std::env::var(name).ok()))
                    .filter(|(_, value)| value.is_some())
                    .collect(),
            };
            let live_ids = activity::live_session_ids_in(records.activity_dir.as_deref());
            match Recorder::start(&records.recording, &meta, &live_ids) {
                Ok(recorder) => {
                    tracing::info!(path = %recorder.path().display(), "recording the session");
                    live.recorder = Some(recorder);
                    live.size = Some(size);
                }
                Err(why) => {
                    tracing::warn!(%why, "the session is not recorded");
                    live.notice = Some(format!("recording off: {why}"));
                }
            }
        }
        live
    }

    /// For the stdin reader, which touches it on every input sent.
    pub(super) fn clock(&self) -> Arc<ActivityClock> {
        Arc::clone(&self.clock)
    }

    pub(super) fn has_activity_file(&self) -> bool {
        self.activity.is_some()
    }

    /// Remote output (stdout or stderr), as the terminal gets it.
    pub(super) fn output(&mut self, bytes: &[u8]) {
        self.clock.touch();
        if let Some(recorder) = &mut self.recorder {
            recorder.output(bytes);
            if let Some(why) = recorder.failure() {
                self.notice = Some(format!("recording stopped: {why}"));
                self.recorder = None;
            }
        }
    }

    /// The terminal's size, sent to the session: recorded when it changed.
    pub(super) fn resize(&mut self, cols: u16, rows: u16) {
        if self.size == Some((cols, rows)) {
            return;
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.resize(cols, rows);
            self.size = Some((cols, rows));
        }
    }

    /// Whether the output is being recorded now.
    pub(super) fn recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// The once-a-second rewrite of the activity file, if the activity changed.
    pub(super) fn tick(&mut self) {
        let Some(file) = &mut self.activity else {
            return;
        };
        if let Err(error) = file.flush(Instant::now())
            && !self.activity_warned
        {
            self.activity_warned = true;
            tracing::warn!(%error, "cannot update the activity file");
        }
    }

    /// Why the session is not recorded, once.
    pub(super) fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    /// Finishes the recording and removes the activity file, off the async workers.
    pub(super) async fn finish(self) {
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
    }
}

impl Drop for LiveRecords {
    fn drop(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            recorder.finish();
        }
    }
}
