//! The per-process run directory, `$TMPDIR/gangway-emulator-<pid>` (the instances' home
//! directories live under it): removed when the last emulator of the process stops cleanly,
//! and, at every start, the directories of emulator processes that no longer exist (a
//! `kill -9`, a crash) are swept.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

const PREFIX: &str = "gangway-emulator-";

/// Emulators running in this process (tests start many): the directory is shared by them,
/// so only the last one to stop removes it.
static RUNNING: Mutex<usize> = Mutex::new(0);

/// This process's run directory.
pub fn path() -> PathBuf {
    std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id()))
}

/// Held by a running emulator; dropping it (on shutdown or drop) removes the directory if no
/// other emulator of this process still runs.
pub struct RunDirGuard(());

pub fn acquire() -> RunDirGuard {
    *RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
    RunDirGuard(())
}

impl Drop for RunDirGuard {
    fn drop(&mut self) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *running = running.saturating_sub(1);
        if *running == 0 {
            // Under the lock, so an emulator starting now creates it again after this.
            let _ = std::fs::remove_dir_all(path());
        }
    }
}

/// Removes the run directories in `temp_dir` of processes that no longer exist. A pid that
/// exists is left alone even if it was reused by another program (conservative); nothing is
/// removed where `/proc` cannot tell (not Linux), or in a PID namespace whose `/proc` does
/// not show the owner (another container sharing the temp directory).
pub fn sweep_stale(temp_dir: &Path) -> usize {
    if !Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return 0;
    };
    let own = std::process::id();
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(PREFIX))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if pid != own
            && is_dir
            && !Path::new(&format!("/proc/{pid}")).exists()
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_directories_of_gone_processes_are_swept() {
        let temp = std::env::temp_dir().join(format!("gangway-sweep-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&temp);
        // Above the kernel's pid_max (2^22): never a running process.
        let gone = temp.join(format!("{PREFIX}4194305"));
        let alive = temp.join(format!("{PREFIX}{}", std::process::id()));
        let other = temp.join("gangway-emulator-notapid");
        for dir in [&gone, &alive, &other] {
            std::fs::create_dir_all(dir.join("home")).unwrap();
        }
        assert_eq!(sweep_stale(&temp), 1);
        assert!(!gone.exists());
        assert!(alive.exists() && other.exists());
        std::fs::remove_dir_all(&temp).unwrap();
    }
}
