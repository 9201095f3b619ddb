//! Runs one command on its instances: at most MaxConcurrency at a time, nothing new once the
//! errors are past MaxErrors, each script under its execution timeout, offline instances
//! waiting for a delivery that never comes. The script runs as the agent's runShellScript
//! plugin runs it (agent: agent/plugins/runscript/runscript.go, func runCommands): the
//! commands written to `_script.sh` in the step's orchestration directory and run by
//! `sh -c PATH`, stdout and stderr each into their own file. The process is the emulator's
//! own (`agent::process`): cleared environment, the instance's home and host name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::model::{
    Detail, MAX_OUTPUT_FILE_BYTES, MAX_STDERR_BYTES, MAX_STDOUT_BYTES, OutputLocation, step_id,
    string_prefix,
};
use super::store::{CommandStore, Ending};
use crate::emulator::agent::process::{
    AgentPace, LaunchSpec, Output, Process, ProcessEvent, Program, Separators,
};

/// The exit code the agent reports for a script it killed at a timeout or cancel (agent:
/// agent/appconfig/constants_unix.go, CommandStoppedPreemptivelyExitCode = 128 + SIGKILL).
const STOPPED_EXIT_CODE: i32 = 137;
/// After a kill, output still in the pipes is read for at most this long.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(2);

/// One instance of the command as SendCommand planned it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub instance_id: String,
    pub host_name: String,
    pub home: PathBuf,
    /// `false`: the agent does not answer (connection lost, instance stopped); the
    /// invocation stays Pending until the delivery timeout.
    pub reachable: bool,
}

/// Everything the runner needs, taken from the request and the fleet when it was sent.
pub struct Job {
    pub store: Arc<CommandStore>,
    pub command_id: String,
    pub plan: Vec<Planned>,
    pub concurrency: usize,
    /// When undelivered invocations end as DeliveryTimedOut.
    pub delivery_deadline: Instant,
    pub execution_timeout: Duration,
    pub plugin: &'static str,
    pub script: String,
    pub output: Option<OutputLocation>,
    pub cancel: watch::Receiver<u64>,
}

/// Where the emulator keeps the runs: orchestration directories and the S3 layout.
pub fn commands_root() -> PathBuf {
    crate::emulator::run_dir::path().join("commands")
}

/// The local copy of `s3://BUCKET/KEY`: `<run dir>/s3/BUCKET/KEY`, with `.` and `..` key
/// components spelled `%2E` so that no key leaves the directory.
pub fn s3_path(bucket: &str, key: &str) -> PathBuf {
    let mut path = crate::emulator::run_dir::path().join("s3").join(bucket);
    for part in key.split('/').filter(|p| !p.is_empty()) {
        match part {
            "." => path.push("%2E"),
            ".." => path.push("%2E%2E"),
            _ => path.push(part),
        }
    }
    path
}

pub async fn run(job: Job) {
    let job = Arc::new(job);
    let slots = Arc::new(Semaphore::new(job.concurrency.max(1)));
    let mut running = JoinSet::new();
    let mut deadline_passed = false;
    let mut over_errors = false;
    for planned in job.plan.iter().filter(|p| p.reachable) {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = tokio::time::sleep_until(job.delivery_deadline) => {
                deadline_passed = true;
                break;
            }
        };
        if job.store.over_error_limit(&job.command_id) {
            over_errors = true;
            break;
        }
        if !job.store.try_start(&job.command_id, &planned.instance_id) {
            continue;
        }
        let job = Arc::clone(&job);
        let planned = planned.clone();
        running.spawn(async move { run_one(&job, &planned, permit).await });
    }
    if over_errors {
        job.store
            .finish_pending(&job.command_id, Detail::Terminated);
    } else if deadline_passed {
        job.store
            .finish_pending(&job.command_id, Detail::DeliveryTimedOut);
    } else {
        wait_for_delivery_timeout(&job).await;
    }
    while running.join_next().await.is_some() {}
    tracing::info!("command {} finished", job.command_id);
}

/// Offline invocations stay Pending until the delivery deadline, unless cancelled first.
async fn wait_for_delivery_timeout(job: &Job) {
    let mut cancel = job.cancel.clone();
    while job.store.has_pending(&job.command_id) {
        tokio::select! {
            () = tokio::time::sleep_until(job.delivery_deadline) => {
                job.store.finish_pending(&job.command_id, Detail::DeliveryTimedOut);
                return;
            }
            changed = cancel.changed() => if changed.is_err() {
                tokio::time::sleep_until(job.delivery_deadline).await;
            }
        }
    }
}

async fn run_one(job: &Job, planned: &Planned, _slot: OwnedSemaphorePermit) {
    let ending = match execute(job, planned).await {
        Ok(ending) => ending,
        Err(err) => {
            tracing::warn!(
                "command {} on {}: cannot run the script: {err}",
                job.command_id,
                planned.instance_id
            );
            Ending {
                detail: Detail::Failed,
                response_code: 1,
                stdout: String::new(),
                stderr: format!("failed to run commands: {err}"),
                stdout_truncated: false,
                stderr_truncated: false,
            }
        }
    };
    job.store
        .finish(&job.command_id, &planned.instance_id, ending);
}

/// The first bytes of a stream for the API, all of it (up to a bound) in a file.
struct Capture {
    head: Vec<u8>,
    keep: usize,
    file: std::fs::File,
    written: u64,
}

