//! The recordings directory: its settings, how files are named (start time, then session id,
//! so that names sort by time and a session id finds its file), and the listing that
//! `gangway replay` shows and prints as JSON.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::asciicast::{self, CastReader};
use super::private::{state_dir, valid_file_stem};

/// Recordings end in this.
pub const EXTENSION: &str = "cast";

/// Whether sessions are recorded, where, and for how long they are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSettings {
    pub enabled: bool,
    pub dir: PathBuf,
    pub keep: Retention,
}

/// Which recordings are removed when a new one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Older than this (by last change): removed. `None`: kept whatever their age.
    pub max_age: Option<Duration>,
    /// The oldest are removed until all of them together take at most this. `None`: no limit.
    pub max_total_bytes: Option<u64>,
}

/// 30 days.
pub const DEFAULT_KEEP_DAYS: u64 = 30;
/// 1 GiB.
pub const DEFAULT_MAX_TOTAL_MB: u64 = 1024;

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(DEFAULT_KEEP_DAYS * 86_400)),
            max_total_bytes: Some(DEFAULT_MAX_TOTAL_MB << 20),
        }
    }
}

impl Default for RecordingSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: default_dir(),
            keep: Retention::default(),
        }
    }
}

/// `$XDG_STATE_HOME/gangway/recordings`.
pub fn default_dir() -> PathBuf {
    state_dir().join("recordings")
}

const STAMP: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// `20261207T122911Z-dev-0123456789abcdef0.cast`; `None` for a session id that cannot name a
/// file.
pub fn file_name(started: SystemTime, session_id: &str) -> Option<String> {
    if !valid_file_stem(session_id) {
        return None;
    }
    let stamp = time::OffsetDateTime::from(started).format(STAMP).ok()?;
    Some(format!("{stamp}-{session_id}.{EXTENSION}"))
}

/// The session id a file name carries.
pub fn session_id_of(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(&format!(".{EXTENSION}"))?;
    let (stamp, id) = stem.split_once('-')?;
    (stamp.len() == 16 && stamp.ends_with('Z') && valid_file_stem(id)).then_some(id)
}

/// One recording, as the listing shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordingInfo {
    pub session_id: String,
    pub target: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub duration_secs: f64,
    pub size_bytes: u64,
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
}

/// A path as text even when it is not UTF-8 (serde refuses those).
fn lossy_path<S: serde::Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

/// Every readable recording in `dir`, oldest first. A file that is not a recording is left
/// out (and logged); a missing directory is an empty list.
pub fn list(dir: &Path) -> std::io::Result<Vec<RecordingInfo>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != EXTENSION) {
            continue;
        }
        match describe(&path) {
            Ok(info) => found.push(info),
            Err(error) => tracing::warn!(path = %path.display(), %error, "not a recording"),
        }
    }
    found.sort_by(|a, b| (&a.start, &a.path).cmp(&(&b.start, &b.path)));
    Ok(found)
}

/// What the listing says of one file: its header, size, and the time of its last event.
pub fn describe(path: &Path) -> Result<RecordingInfo, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let (header, _) =
        CastReader::open(std::io::BufReader::new(&file)).map_err(|e| e.to_string())?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let tag = header.gangway.clone();
    let session_id = tag
        .as_ref()
        .map(|t| t.session_id.clone())
        .or_else(|| session_id_of(name).map(str::to_owned))
        .unwrap_or_default();
    let start = header
        .timestamp
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Ok(RecordingInfo {
        session_id,
        target: tag.map(|t| t.target).unwrap_or_default(),
        start,
        duration_secs: last_event_time(&file, size).unwrap_or(0.0),
        size_bytes: size,
        path: path.to_owned(),
    })
}

