//! Which sessions run on this machine and when each last saw activity, for any gangway process
//! to show: one small JSON file per live session in `$XDG_STATE_HOME/gangway/sessions/`,
//! written by the process that runs it, replaced atomically (a temporary file renamed over
//! it) at most once per second, and removed when the session ends. A file whose process is
//! gone (a crash, `kill -9`) is removed by the next reader.
//!
//! Activity is counted as the service counts it for the idle timeout: stream data in either
//! direction, the user's input and the remote output (protocol.md §7.3), not pings,
//! acknowledgements or resizes; the session's start counts as activity, as it starts the
//! service's idle timer. Times are Unix milliseconds.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::private::{create_private_file, private_dir, state_dir, valid_file_stem};

/// How often a file is rewritten at most.
pub const WRITE_EVERY: Duration = Duration::from_secs(1);

/// A state file larger than this is not one of ours, and is not read.
const MAX_FILE_BYTES: u64 = 16 << 10;

/// `$XDG_STATE_HOME/gangway/sessions`.
pub fn default_dir() -> PathBuf {
    state_dir().join("sessions")
}

/// One session's file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActivityEntry {
    pub session_id: String,
    /// The StartSession target (an instance id).
    pub target: String,
    /// Who opened it, as the session id names the caller (`<caller>-<17 hex>`, §1.1).
    pub user: String,
    /// The gangway process running it.
    pub pid: u32,
    pub started_unix_ms: u64,
    pub last_activity_unix_ms: u64,
}

impl ActivityEntry {
    pub fn last_activity(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.last_activity_unix_ms)
    }

    pub fn started(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.started_unix_ms)
    }
}

pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The caller name in a session id, `dev` in `dev-0123456789abcdef0`.
pub fn user_of(session_id: &str) -> &str {
    session_id
        .rsplit_once('-')
        .map_or(session_id, |(user, _)| user)
}

/// The last activity of one session, touched from any thread (the stdin reader, the pump)
/// without a lock.
#[derive(Debug, Default)]
pub struct ActivityClock(AtomicU64);

impl ActivityClock {
    pub fn touch(&self) {
        self.0
            .fetch_max(unix_ms(SystemTime::now()), Ordering::Relaxed);
    }

    pub fn last_unix_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// This process's file for one session; removed on drop.
pub struct ActivityFile {
    path: PathBuf,
    entry: ActivityEntry,
    clock: Arc<ActivityClock>,
    written_at: Instant,
}

impl ActivityFile {
    /// Writes the first version of the file, its activity the start.
    pub fn create(dir: &Path, mut entry: ActivityEntry) -> std::io::Result<Self> {
        if !valid_file_stem(&entry.session_id) {
            return Err(std::io::Error::other("the session id cannot name a file"));
        }
        private_dir(dir)?;
        let clock = Arc::new(ActivityClock(AtomicU64::new(entry.last_activity_unix_ms)));
        entry.last_activity_unix_ms = clock.last_unix_ms();
        let path = dir.join(format!("{}.json", entry.session_id));
        write_atomically(&path, &entry)?;
        Ok(Self {
            path,
            entry,
            clock,
            written_at: Instant::now(),
        })
    }

    pub fn clock(&self) -> Arc<ActivityClock> {
        Arc::clone(&self.clock)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrites the file if the activity changed and the last write is [`WRITE_EVERY`] old.
    pub fn flush(&mut self, now: Instant) -> std::io::Result<()> {
        let last = self.clock.last_unix_ms();
        if last == self.entry.last_activity_unix_ms
            || now.duration_since(self.written_at) < WRITE_EVERY
        {
            return Ok(());
        }
        self.entry.last_activity_unix_ms = last;
        self.written_at = now;
        write_atomically(&self.path, &self.entry)
    }
}

impl Drop for ActivityFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "cannot remove the activity file");
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// A reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, entry: &ActivityEntry) -> std::io::Result<()> {
    let temp = temp_path(path);
    let _ = std::fs::remove_file(&temp);
    let mut file = create_private_file(&temp)?;
    let written = serde_json::to_vec_pretty(entry)
        .map_err(std::io::Error::other)
        .and_then(|json| file.write_all(&json));
    if let Err(error) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    Ok(())
}