impl Capture {
    fn create(path: &Path, keep: usize) -> std::io::Result<Self> {
        Ok(Self {
            head: Vec::new(),
            keep,
            file: std::fs::File::create(path)?,
            written: 0,
        })
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.keep.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let allowed = MAX_OUTPUT_FILE_BYTES.saturating_sub(self.written);
        let take = bytes
            .len()
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        if take > 0 && self.file.write_all(&bytes[..take]).is_ok() {
            self.written += take as u64;
        }
    }
}

/// How the script's run ended, before its output is cut.
enum Stop {
    Exited(Option<i32>),
    TimedOut,
    Cancelled,
}

async fn execute(job: &Job, planned: &Planned) -> std::io::Result<Ending> {
    let plugin_dir = job.plugin.replace(':', "");
    let step_dir = step_id(job.plugin).replace(':', "");
    let dir = commands_root()
        .join(crate::emulator::agent::file_name_safe(&planned.instance_id))
        .join(&job.command_id)
        .join(&plugin_dir)
        .join(&step_dir);
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("_script.sh");
    write_script(&script, &job.script)?;
    let stdout_path = dir.join("stdout");
    let stderr_path = dir.join("stderr");
    let mut stdout = Capture::create(&stdout_path, MAX_STDOUT_BYTES)?;
    let mut stderr = Capture::create(&stderr_path, MAX_STDERR_BYTES)?;
    let spec = LaunchSpec {
        program: Program::Exec {
            argv: vec!["sh".into(), "-c".into(), script.display().to_string()],
            separators: Some(Separators {
                stdout_prefix: String::new(),
                stderr_prefix: String::new(),
            }),
        },
        home: planned.home.clone(),
        host_name: planned.host_name.clone(),
        // The plugin writes to files as fast as the script writes: no session pace.
        pace: AgentPace::Off,
        hops: None,
    };
    let mut process = Process::spawn(&spec)?;
    let stop = follow(job, planned, &mut process, &mut stdout, &mut stderr).await;
    drop(process);
    let (detail, response_code) = match stop {
        Stop::Exited(Some(0)) => (Detail::Success, 0),
        Stop::Exited(code) => (Detail::Failed, code.unwrap_or(-1)),
        Stop::TimedOut => (Detail::ExecutionTimedOut, STOPPED_EXIT_CODE),
        Stop::Cancelled => (Detail::Cancelled, STOPPED_EXIT_CODE),
    };
    drop((stdout.file, stderr.file));
    if let Some(location) = &job.output {
        for (path, stream) in [(&stdout_path, "stdout"), (&stderr_path, "stderr")] {
            upload(job, planned, location, path, stream);
        }
    }
    let (stdout_text, stdout_truncated) = string_prefix(&stdout.head, MAX_STDOUT_BYTES);
    let (stderr_text, stderr_truncated) = string_prefix(&stderr.head, MAX_STDERR_BYTES);
    Ok(Ending {
        detail,
        response_code,
        stdout: stdout_text,
        stderr: stderr_text,
        stdout_truncated,
        stderr_truncated,
    })
}

/// The commands one per line, as the agent's pluginutil.CreateScriptFile writes them.
fn write_script(path: &Path, script: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o700)
        .open(path)?;
    file.write_all(script.as_bytes())
}

/// Reads both streams to their end and the exit, whichever order they come in: a process
/// that exits before its pipes are drained still has all its output read. Stops early on
/// the execution timeout or a cancel, killing the process tree.
async fn follow(
    job: &Job,
    planned: &Planned,
    process: &mut Process,
    stdout: &mut Capture,
    stderr: &mut Capture,
) -> Stop {
    let timeout = tokio::time::sleep(job.execution_timeout);
    tokio::pin!(timeout);
    let mut cancel = job.cancel.clone();
    let mut watch_cancel = true;
    let mut output_done = false;
    let mut exit: Option<Option<i32>> = None;
    let mut record = |output: Output| match output {
        Output::Stdout(bytes) => stdout.push(&bytes),
        Output::Stderr(bytes) => stderr.push(&bytes),
        // Only a port session's dial reports a flag; a script's process never does.
        Output::Flag(_) => {}
    };
    let stop = loop {
        if output_done && let Some(code) = exit {
            return Stop::Exited(code);
        }
        tokio::select! {
            event = process.next_event(!output_done) => match event {
                ProcessEvent::Output(Some(output)) => record(output),
                ProcessEvent::Output(None) => output_done = true,
                ProcessEvent::Exited(code) => exit = Some(code),
            },
            () = &mut timeout => break Stop::TimedOut,
            changed = cancel.changed(), if watch_cancel => match changed {
                Ok(()) if job.store.cancel_requested(&job.command_id, &planned.instance_id) => {
                    break Stop::Cancelled;
                }
                Ok(()) => {}
                Err(_) => watch_cancel = false,
            },
        }
    };
    process.kill();
    let drained = async {
        while let Some(output) = process.next_output().await {
            record(output);
        }
    };
    let _ = tokio::time::timeout(DRAIN_AFTER_KILL, drained).await;
    stop
}

/// Copies a stream's file to the S3 layout, when it has anything (the agent uploads only
/// non-empty files: iomodule/fileS3.go, func Read).
fn upload(job: &Job, planned: &Planned, location: &OutputLocation, file: &Path, stream: &str) {
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    if size == 0 {
        return;
    }
    let key = location.key(&job.command_id, &planned.instance_id, job.plugin, stream);
    let target = s3_path(&location.bucket, &key);
    let copied = target
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::copy(file, &target));
    if let Err(err) = copied {
        tracing::warn!(
            "command {}: cannot write s3://{}/{key}: {err}",
            job.command_id,
            location.bucket
        );
    }
}