/// The time of the last complete event, read from the end of the file (a listing must not
/// read gigabytes). A file cut short mid-line (a crash) ends at its last whole event.
fn last_event_time(mut file: &std::fs::File, size: u64) -> Option<f64> {
    for window in [64u64 << 10, 2 * asciicast::MAX_LINE_BYTES as u64] {
        let from = size.saturating_sub(window);
        file.seek(SeekFrom::Start(from)).ok()?;
        let mut tail = Vec::new();
        file.take(window).read_to_end(&mut tail).ok()?;
        let text = String::from_utf8_lossy(&tail);
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        // The first line of the window may be cut; it is tried last and fails to parse.
        for (number, line) in complete.lines().rev().enumerate() {
            if let Ok(event) = asciicast::parse_event(line, number) {
                return Some(event.time);
            }
        }
        if from == 0 {
            return None;
        }
    }
    None
}

/// Why `replay` found nothing to play.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FindError {
    #[error("no recording of session {0} in {1}")]
    NoSuchSession(String, String),
    #[error("{0} is neither a recording file nor a session id")]
    NotFound(String),
}

/// A file path as given, or the recording of a session id in `dir` (the newest, if the id
/// was recorded twice).
pub fn find(dir: &Path, file_or_session: &str) -> Result<PathBuf, FindError> {
    let as_path = Path::new(file_or_session);
    if as_path.is_file() {
        return Ok(as_path.to_owned());
    }
    if !valid_file_stem(file_or_session) {
        return Err(FindError::NotFound(file_or_session.to_owned()));
    }
    let mut matches: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .and_then(session_id_of)
                == Some(file_or_session)
        })
        .collect();
    matches.sort();
    matches.pop().ok_or_else(|| {
        FindError::NoSuchSession(file_or_session.to_owned(), dir.display().to_string())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::local::asciicast::EventKind;

    #[test]
    fn names_sort_by_time_and_give_back_the_session() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let name = file_name(at, "dev-0123456789abcdef0").unwrap();
        assert_eq!(name, "20231114T221320Z-dev-0123456789abcdef0.cast");
        assert_eq!(session_id_of(&name), Some("dev-0123456789abcdef0"));
        assert_eq!(file_name(at, "../../etc/passwd"), None);
        assert_eq!(session_id_of("notes.cast"), None);
        assert_eq!(session_id_of("20231114T221320Z-x.txt"), None);
    }

    #[test]
    fn listing_and_finding() {
        let dir = std::env::temp_dir().join(format!("gangway-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let header = asciicast::Header {
            version: 2,
            width: 80,
            height: 24,
            timestamp: Some(1_700_000_000),
            duration: None,
            title: None,
            env: Default::default(),
            gangway: Some(asciicast::SessionTag {
                session_id: "dev-0123456789abcdef0".into(),
                target: "i-0\u{1b}[2J".into(),
            }),
        };
        let mut text = asciicast::encode_header(&header);
        text.push_str(&asciicast::encode_event(
            Duration::from_millis(250),
            &EventKind::Output,
            "a",
        ));
        text.push_str(&asciicast::encode_event(
            Duration::from_millis(3250),
            &EventKind::Output,
            "b",
        ));
        // Cut mid-line, as a crash leaves it.
        text.push_str("[4.0, \"o\", \"unfini");
        let path = dir.join("20231114T221320Z-dev-0123456789abcdef0.cast");
        std::fs::write(&path, &text).unwrap();
        std::fs::write(dir.join("junk.cast"), "not json\n").unwrap();
        std::fs::write(dir.join("other.txt"), "x").unwrap();
        let listed = list(&dir).unwrap();
        assert_eq!(listed.len(), 1);
        let info = &listed[0];
        assert_eq!(info.session_id, "dev-0123456789abcdef0");
        assert_eq!(info.start, "2023-11-14T22:13:20Z");
        assert_eq!(info.duration_secs, 3.25);
        assert_eq!(info.size_bytes, text.len() as u64);
        assert_eq!(find(&dir, "dev-0123456789abcdef0").unwrap(), path);
        assert_eq!(find(&dir, path.to_str().unwrap()).unwrap(), path);
        assert!(matches!(
            find(&dir, "dev-ffffffffffffffff0"),
            Err(FindError::NoSuchSession(..))
        ));
        assert!(matches!(find(&dir, "../x"), Err(FindError::NotFound(_))));
        assert_eq!(list(&dir.join("missing")).unwrap(), []);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
