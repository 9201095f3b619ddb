//! Writing one recording while the session runs. The pump hands output over without ever
//! waiting for the disk: events go to a bounded queue ([`MAX_QUEUED_BYTES`]) that a thread of
//! the recorder's own writes out. A disk too slow for the output costs recorded bytes (a
//! marker event says how many), a failed write (full disk, removed directory) stops the
//! recording, and neither ever stops the shell: the pump learns of a failure once, through
//! [`Recorder::failure`].

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

#[cfg(doc)]
use super::activity;
use super::asciicast::{self, EventKind, Header, SessionTag, Utf8Stream};
use super::recordings::{self, RecordingSettings};
use super::{private, retention};

/// Output waiting for the writer thread, at most. A shell printing faster than the disk
/// takes it loses output from the recording beyond this, never from the screen.
pub const MAX_QUEUED_BYTES: usize = 8 << 20;

/// Output bytes per `o` event at most; larger batches are split (readers bound their lines).
pub const MAX_EVENT_BYTES: usize = 64 << 10;

/// How long the end of a session waits for the writer to drain its queue. A disk that hangs
/// longer (a dead network mount) keeps the tail of the recording, not the user.
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// The session a recording is started for.
#[derive(Debug, Clone)]
pub struct RecordingMeta {
    pub session_id: String,
    /// The StartSession target (an instance id).
    pub target: String,
    /// Columns and rows at the start.
    pub size: (u16, u16),
    pub started: SystemTime,
    /// `TERM` and `SHELL` of this process, as asciinema records them.
    pub env: Vec<(String, Option<String>)>,
}

impl RecordingMeta {
    fn header(&self) -> Header {
        let timestamp = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok());
        Header {
            version: asciicast::VERSION,
            width: u32::from(self.size.0),
            height: u32::from(self.size.1),
            timestamp,
            duration: None,
            title: Some(format!("{} ({})", self.target, self.session_id)),
            env: self.env.iter().cloned().collect(),
            gangway: Some(SessionTag {
                session_id: self.session_id.clone(),
                target: self.target.clone(),
            }),
        }
    }
}

enum Item {
    Output { at: Duration, bytes: Vec<u8> },
    Resize { at: Duration, cols: u16, rows: u16 },
}

