//! Which recordings go when a new one starts: those older than the age limit, then the oldest
//! until all of them fit the size limit. A recording whose session is still running (it has
//! a live activity file) is never removed, so two gangway processes cannot delete each
//! other's recording in progress.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::recordings::{EXTENSION, Retention, session_id_of};

/// A recording that may be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub modified: SystemTime,
    pub size: u64,
    /// Its session is running: kept whatever the limits say.
    pub live: bool,
}

/// The indexes of `files` to remove, oldest first.
pub fn plan(files: &[Candidate], now: SystemTime, keep: &Retention) -> Vec<usize> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| (files[i].modified, files[i].path.clone()));
    let mut remove = Vec::new();
    let mut total: u64 = files.iter().map(|f| f.size).sum();
    for &i in &order {
        let file = &files[i];
        if file.live {
            continue;
        }
        let too_old = keep
            .max_age
            .is_some_and(|age| now.duration_since(file.modified).is_ok_and(|d| d > age));
        let too_big = keep.max_total_bytes.is_some_and(|max| total > max);
        if too_old || too_big {
            remove.push(i);
            total -= file.size;
        }
    }
    remove
}

/// What a prune did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub deleted: usize,
    pub freed_bytes: u64,
}

/// Removes what [`plan`] says from `dir`. Only files named like recordings are considered;
/// what cannot be removed is logged and kept.
pub fn prune(dir: &Path, keep: &Retention, now: SystemTime, live: &HashSet<String>) -> Pruned {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Pruned::default();
    };
    let files: Vec<Candidate> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let id = session_id_of(&name)?.to_owned();
            let metadata = entry.metadata().ok().filter(|m| m.is_file())?;
            Some(Candidate {
                path: entry.path(),
                modified: metadata.modified().ok()?,
                size: metadata.len(),
                live: live.contains(&id),
            })
        })
        .filter(|c| c.path.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    let mut pruned = Pruned::default();
    for i in plan(&files, now, keep) {
        match std::fs::remove_file(&files[i].path) {
            Ok(()) => {
                pruned.deleted += 1;
                pruned.freed_bytes += files[i].size;
            }
            Err(error) => {
                tracing::warn!(path = %files[i].path.display(), %error, "cannot remove an old recording")
            }
        }
    }
    pruned
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    const DAY: u64 = 86_400;

    fn file(name: &str, age_days: u64, size: u64, live: bool) -> Candidate {
        Candidate {
            path: PathBuf::from(name),
            modified: now() - Duration::from_secs(age_days * DAY),
            size,
            live,
        }
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn keep(days: Option<u64>, bytes: Option<u64>) -> Retention {
        Retention {
            max_age: days.map(|d| Duration::from_secs(d * DAY)),
            max_total_bytes: bytes,
        }
    }

    fn names(files: &[Candidate], plan: Vec<usize>) -> Vec<&str> {
        plan.into_iter()
            .map(|i| files[i].path.to_str().unwrap())
            .collect()
    }

    #[test]
    fn old_recordings_go() {
        let files = [
            file("a", 40, 1, false),
            file("b", 10, 1, false),
            file("c", 31, 1, false),
        ];
        assert_eq!(
            names(&files, plan(&files, now(), &keep(Some(30), None))),
            ["a", "c"]
        );
        assert!(plan(&files, now(), &keep(None, None)).is_empty());
    }

    #[test]
    fn the_oldest_go_until_the_rest_fits() {
        let files = [
            file("new", 1, 400, false),
            file("old", 5, 300, false),
            file("mid", 3, 300, false),
        ];
        assert_eq!(
            names(&files, plan(&files, now(), &keep(None, Some(700)))),
            ["old"]
        );
        assert_eq!(
            names(&files, plan(&files, now(), &keep(None, Some(399)))),
            ["old", "mid", "new"]
        );
        assert!(plan(&files, now(), &keep(None, Some(1000))).is_empty());
    }

    #[test]
    fn a_live_session_is_never_removed() {
        let files = [file("live", 90, 5000, true), file("done", 1, 10, false)];
        assert_eq!(
            names(&files, plan(&files, now(), &keep(Some(30), Some(100)))),
            ["done"]
        );
    }

    #[test]
    fn prune_removes_only_recordings() {
        let dir = std::env::temp_dir().join(format!("gangway-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let old = dir.join("20200101T000000Z-dev-0123456789abcdef0.cast");
        let live = dir.join("20200101T000000Z-dev-1111111111111111a.cast");
        let other = dir.join("notes.txt");
        for path in [&old, &live, &other] {
            std::fs::write(path, "x").unwrap();
        }
        let later = SystemTime::now() + Duration::from_secs(60 * DAY);
        let live_ids = HashSet::from(["dev-1111111111111111a".to_owned()]);
        let pruned = prune(&dir, &keep(Some(30), None), later, &live_ids);
        assert_eq!(
            pruned,
            Pruned {
                deleted: 1,
                freed_bytes: 1
            }
        );
        assert!(!old.exists() && live.exists() && other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
