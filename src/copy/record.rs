//! The progress record of a download: a small JSON file beside the part file, saying which
//! ranges of which remote file (size and modification time as the instance reported them)
//! are already written and verified. A rerun that finds a record for the same file continues
//! from it; any difference (another file, another size or time, another range size, an
//! unreadable record) starts over.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Suffix of the part file beside the destination (`app.log` → `app.log.gangway-part`).
pub const PART_SUFFIX: &str = ".gangway-part";
/// Suffix of the record beside the part file.
pub const RECORD_SUFFIX: &str = ".gangway-part.progress";

/// A record larger than this is not one gangway wrote.
const MAX_RECORD_BYTES: u64 = 4 * 1024 * 1024;

const VERSION: u32 = 1;

/// Which remote file a part file holds pieces of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub target: String,
    /// The remote path, base64 (it need not be UTF-8).
    pub path: String,
    pub size: u64,
    pub mtime: i64,
    pub range_bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    source: Source,
    /// Finished ranges as `[first, end)` runs of range indexes.
    done: Vec<(u64, u64)>,
}

/// The part file and record paths for a destination.
pub fn part_path(destination: &Path) -> PathBuf {
    with_suffix(destination, PART_SUFFIX)
}

pub fn record_path(destination: &Path) -> PathBuf {
    with_suffix(destination, RECORD_SUFFIX)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The ranges already done for `source`, if the record at `path` is about that very file.
pub fn load(path: &Path, source: &Source) -> BTreeSet<u64> {
    let read = || -> Option<BTreeSet<u64>> {
        if std::fs::metadata(path).ok()?.len() > MAX_RECORD_BYTES {
            return None;
        }
        let on_disk: OnDisk = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        if on_disk.version != VERSION || on_disk.source != *source {
            return None;
        }
        let ranges = source.size.div_ceil(source.range_bytes.max(1));
        let mut done = BTreeSet::new();
        for (first, end) in on_disk.done {
            if first >= end || end > ranges {
                return None;
            }
            done.extend(first..end);
        }
        Some(done)
    };
    read().unwrap_or_default()
}

/// Writes the record atomically (a temporary file renamed over it), so a kill at any moment
/// leaves either the old record or the new one.
pub fn save(path: &Path, source: &Source, done: &BTreeSet<u64>) -> std::io::Result<()> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &index in done {
        match runs.last_mut() {
            Some((_, end)) if *end == index => *end += 1,
            _ => runs.push((index, index + 1)),
        }
    }
    let on_disk = OnDisk {
        version: VERSION,
        source: source.clone(),
        done: runs,
    };
    let bytes = serde_json::to_vec(&on_disk).map_err(std::io::Error::other)?;
    let temporary = with_suffix(path, ".tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            target: "i-0123456789abcdef0".into(),
            path: "L3Zhci9sb2c=".into(),
            size: 10 * 1024 * 1024 + 1,
            mtime: 1_700_000_000,
            range_bytes: 1024 * 1024,
        }
    }

    #[test]
    fn a_record_round_trips_only_for_the_same_file() {
        let dir = std::env::temp_dir().join(format!("gangway-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = record_path(&dir.join("app.log"));
        assert!(
            path.to_string_lossy()
                .ends_with("app.log.gangway-part.progress")
        );
        let done: BTreeSet<u64> = [0, 1, 2, 5, 10].into_iter().collect();
        save(&path, &source(), &done).unwrap();
        assert_eq!(load(&path, &source()), done);
        let changed = Source {
            mtime: 1_700_000_001,
            ..source()
        };
        assert!(
            load(&path, &changed).is_empty(),
            "another version of the file"
        );
        std::fs::write(&path, b"{not json").unwrap();
        assert!(load(&path, &source()).is_empty());
        let beyond = format!(
            r#"{{"version":1,"source":{},"done":[[0,12]]}}"#,
            serde_json::to_string(&source()).unwrap()
        );
        std::fs::write(&path, beyond).unwrap();
        assert!(load(&path, &source()).is_empty(), "ranges past the end");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
