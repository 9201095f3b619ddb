//! Instance → local, over several sessions at once. The agent sends at most 1 KiB per 1 ms
//! per session (protocol.md §0 item 16), so one session cannot go faster than about 1 MiB/s
//! whatever the client does; N sessions, each paced on its own, carry about N times that.
//!
//! The files are cut into ranges of [`RANGE_BLOCKS`] blocks, and every session takes the
//! next range from one queue, keeping [`PIPELINE`] requests ahead so it never waits for a
//! round trip. Each range comes with the SHA-256 the instance computed of it; one that does
//! not match (or a session that ends under it) goes back in the queue. Verified ranges are
//! written into `NAME.gangway-part` and noted in the progress record ([`super::record`]), so
//! a rerun after a kill fetches only what is missing. When a file's last range is in, the
//! instance's SHA-256 of the whole file must equal the part file's; only then is the part
//! renamed to its name.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::record::{self, Source};
use super::remote::{RemoteShell, SessionFailure};
use super::script::{self, BLOCK_BYTES, Reply, Stat};
use super::upload::{sha256_file, unexpected};
use super::{CopyError, Progress, Remote, Summary, base_name, join_remote};

/// Most blocks per range: 1 MiB, about a second of one session at the agent's pace. Smaller
/// files get smaller ranges (down to one block), so that every session has some.
pub const RANGE_BLOCKS: u64 = 16;
/// A file is cut into at least this many ranges when it is large enough.
const RANGES_PER_FILE: u64 = 64;
/// Requests a session keeps ahead of the one it is reading.
const PIPELINE: usize = 2;
/// Fetches of one range before the copy gives up on it.
const RANGE_ATTEMPTS: u32 = 4;
/// Sessions a worker may lose (ended, or lost with its connection) before it gives up.
const SESSION_ATTEMPTS: u32 = 4;
/// How often an idle worker looks for work that a failed session gave back.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// The default of `--sessions`: see docs/PERFORMANCE.md for the measurement behind it.
pub const DEFAULT_SESSIONS: usize = 8;
/// More sessions than this is abuse of the service, not speed.
pub const MAX_SESSIONS: usize = 32;

/// One remote file and where it goes.
struct Job {
    remote: Vec<u8>,
    destination: PathBuf,
    part: PathBuf,
    record: PathBuf,
    source: Source,
    file: std::fs::File,
}

impl Job {
    fn range_blocks(&self) -> u64 {
        self.source.range_bytes / BLOCK_BYTES
    }

    fn ranges(&self) -> u64 {
        self.source.size.div_ceil(self.source.range_bytes)
    }