/// Whether a process with this id runs (signal 0 checks without sending; EPERM means it runs
/// as someone else).
fn process_runs(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// Every live session's entry in `dir`, by session id. Files of processes that are gone
/// (and their leftover temporary files) are removed; unreadable files are skipped.
pub fn read_all(dir: &Path) -> Vec<ActivityEntry> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for dir_entry in entries.flatten() {
        let path = dir_entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = name.strip_suffix(".tmp") {
            // `<sid>.json.<pid>.tmp`, left by a writer that died between write and rename.
            let writer = stem.rsplit_once('.').and_then(|(_, pid)| pid.parse().ok());
            if writer.is_some_and(|pid| !process_runs(pid)) {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        if !name.ends_with(".json") {
            continue;
        }
        let Some(entry) = read_entry(&path) else {
            continue;
        };
        if !process_runs(entry.pid) {
            tracing::info!(session = %entry.session_id, pid = entry.pid, "removing a stale activity file");
            let _ = std::fs::remove_file(&path);
            continue;
        }
        found.push(entry);
    }
    found.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    found
}

fn read_entry(path: &Path) -> Option<ActivityEntry> {
    let file = std::fs::File::open(path).ok()?;
    let mut text = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut text).ok()?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return None;
    }
    let entry: ActivityEntry = serde_json::from_slice(&text).ok()?;
    // The name is the id: a file renamed by hand, or a hostile id, is not believed.
    let name_matches = path.file_stem().and_then(|s| s.to_str()) == Some(&entry.session_id);
    name_matches.then_some(entry)
}

/// The ids of the sessions running on this machine now.
pub fn live_session_ids() -> HashSet<String> {
    live_session_ids_in(Some(&default_dir()))
}

/// The ids of the live sessions with a file in `dir` (none without one).
pub fn live_session_ids_in(dir: Option<&Path>) -> HashSet<String> {
    dir.map(read_all)
        .unwrap_or_default()
        .into_iter()
        .map(|entry| entry.session_id)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(id: &str, pid: u32) -> ActivityEntry {
        ActivityEntry {
            session_id: id.into(),
            target: "i-0123456789abcdef0".into(),
            user: user_of(id).into(),
            pid,
            started_unix_ms: 1_000,
            last_activity_unix_ms: 1_000,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gangway-act-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// A pid that is surely not running: a child that has been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn a_file_lives_as_long_as_its_session() {
        let dir = temp_dir("life");
        let mut file =
            ActivityFile::create(&dir, entry("dev-0123456789abcdef0", std::process::id())).unwrap();
        let path = file.path().to_owned();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            read_all(&dir),
            [entry("dev-0123456789abcdef0", std::process::id())]
        );

        // Touched, but written at most once per second.
        let clock = file.clock();
        clock.touch();
        let start = Instant::now();
        file.flush(start).unwrap();
        assert_eq!(read_all(&dir)[0].last_activity_unix_ms, 1_000, "too soon");
        file.flush(start + WRITE_EVERY).unwrap();
        let read = read_all(&dir);
        assert_eq!(read[0].last_activity_unix_ms, clock.last_unix_ms());
        assert!(read[0].last_activity() > read[0].started());
        drop(file);
        assert!(!path.exists());
        assert!(read_all(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_files_of_dead_processes_are_cleaned_on_read() {
        let dir = temp_dir("stale");
        private_dir(&dir).unwrap();
        let dead = dead_pid();
        write_atomically(
            &dir.join("dev-00000000000000000.json"),
            &entry("dev-00000000000000000", dead),
        )
        .unwrap();
        let leftover = dir.join(format!("dev-1.json.{dead}.tmp"));
        std::fs::write(&leftover, "{").unwrap();
        std::fs::write(dir.join("garbage.json"), "not json").unwrap();
        // A file whose name is not its id is not believed.
        write_atomically(
            &dir.join("other.json"),
            &entry("dev-22222222222222222", std::process::id()),
        )
        .unwrap();
        assert!(read_all(&dir).is_empty());
        assert!(!dir.join("dev-00000000000000000.json").exists());
        assert!(!leftover.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn users_come_from_session_ids() {
        assert_eq!(user_of("dev-0123456789abcdef0"), "dev");
        assert_eq!(user_of("a-b-0123456789abcdef0"), "a-b");
        assert_eq!(user_of("plain"), "plain");
    }

    #[test]
    fn bad_ids_name_no_file() {
        let dir = temp_dir("bad");
        assert!(ActivityFile::create(&dir, entry("../x", 1)).is_err());
    }
}