#[derive(Default)]
struct Pending {
    items: Vec<Item>,
    bytes: usize,
    /// Output bytes refused since the last marker, because the queue was full.
    dropped: u64,
    closed: bool,
    /// Why the writer stopped; nothing is queued once it is set.
    failure: Option<String>,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A recording in progress; the file is complete once [`Recorder::finish`] returns (or the
/// recorder is dropped).
pub struct Recorder {
    start: Instant,
    shared: Arc<Shared>,
    done: Option<mpsc::Receiver<()>>,
    path: PathBuf,
    failure_reported: bool,
}

impl Recorder {
    /// Prunes old recordings (`settings.keep`), then creates this session's file (0600, in a
    /// 0700 directory) and writes its header. The error is one line saying why the session is
    /// not recorded. `live` are the sessions running on this machine
    /// ([`super::activity::live_session_ids`]), whose recordings are never pruned.
    pub fn start(
        settings: &RecordingSettings,
        meta: &RecordingMeta,
        live: &HashSet<String>,
    ) -> Result<Self, String> {
        let dir = &settings.dir;
        private::private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pruned = retention::prune(dir, &settings.keep, SystemTime::now(), live);
        if pruned.deleted > 0 {
            tracing::info!(
                deleted = pruned.deleted,
                freed = pruned.freed_bytes,
                "old recordings removed"
            );
        }
        let name = recordings::file_name(meta.started, &meta.session_id)
            .ok_or_else(|| "the session id cannot name a file".to_owned())?;
        let path = dir.join(name);
        let file =
            private::create_private_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::with_writer(Box::new(file), &meta.header(), path)
    }

    /// The recorder over any writer (a test gives it `/dev/full`).
    fn with_writer(
        writer: Box<dyn Write + Send>,
        header: &Header,
        path: PathBuf,
    ) -> Result<Self, String> {
        let mut writer = BufWriter::with_capacity(64 << 10, writer);
        writer
            .write_all(asciicast::encode_header(header).as_bytes())
            .and_then(|()| writer.flush())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let shared = Arc::new(Shared::default());
        let (done_tx, done) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("gangway-recorder".into())
            .spawn(move || {
                write_loop(&thread_shared, &mut writer);
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("cannot start the recording thread: {e}"))?;
        Ok(Self {
            start: Instant::now(),
            shared,
            done: Some(done),
            path,
            failure_reported: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Output as the terminal got it. Never blocks on the disk.
    pub fn output(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let at = self.start.elapsed();
        let mut pending = self.shared.lock();
        if pending.failure.is_some() || pending.closed {
            return;
        }
        if pending.bytes + bytes.len() > MAX_QUEUED_BYTES {
            pending.dropped += bytes.len() as u64;
            return;
        }
        pending.bytes += bytes.len();
        pending.items.push(Item::Output {
            at,
            bytes: bytes.to_vec(),
        });
        self.shared.wake.notify_one();
    }

    /// The terminal's new size.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let at = self.start.elapsed();
        let mut pending = self.shared.lock();
        if pending.failure.is_some() || pending.closed {
            return;
        }
        pending.items.push(Item::Resize { at, cols, rows });
        self.shared.wake.notify_one();
    }

    /// Why the recording stopped, the first time this is asked after it did; `None` before,
    /// and after that once.
    pub fn failure(&mut self) -> Option<String> {
        if self.failure_reported {
            return None;
        }
        let failure = self.shared.lock().failure.clone()?;
        self.failure_reported = true;
        Some(failure)
    }

    /// Ends the recording: what is queued is written (waiting at most [`FINISH_WAIT`]).
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        {
            let mut pending = self.shared.lock();
            pending.closed = true;
        }
        self.shared.wake.notify_one();
        if let Some(done) = self.done.take()
            && done.recv_timeout(FINISH_WAIT).is_err()
        {
            tracing::warn!(path = %self.path.display(), "the recording's last writes did not finish in time");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.close();
        }
    }
}

fn write_loop(shared: &Shared, writer: &mut BufWriter<Box<dyn Write + Send>>) {
    let mut text = Utf8Stream::default();
    loop {
        let (items, dropped, closed) = {
            let mut pending = shared.lock();
            while pending.items.is_empty() && pending.dropped == 0 && !pending.closed {
                pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            pending.bytes = 0;
            (
                std::mem::take(&mut pending.items),
                std::mem::take(&mut pending.dropped),
                pending.closed,
            )
        };
        let mut result = write_items(writer, &mut text, items, dropped);
        let idle = shared.lock().items.is_empty();
        if result.is_ok() && (idle || closed) {
            if closed {
                let tail = text.finish();
                if !tail.is_empty() {
                    // The time of an unfinished character does not matter; the end does.
                    result = writer.write_all(
                        asciicast::encode_event(Duration::ZERO, &EventKind::Output, &tail)
                            .as_bytes(),
                    );
                }
            }
            result = result.and_then(|()| writer.flush());
        }
        if let Err(error) = result {
            tracing::warn!(%error, "recording stopped");
            let mut pending = shared.lock();
            pending.failure = Some(error.to_string());
            pending.items.clear();
            pending.bytes = 0;
            return;
        }
        if closed {
            return;
        }
    }
}

fn write_items(
    writer: &mut impl Write,
    text: &mut Utf8Stream,
    items: Vec<Item>,
    dropped: u64,
) -> std::io::Result<()> {
    let mut last = Duration::ZERO;
    for item in items {
        match item {
            Item::Output { at, bytes } => {
                last = at;
                for chunk in bytes.chunks(MAX_EVENT_BYTES) {
                    let data = text.decode(chunk);
                    if !data.is_empty() {
                        writer.write_all(
                            asciicast::encode_event(at, &EventKind::Output, &data).as_bytes(),
                        )?;
                    }
                }
            }
            Item::Resize { at, cols, rows } => {
                last = at;
                let data = format!("{cols}x{rows}");
                writer
                    .write_all(asciicast::encode_event(at, &EventKind::Resize, &data).as_bytes())?;
            }
        }
    }
    if dropped > 0 {
        let data = format!("gangway: {dropped} bytes of output not recorded (disk too slow)");
        writer.write_all(asciicast::encode_event(last, &EventKind::Marker, &data).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::local::asciicast::CastReader;

    fn meta() -> RecordingMeta {
        RecordingMeta {
            session_id: "dev-0123456789abcdef0".into(),
            target: "i-0123456789abcdef0".into(),
            size: (100, 30),
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            env: vec![("TERM".into(), Some("xterm".into()))],
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gangway-rec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_recording_is_asciicast_with_output_and_resizes() {
        let dir = temp_dir("basic");
        let settings = RecordingSettings {
            dir: dir.clone(),
            ..RecordingSettings::default()
        };
        let mut recorder = Recorder::start(&settings, &meta(), &HashSet::new()).unwrap();
        let path = recorder.path().to_owned();
        recorder.output(b"hello \xe2\x82");
        recorder.output(b"\xac\r\n");
        recorder.resize(120, 40);
        recorder.output(&vec![b'x'; MAX_EVENT_BYTES + 5]);
        recorder.finish();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "20231114T221320Z-dev-0123456789abcdef0.cast");
        let file = std::fs::read(&path).unwrap();
        let (header, mut reader) = CastReader::open(file.as_slice()).unwrap();
        assert_eq!((header.width, header.height), (100, 30));
        assert_eq!(header.timestamp, Some(1_700_000_000));
        assert_eq!(header.gangway.unwrap().target, "i-0123456789abcdef0");
        let mut output = String::new();
        let mut sizes = Vec::new();
        let mut last = 0.0;
        while let Some(event) = reader.next_event() {
            let event = event.unwrap();
            assert!(event.time >= last, "times never go back");
            last = event.time;
            match event.kind {
                EventKind::Output => output.push_str(&event.data),
                EventKind::Resize => sizes.push(event.size().unwrap()),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(output.starts_with("hello €\r\nxxx"), "{output:?}");
        assert_eq!(output.len(), "hello €\r\n".len() + MAX_EVENT_BYTES + 5);
        assert_eq!(sizes, [(120, 40)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_disk_stops_the_recording_once_and_never_blocks() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        // The header alone is small enough to stay in the buffer until the flush fails.
        let started = Recorder::with_writer(Box::new(full), &meta().header(), "/dev/full".into());
        assert!(started.is_err(), "the header's flush reports the full disk");

        // A writer that fails after the header: the pump keeps going and hears of it once.
        struct FailAfter(usize);
        impl Write for FailAfter {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::from_raw_os_error(28));
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut recorder =
            Recorder::with_writer(Box::new(FailAfter(1)), &meta().header(), "x".into()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let failure = loop {
            recorder.output(&[b'y'; 70_000]);
            if let Some(failure) = recorder.failure() {
                break failure;
            }
            assert!(Instant::now() < deadline, "the failure was never reported");
            std::thread::yield_now();
        };
        assert!(failure.contains("No space left"), "{failure}");
        recorder.output(b"more");
        assert_eq!(recorder.failure(), None, "reported once");
        recorder.finish();
    }

    #[test]
    fn the_queue_is_bounded_and_the_loss_is_marked() {
        // A writer that blocks until told: the queue fills, output beyond it is counted.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        struct Gated(Arc<(Mutex<bool>, Condvar)>, Arc<Mutex<Vec<u8>>>);
        impl Write for Gated {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let (open, cv) = &*self.0;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                self.1.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Arc::new(Mutex::new(Vec::new()));
        *gate.0.lock().unwrap() = true;
        let mut recorder = Recorder::with_writer(
            Box::new(Gated(Arc::clone(&gate), Arc::clone(&sink))),
            &meta().header(),
            "x".into(),
        )
        .unwrap();
        *gate.0.lock().unwrap() = false;
        let chunk = vec![b'z'; 1 << 20];
        // The writer takes at most one batch before it blocks; the rest must be refused.
        for _ in 0..(2 * MAX_QUEUED_BYTES / chunk.len() + 2) {
            recorder.output(&chunk);
        }
        assert!(recorder.shared.lock().bytes <= MAX_QUEUED_BYTES);
        assert!(recorder.shared.lock().dropped > 0);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        recorder.finish();
        // finish() waits at most FINISH_WAIT; on a loaded machine the writer thread may
        // still be encoding the queued megabytes, so wait for the marker with a deadline.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let marked = || {
            String::from_utf8_lossy(&sink.lock().unwrap()).contains("not recorded (disk too slow)")
        };
        while !marked() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(marked(), "a marker says so");
    }
}