    fn range_len(&self, index: u64) -> u64 {
        (self.source.size - index * self.source.range_bytes).min(self.source.range_bytes)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Work {
    Range {
        job: usize,
        index: u64,
    },
    /// Every range is in: compare the whole file's SHA-256 with the instance's.
    Sum {
        job: usize,
    },
}

/// What the workers share, behind one lock.
#[derive(Default)]
struct Schedule {
    queue: VecDeque<Work>,
    in_flight: usize,
    done: Vec<BTreeSet<u64>>,
    attempts: HashMap<Work, u32>,
    failed: Option<CopyError>,
    retried: u64,
}

struct Shared {
    jobs: Vec<Job>,
    schedule: Mutex<Schedule>,
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next piece of work, unless the copy failed.
    fn take(&self) -> Option<Work> {
        let mut schedule = self.lock();
        if schedule.failed.is_some() {
            return None;
        }
        let work = schedule.queue.pop_front()?;
        schedule.in_flight += 1;
        Some(work)
    }

    /// True when nothing is queued or being fetched anywhere, or the copy failed.
    fn finished(&self) -> bool {
        let schedule = self.lock();
        schedule.failed.is_some() || (schedule.queue.is_empty() && schedule.in_flight == 0)
    }

    fn fail(&self, error: CopyError) {
        let mut schedule = self.lock();
        if schedule.failed.is_none() {
            schedule.failed = Some(error);
        }
        drop(schedule);
        self.wake.notify_waiters();
    }

    /// Work a session could not finish goes back to the front of the queue.
    fn give_back(&self, works: impl DoubleEndedIterator<Item = Work>) {
        let mut schedule = self.lock();
        for work in works.rev() {
            schedule.in_flight -= 1;
            schedule.queue.push_front(work);
        }
        drop(schedule);
        self.wake.notify_waiters();
    }

    /// A range that did not verify: again, a few times.
    fn retry(&self, work: Work, detail: String) {
        let mut schedule = self.lock();
        schedule.in_flight -= 1;
        let attempts = schedule.attempts.entry(work).or_insert(1);
        *attempts += 1;
        if *attempts > RANGE_ATTEMPTS {
            let job = match work {
                Work::Range { job, .. } | Work::Sum { job } => job,
            };
            if schedule.failed.is_none() {
                schedule.failed = Some(CopyError::Verify {
                    path: self.jobs[job].remote.clone(),
                    detail,
                });
            }
        } else {
            tracing::warn!(?work, %detail, "range did not verify; fetching it again");
            schedule.retried += 1;
            schedule.queue.push_front(work);
        }
        drop(schedule);
        self.wake.notify_waiters();
    }

    /// A verified range is on disk: note it, and queue the file's final check after its last.
    fn range_done(&self, job_index: usize, index: u64) -> Result<(), CopyError> {
        let job = &self.jobs[job_index];
        let mut schedule = self.lock();
        schedule.in_flight -= 1;
        schedule.done[job_index].insert(index);
        let saved = record::save(&job.record, &job.source, &schedule.done[job_index]);
        if schedule.done[job_index].len() as u64 == job.ranges() {
            schedule.queue.push_front(Work::Sum { job: job_index });
        }
        drop(schedule);
        self.wake.notify_waiters();
        saved.map_err(|error| CopyError::LocalWrite {
            path: job.record.clone(),
            error,
        })
    }

    fn sum_done(&self) {
        let mut schedule = self.lock();
        schedule.in_flight -= 1;
        drop(schedule);
        self.wake.notify_waiters();
    }
}

/// Copies `source` (a file, or with `recursive` a directory) from the instance to
/// `destination`, `cp`-style: into it when it is a directory.
pub async fn download(
    remote: &Remote,
    source: &[u8],
    destination: &Path,
    recursive: bool,
    sessions: usize,
    progress: &Arc<Progress>,
) -> Result<Summary, CopyError> {
    let mut probe = RemoteShell::open(remote).await?;
    let jobs = match plan(&mut probe, remote, source, destination, recursive).await {
        Ok(jobs) => jobs,
        Err(error) => {
            probe.close().await;
            return Err(error);
        }
    };
    let mut schedule = Schedule::default();
    let mut resumed_bytes = 0;
    let mut skipped = 0;
    for (index, job) in jobs.iter().enumerate() {
        let done = record::load(&job.record, &job.source);
        let part_len = job.file.metadata().map(|m| m.len()).unwrap_or(0);
        let done = if part_len == job.source.size {
            done
        } else {
            BTreeSet::new()
        };
        if done.is_empty() {
            job.file
                .set_len(job.source.size)
                .map_err(|error| CopyError::LocalWrite {
                    path: job.part.clone(),
                    error,
                })?;
        } else {
            skipped += u64::from(done.len() as u64 == job.ranges());
        }
        let already: u64 = done.iter().map(|&i| job.range_len(i)).sum();
        resumed_bytes += already;
        progress.add_total(job.source.size);
        progress.resumed(already);
        if done.len() as u64 == job.ranges() {
            schedule.queue.push_back(Work::Sum { job: index });
        } else {
            schedule
                .queue
                .extend(
                    (0..job.ranges())
                        .filter(|i| !done.contains(i))
                        .map(|i| Work::Range {
                            job: index,
                            index: i,
                        }),
                );
        }
        schedule.done.push(done);
    }
    let workers = sessions
        .clamp(1, MAX_SESSIONS)
        .min(schedule.queue.len().max(1));
    let bytes = jobs.iter().map(|job| job.source.size).sum();
    let files = jobs.len() as u64;
    let shared = Arc::new(Shared {
        jobs,
        schedule: Mutex::new(schedule),
        wake: Notify::new(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut first = Some(probe);
    for _ in 0..workers {
        tasks.spawn(worker(
            Arc::clone(&shared),
            remote.clone(),
            first.take(),
            Arc::clone(progress),
        ));
    }
    let mut resumes = 0;
    while let Some(joined) = tasks.join_next().await {
        resumes += joined.unwrap_or_default();
    }
    let mut schedule = shared.lock();
    if let Some(error) = schedule.failed.take() {
        return Err(error);
    }
    Ok(Summary {
        files,
        bytes,
        skipped,
        resumed_bytes,
        resumes,
        retried_ranges: schedule.retried,
    })
}

/// What to fetch: the files under `source` and where each goes, with their part files
/// opened (which is where an unwritable destination shows).
async fn plan(
    shell: &mut RemoteShell,
    remote: &Remote,
    source: &[u8],
    destination: &Path,
    recursive: bool,
) -> Result<Vec<Job>, CopyError> {
    shell.send(script::stat(source)).await?;
    let stat = match shell.reply().await? {
        Reply::Stat(stat) => stat,
        other => return Err(unexpected(other)),
    };
    let name = base_name(source).map(|n| OsStr::from_bytes(n).to_owned());
    let into = |destination: &Path| match (&name, destination.is_dir()) {
        (Some(name), true) => destination.join(name),
        _ => destination.to_owned(),
    };
    let path = source.to_owned();
    match stat {
        Stat::File { size, mtime } => Ok(vec![job(
            remote,
            source.to_owned(),
            into(destination),
            size,
            mtime,
        )?]),
        Stat::Directory if recursive => {
            let root = into(destination);
            let files = list(shell, source, &root).await?;
            let mut jobs = Vec::with_capacity(files.len());
            // Every stat is sent before the answers are read: one round trip, not one each.
            for (remote_path, _) in &files {
                shell.send(script::stat(remote_path)).await?;
            }
            for (remote_path, local_path) in files {
                match shell.reply().await? {
                    Reply::Stat(Stat::File { size, mtime }) => {
                        jobs.push(job(remote, remote_path, local_path, size, mtime)?);
                    }
                    Reply::Stat(Stat::Unreadable(reason)) => {
                        return Err(CopyError::RemoteUnreadable {
                            path: remote_path,
                            reason,
                        });
                    }
                    // Gone or changed kind since the listing: nothing to copy.
                    Reply::Stat(_) => {}
                    other => return Err(unexpected(other)),
                }
            }
            Ok(jobs)
        }
        Stat::Directory => Err(CopyError::RemoteIsDirectory { path }),
        Stat::Unreadable(reason) => Err(CopyError::RemoteUnreadable { path, reason }),
        Stat::Other => Err(CopyError::RemoteNotAFile { path }),
        Stat::Missing(reason) => Err(CopyError::RemoteMissing { path, reason }),
    }
}

/// The tree under `source`: its directories are created under `root` here, its files
/// returned with their local paths. A name that would leave `root` is refused.
async fn list(
    shell: &mut RemoteShell,
    source: &[u8],
    root: &Path,
) -> Result<Vec<(Vec<u8>, PathBuf)>, CopyError> {
    let create = |dir: &Path| {
        std::fs::create_dir_all(dir).map_err(|error| CopyError::LocalWrite {
            path: dir.to_owned(),
            error,
        })
    };
    create(root)?;
    shell.send(script::list(source)).await?;
    let mut files = Vec::new();
    loop {
        match shell.reply().await? {
            Reply::Entry { directory, path } => {
                let Some(relative) = safe_relative(&path) else {
                    return Err(CopyError::Session(SessionFailure::Remote(format!(
                        "the instance listed a name that leaves the directory ({})",
                        crate::text::escape_for_terminal(&String::from_utf8_lossy(&path))
                    ))));
                };
                if relative.as_os_str().is_empty() {
                    continue;
                }
                let local = root.join(&relative);
                if directory {
                    create(&local)?;
                } else {
                    files.push((join_remote(source, relative.as_os_str().as_bytes()), local));
                }
            }
            Reply::End => return Ok(files),
            other => return Err(unexpected(other)),
        }
    }
}

/// `./a/b` from `find .` as `a/b`; `None` for anything with `..`, an absolute path or an
/// empty component.
fn safe_relative(path: &[u8]) -> Option<PathBuf> {
    let rest = match path {
        b"." => return Some(PathBuf::new()),
        _ => path.strip_prefix(b"./")?,
    };
    let mut relative = PathBuf::new();
    for part in rest.split(|b| *b == b'/') {
        if part.is_empty() || part == b"." || part == b".." {
            return None;
        }
        relative.push(OsStr::from_bytes(part));
    }
    Some(relative)
}

fn job(
    remote: &Remote,
    remote_path: Vec<u8>,
    destination: PathBuf,
    size: u64,
    mtime: i64,
) -> Result<Job, CopyError> {
    let part = record::part_path(&destination);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&part)
        .map_err(|error| CopyError::LocalWrite {
            path: destination.clone(),
            error,
        })?;
    Ok(Job {
        source: Source {
            target: remote.target.clone(),
            path: script::word(&remote_path),
            size,
            mtime,
            range_bytes: range_bytes(size),
        },
        remote: remote_path,
        record: record::record_path(&destination),
        destination,
        part,
        file,
    })
}

/// The range size for a file of `size` bytes: a function of the size alone, so that a rerun
/// with another `--sessions` still finds its record valid.
fn range_bytes(size: u64) -> u64 {
    size.div_ceil(RANGES_PER_FILE * BLOCK_BYTES)
        .clamp(1, RANGE_BLOCKS)
        * BLOCK_BYTES
}

/// One session's share: take work, fetch, verify, write; open another session when one is
/// lost. Returns the websocket resumes its sessions went through.
async fn worker(
    shared: Arc<Shared>,
    remote: Remote,
    mut shell: Option<RemoteShell>,
    progress: Arc<Progress>,
) -> u32 {
    let mut lost = 0;
    let mut resumes = 0;
    loop {
        if shared.finished() {
            if let Some(shell) = shell {
                resumes += shell.resumes;
                shell.close().await;
            }
            return resumes;
        }
        let mut current = match shell.take() {
            Some(current) => current,
            None => match RemoteShell::open(&remote).await {
                Ok(opened) => opened,
                Err(failure) if failure.is_transient() && lost < SESSION_ATTEMPTS => {
                    lost += 1;
                    continue;
                }
                Err(failure) => {
                    shared.fail(failure.into());
                    return resumes;
                }
            },
        };
        match serve(&shared, &mut current, &progress).await {
            Ok(()) => shell = Some(current),
            Err(CopyError::Session(failure)) if failure.is_transient() => {
                lost += 1;
                resumes += current.resumes;
                tracing::warn!(session = %current.session_id(), %failure, lost, "copy session lost");
                current.abandon();
                if lost > SESSION_ATTEMPTS {
                    shared.fail(CopyError::Session(failure));
                    return resumes;
                }
            }
            Err(error) => {
                shared.fail(error);
                resumes += current.resumes;
                current.close().await;
                return resumes;
            }
        }
    }
}

/// Runs requests through one session until there is nothing left to do. Work the session
/// took and did not finish is given back before an error returns.
async fn serve(
    shared: &Shared,
    shell: &mut RemoteShell,
    progress: &Progress,
) -> Result<(), CopyError> {
    let mut outstanding: VecDeque<Work> = VecDeque::new();
    let result = async {
        loop {
            while outstanding.len() < PIPELINE {
                let Some(work) = shared.take() else { break };
                outstanding.push_back(work);
                shell.send(request(shared, work)).await?;
            }
            let Some(&work) = outstanding.front() else {
                if shared.finished() {
                    return Ok(());
                }
                let _ = tokio::time::timeout(IDLE_CHECK, shared.wake.notified()).await;
                continue;
            };
            let answer = answer(shared, shell, work).await?;
            outstanding.pop_front();
            match answer {
                Answer::Range(bytes) => {
                    let Work::Range { job, index } = work else {
                        unreachable!("a range answer is for a range");
                    };
                    let target = &shared.jobs[job];
                    target
                        .file
                        .write_all_at(&bytes, index * target.source.range_bytes)
                        .map_err(|error| CopyError::LocalWrite {
                            path: target.part.clone(),
                            error,
                        })?;
                    progress.advance(bytes.len() as u64);
                    shared.range_done(job, index)?;
                }
                Answer::Retry(detail) => shared.retry(work, detail),
                Answer::Finished => shared.sum_done(),
            }
        }
    }
    .await;
    if result.is_err() {
        shared.give_back(outstanding.into_iter());
    }
    result
}

fn request(shared: &Shared, work: Work) -> Vec<u8> {
    match work {
        Work::Range { job, index } => {
            let job = &shared.jobs[job];
            let blocks = job.range_blocks();
            script::range(&job.remote, index * blocks, blocks)
        }
        Work::Sum { job } => script::sum(&shared.jobs[job].remote),
    }
}

enum Answer {
    Range(Vec<u8>),
    /// The range did not verify (the detail says how); fetch it again.
    Retry(String),
    /// The file is verified whole and in place.
    Finished,
}

async fn answer(shared: &Shared, shell: &mut RemoteShell, work: Work) -> Result<Answer, CopyError> {
    match work {
        Work::Range { job, index } => {
            let expected = shared.jobs[job].range_len(index);
            range_answer(shell, expected).await
        }
        Work::Sum { job } => finish(&shared.jobs[job], shell).await,
    }
}

/// Reads `:gw:data`, the base64 lines, and `:gw:rsum`, and checks the bytes against both.
async fn range_answer(shell: &mut RemoteShell, expected: u64) -> Result<Answer, CopyError> {
    match shell.reply().await? {
        Reply::Data => {}
        other => return Err(unexpected(other)),
    }
    // Base64 of the range plus line ends; more than that is not this range.
    let limit = (expected as usize).div_ceil(3) * 4 + expected as usize / 57 + 64;
    let mut text = Vec::with_capacity(limit);
    let sum = loop {
        let line = shell.line().await?;
        if line.starts_with(b":gw:") {
            match Reply::parse(line) {
                Some(Reply::RangeSum(sum)) => break sum,
                _ => {
                    let line = String::from_utf8_lossy(line).into_owned();
                    return Err(unexpected(Reply::Error(line)));
                }
            }
        }
        if text.len() + line.len() > limit {
            return Err(CopyError::Session(SessionFailure::Remote(
                "the instance sent more than the range it was asked for".into(),
            )));
        }
        text.extend_from_slice(line);
    };
    let Ok(bytes) = STANDARD.decode(&text) else {
        return Ok(Answer::Retry("the range did not decode".into()));
    };
    if bytes.len() as u64 != expected {
        return Ok(Answer::Retry(format!(
            "the range came as {} bytes, not {expected} (did the file shrink?)",
            bytes.len()
        )));
    }
    if hex::encode(Sha256::digest(&bytes)) != sum {
        return Ok(Answer::Retry(
            "the range's SHA-256 is not the instance's".into(),
        ));
    }
    Ok(Answer::Range(bytes))
}

/// The whole file: the instance's SHA-256 against the part file's, then the part file
/// becomes the destination and the record goes.
async fn finish(job: &Job, shell: &mut RemoteShell) -> Result<Answer, CopyError> {
    let remote_sum = match shell.reply().await? {
        Reply::Sum(Ok(sum)) => sum,
        Reply::Sum(Err(reason)) => {
            return Err(CopyError::RemoteUnreadable {
                path: job.remote.clone(),
                reason,
            });
        }
        other => return Err(unexpected(other)),
    };
    let local_error = |error| CopyError::LocalWrite {
        path: job.part.clone(),
        error,
    };
    job.file.sync_data().map_err(local_error)?;
    let part = job.part.clone();
    let local_sum = tokio::task::spawn_blocking(move || sha256_file(&part))
        .await
        .map_err(|error| local_error(std::io::Error::other(error)))?
        .map_err(local_error)?;
    if local_sum != remote_sum {
        let _ = std::fs::remove_file(&job.record);
        let _ = std::fs::remove_file(&job.part);
        return Err(CopyError::Changed {
            path: job.remote.clone(),
        });
    }
    std::fs::rename(&job.part, &job.destination).map_err(|error| CopyError::LocalWrite {
        path: job.destination.clone(),
        error,
    })?;
    let _ = std::fs::remove_file(&job.record);
    Ok(Answer::Finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_shrink_with_the_file_and_stay_whole_blocks() {
        let mib = 1024 * 1024;
        assert_eq!(range_bytes(0), BLOCK_BYTES);
        assert_eq!(range_bytes(3 * mib), BLOCK_BYTES);
        assert_eq!(range_bytes(16 * mib), 4 * BLOCK_BYTES);
        assert_eq!(range_bytes(64 * mib), mib);
        assert_eq!(range_bytes(10 * 1024 * mib), mib);
    }

    #[test]
    fn listed_names_stay_inside_the_root() {
        assert_eq!(safe_relative(b"."), Some(PathBuf::new()));
        assert_eq!(safe_relative(b"./a/b c"), Some(PathBuf::from("a/b c")));
        for bad in [
            &b"./../x"[..],
            b"./a/../../x",
            b"/etc/passwd",
            b"./a//b",
            b"a",
        ] {
            assert_eq!(safe_relative(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
