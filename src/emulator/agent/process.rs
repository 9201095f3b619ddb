//! The process behind a session: a shell or command on a PTY, or an exec'd command whose
//! output goes to pipes or (merged) to a file.
//!
//! Every process gets three small tasks: output reader(s) that turn reads into UTF-8-safe
//! payloads (`utf8_chunks.rs`), a control task that writes input and applies resizes and
//! signals, and a waiter that reaps the child and reports its exit code. The session task only
//! sees channels, so a stuck shell never blocks the session loop.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::own_host_name;
use super::reaper;
use super::utf8_chunks::Utf8Chunker;
use super::watchdog;

/// Output payloads buffered between the readers and the session loop. Small, so a client
/// that does not ack stops the readers, and the PTY then stops the shell (backpressure).
const OUTPUT_QUEUE: usize = 16;
/// With the pace off (benchmarks only), one read takes up to this much output (then cut
/// into ≤ 1024-byte payloads): a PTY read costs a flush of the tty flip buffer, so 1024-byte
/// reads spent most of the agent's CPU.
const OUTPUT_READ_BUFFER: usize = 16 * 1024;

/// How the agent reads the process's output (protocol.md §0 item 16, §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgentPace {
    /// The real agent's pace: read at most 1024 bytes, send them, sleep 1 ms, read again
    /// (agent: agent/session/shell/shell.go, func writePump). Caps output near 1 MiB/s.
    #[default]
    Agent,
    /// Read as much as is there, no pause: only for benchmarks of gangway's own ceiling,
    /// never for a test or figure that claims what AWS does.
    Off,
}

/// The real agent's pause between two reads of the pty or TCP side (§5.3).
pub const AGENT_READ_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// The agent's pause after each send (§0 item 16): [`AGENT_READ_PAUSE`] from now.
pub async fn agent_pause() {
    pause_until(std::time::Instant::now() + AGENT_READ_PAUSE).await;
}

/// Sleeps until `until`, precisely (`pacer.rs`: tokio's timer would make 1 ms last 2.2).
pub async fn pause_until(until: std::time::Instant) {
    super::pacer::sleep_until(until).await;
}

/// Queued input frames are joined into one PTY write up to about this size (one syscall and
/// tty wakeup per batch instead of per frame).
const INPUT_WRITE_BATCH: usize = 16 * 1024;

/// What to run and where.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub program: Program,
    /// Per-instance home directory, created if missing; also the working directory.
    pub home: PathBuf,
    /// Shown in the prompt and set as HOSTNAME; already sanitised.
    pub host_name: String,
    /// How output is read (the real agent's pace unless a benchmark turns it off).
    pub pace: AgentPace,
    /// The load test's echo timing (`echo_hops.rs`), `None` unless asked for.
    pub hops: super::echo_hops::SessionHops,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// An interactive shell on a PTY (`/bin/sh` or `bash`).
    Shell { path: String },
    /// `sh -c COMMAND` on a PTY (AWS-StartInteractiveCommand).
    PtyCommand { command: String },
    /// NonInteractiveCommands: the command's words exec'd directly, no shell, no PTY, stdin
    /// the null device (§6.2.1). Without separators stdout and stderr share one file that is
    /// sent after the exit; with them they are two pipes, streamed live.
    Exec {
        argv: Vec<String>,
        separators: Option<Separators>,
    },
    /// A Port session: no process, the port plugin (`port/`) relays TCP.
    Port(super::port::PortSpec),
}

/// separateOutputStream's prefixes (empty: none), put before a read's bytes when it is the
/// first non-empty one or the previous read ended in LF (§6.2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Separators {
    pub stdout_prefix: String,
    pub stderr_prefix: String,
}

/// A chunk of output, at most 1024 bytes, never ending inside a UTF-8 sequence (a port
/// session's bytes are not text: they are cut anywhere).
#[derive(Debug)]
pub enum Output {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// A PT 10 flag: a port session's ConnectToPortError (§6.3). No process sends one.
    Flag(crate::proto::PayloadFlag),
}

/// What a running process did, from [`Process::next_event`].
#[derive(Debug)]
pub enum ProcessEvent {
    /// Output, or `None` once every output stream ended.
    Output(Option<Output>),
    /// The exit code (128 + signal after a signal; `None` if it cannot be known); reported once.
    Exited(Option<i32>),
}

/// Requests for the control task, kept in order so a resize never overtakes earlier input.
#[derive(Debug)]
enum Control {
    Input(Vec<u8>),
    Resize { rows: u16, cols: u16 },
}

/// A running child. Dropping it kills the child and everything in its session.
pub struct Process {
    pid: u32,
    output: mpsc::Receiver<Output>,
    control: mpsc::UnboundedSender<Control>,
    /// Input bytes handed to the control task and not yet written (acked input is never
    /// refused, so this is how a shell that stops reading is noticed).
    queued_input: Arc<AtomicUsize>,
    exit: Option<oneshot::Receiver<Option<i32>>>,
}

impl Process {
    /// Starts the process, watched by the [`watchdog`] until it is dropped.
    pub fn spawn(spec: &LaunchSpec) -> std::io::Result<Self> {
        let process = Self::spawn_unwatched(spec)?;
        watchdog::watch(process.pid);
        Ok(process)
    }

    fn spawn_unwatched(spec: &LaunchSpec) -> std::io::Result<Self> {
        std::fs::create_dir_all(&spec.home)?;
        match &spec.program {
            // bash would read /etc/bash.bashrc, whose PS1 names the emulator's own host.
            Program::Shell { path } if path.ends_with("bash") => {
                spawn_on_pty(spec, path, &["--norc"])
            }
            Program::Shell { path } => spawn_on_pty(spec, path, &[]),
            Program::PtyCommand { command } => spawn_on_pty(spec, "/bin/sh", &["-c", command]),
            Program::Exec {
                argv,
                separators: Some(separators),
            } => spawn_piped(spec, argv, separators),
            Program::Exec {
                argv,
                separators: None,
            } => spawn_merged(spec, argv),
            Program::Port(_) => Err(std::io::Error::other(
                "a port session runs the port plugin, not a process",
            )),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Next output chunk; `None` once every output stream has ended.
    pub async fn next_output(&mut self) -> Option<Output> {
        self.output.recv().await
    }

    /// Waits for the child's exit code (128 + signal after a signal). Cancel-safe; returns
    /// immediately with `None` when called again after the exit was seen.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        let receiver = self.exit.as_mut()?;
        let code = receiver.await.ok().flatten();
        self.exit = None;
        code
    }

    /// Waits for output (when `want_output`) or the exit, whichever comes first; pends forever
    /// when neither can happen. Cancel-safe.
    pub async fn next_event(&mut self, want_output: bool) -> ProcessEvent {
        let exit = self.exit.as_mut();
        let watch_exit = exit.is_some();
        let event = tokio::select! {
            output = self.output.recv(), if want_output => ProcessEvent::Output(output),
            code = async { if let Some(exit) = exit { exit.await.ok().flatten() } else { None } }, if watch_exit => {
                ProcessEvent::Exited(code)
            }
            else => std::future::pending().await,
        };
        if matches!(event, ProcessEvent::Exited(_)) {
            self.exit = None;
        }
        event
    }

    pub fn has_exited(&self) -> bool {
        self.exit.is_none()
    }

    pub fn write_input(&self, bytes: Vec<u8>) {
        self.queued_input.fetch_add(bytes.len(), Ordering::Relaxed);
        let _ = self.control.send(Control::Input(bytes));
    }

    /// Input accepted from the client but not yet written to the process.
    pub fn queued_input_bytes(&self) -> usize {
        self.queued_input.load(Ordering::Relaxed)
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        let _ = self.control.send(Control::Resize { rows, cols });
    }

    /// Kills the child and every process in its session or group; the waiter reaps it.
    pub fn kill(&self) {
        reaper::kill_process_tree(self.pid);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        watchdog::forget(self.pid);
    }
}

/// The environment of every session: nothing inherited from the emulator (which may hold
/// AWS credentials), just what a login on the instance would have.
fn session_env(spec: &LaunchSpec, shell: &str) -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let lang = std::env::var("LANG").unwrap_or_else(|_| "C.UTF-8".into());
    vec![
        ("PATH".into(), path),
        ("HOME".into(), spec.home.display().to_string()),
        ("HOSTNAME".into(), spec.host_name.clone()),
        ("TERM".into(), "xterm-256color".into()),
        ("LANG".into(), lang),
        ("USER".into(), "ssm-user".into()),
        ("LOGNAME".into(), "ssm-user".into()),
        ("SHELL".into(), shell.into()),
        ("PS1".into(), format!("ssm-user@{}$ ", spec.host_name)),
    ]
}

fn spawn_on_pty(spec: &LaunchSpec, program: &str, args: &[&str]) -> std::io::Result<Process> {
    let (pty, pts) = pty_process::open().map_err(std::io::Error::other)?;
    // A common default until the client's first Size message (protocol.md §6.1).
    pty.resize(pty_process::Size::new(24, 80))
        .map_err(std::io::Error::other)?;
    let (program_path, arguments) = own_host_name::command_line(&spec.host_name, program, args);
    let child = match spawn_session_leader(spec, program, &program_path, &arguments, &pts) {
        Some(child) => child,
        None => pty_process::Command::new(program_path)
            .args(arguments)
            .env_clear()
            .envs(session_env(spec, program))
            .current_dir(&spec.home)
            .spawn(pts)
            .map_err(std::io::Error::other)?,
    };
    let (reader, writer) = pty.into_split();
    let (output_tx, output) = mpsc::channel(OUTPUT_QUEUE);
    tokio::spawn(read_output(
        reader,
        output_tx,
        Output::Stdout,
        String::new(),
        spec.pace,
        spec.hops.clone(),
    ));
    let (control, control_rx) = mpsc::unbounded_channel();
    let queued_input = Arc::new(AtomicUsize::new(0));
    tokio::spawn(pty_control(
        writer,
        control_rx,
        Arc::clone(&queued_input),
        spec.hops.clone(),
    ));
    Ok(finish_spawn(
        child,
        output,
        control,
        queued_input,
        ExitCode::Shell,
        async {},
    ))
}

/// util-linux's `setsid`: with `--ctty` it starts a new session and makes its standard input
/// (the PTY) the controlling terminal, then execs the program, which is what
/// `pty_process`'s own pre-exec hook does.
const SETSID: &str = "/usr/bin/setsid";

/// Starts `program_path arguments…` on the PTY as a session leader without forking the
/// emulator: `pty_process` runs its hook between `fork` and `exec`, so the kernel copies the
/// page tables of the whole emulator (hundreds of MiB and threads under load) for every
/// session, holding its memory map locked meanwhile; a command without a hook is started by
/// `posix_spawn`, which shares the memory until the `exec`. `None` when `setsid` is not
/// there (the caller falls back to `pty_process`).
fn spawn_session_leader(
    spec: &LaunchSpec,
    program: &str,
    program_path: &str,
    arguments: &[String],
    pts: &pty_process::Pts,
) -> Option<tokio::process::Child> {
    static HAS_SETSID: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // A program that is not there keeps failing the spawn itself, as before.
    let runnable = std::path::Path::new(program_path);
    if !*HAS_SETSID.get_or_init(|| std::path::Path::new(SETSID).is_file())
        || !runnable.is_absolute()
        || !runnable.is_file()
    {
        return None;
    }
    use std::os::fd::AsFd;
    let terminal = || pts.as_fd().try_clone_to_owned().ok().map(Stdio::from);
    let (stdin, stdout, stderr) = (terminal()?, terminal()?, terminal()?);
    tokio::process::Command::new(SETSID)
        .arg("--ctty")
        .arg(program_path)
        .args(arguments)
        .env_clear()
        .envs(session_env(spec, program))
        .current_dir(&spec.home)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .ok()
}

/// The exec'd command, with `stdout`/`stderr` as given: nothing inherited, no stdin, its own
/// process group (so 0x03/0x1c and the reaper reach everything it started).
fn exec_command(
    spec: &LaunchSpec,
    argv: &[String],
    stdout: Stdio,
    stderr: Stdio,
) -> std::io::Result<tokio::process::Child> {
    let (first, rest) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let (program, arguments) = own_host_name::command_line(&spec.host_name, first, &rest);
    tokio::process::Command::new(program)
        .args(arguments)
        .env_clear()
        .envs(session_env(spec, "/bin/sh"))
        .current_dir(&spec.home)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
}

/// separateOutputStream: stdout and stderr on their own pipes, streamed as they come, each
/// with its prefix (agent: shell.go, funcs processCommandsWithOutputStreamSeparate,
/// setupRoutineToWriteCmdPipelineOutput).
fn spawn_piped(
    spec: &LaunchSpec,
    argv: &[String],
    separators: &Separators,
) -> std::io::Result<Process> {
    let mut child = exec_command(spec, argv, Stdio::piped(), Stdio::piped())?;
    let (output_tx, output) = mpsc::channel(OUTPUT_QUEUE);
    if let Some(stdout) = child.stdout.take() {
        let prefix = separators.stdout_prefix.clone();
        tokio::spawn(read_output(
            stdout,
            output_tx.clone(),
            Output::Stdout,
            prefix,
            spec.pace,
            None,
        ));
    }
    if let Some(stderr) = child.stderr.take() {
        let prefix = separators.stderr_prefix.clone();
        tokio::spawn(read_output(
            stderr,
            output_tx,
            Output::Stderr,
            prefix,
            spec.pace,
            None,
        ));
    }
    let (control, queued_input) = spawn_piped_control(child.id());
    Ok(finish_spawn(
        child,
        output,
        control,
        queued_input,
        ExitCode::Go,
        async {},
    ))
}

/// Without separateOutputStream: stdout and stderr both go to one file, and only once the
/// command has exited is the file sent, all of it as Output (agent: shell.go, funcs
/// processCommandsWithExec, writePump). The file is unlinked at once; a second descriptor
/// reads it from the start.
fn spawn_merged(spec: &LaunchSpec, argv: &[String]) -> std::io::Result<Process> {
    let path = spec
        .home
        .join(format!(".gangway-output-{:016x}", rand::random::<u64>()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    let reader = std::fs::File::open(&path);
    let _ = std::fs::remove_file(&path);
    let reader = tokio::fs::File::from_std(reader?);
    let child = exec_command(spec, argv, file.try_clone()?.into(), file.into())?;
    let (output_tx, output) = mpsc::channel(OUTPUT_QUEUE);
    let (control, queued_input) = spawn_piped_control(child.id());
    let send_file = read_output(
        reader,
        output_tx,
        Output::Stdout,
        String::new(),
        spec.pace,
        None,
    );
    Ok(finish_spawn(
        child,
        output,
        control,
        queued_input,
        ExitCode::Go,
        send_file,
    ))
}

fn spawn_piped_control(pid: Option<u32>) -> (mpsc::UnboundedSender<Control>, Arc<AtomicUsize>) {
    let (control, control_rx) = mpsc::unbounded_channel();
    let queued_input = Arc::new(AtomicUsize::new(0));
    tokio::spawn(piped_control(pid, control_rx, Arc::clone(&queued_input)));
    (control, queued_input)
}

/// How a signal death is reported.
#[derive(Clone, Copy)]
enum ExitCode {
    /// 128 + signal, as a shell shows it in `$?` (only recorded: shells send no exit code).
    Shell,
    /// -1, Go's `ProcessState.ExitCode()`, which the agent sends as `EXIT_CODE: -1` (§6.2.1).
    Go,
}

/// `after_exit` runs between the reaping and the exit report (merged output is sent then).
fn finish_spawn(
    mut child: tokio::process::Child,
    output: mpsc::Receiver<Output>,
    control: mpsc::UnboundedSender<Control>,
    queued_input: Arc<AtomicUsize>,
    signal_code: ExitCode,
    after_exit: impl std::future::Future<Output = ()> + Send + 'static,
) -> Process {
    let pid = child.id().unwrap_or(0);
    let (exit_tx, exit) = oneshot::channel();
    // The waiter always runs to completion, so the child is reaped even if the session task
    // is gone by then.
    tokio::spawn(async move {
        let code = child.wait().await.ok().and_then(|status| {
            status.code().or_else(|| {
                status.signal().map(|sig| match signal_code {
                    ExitCode::Shell => 128 + sig,
                    ExitCode::Go => -1,
                })
            })
        });
        after_exit.await;
        let _ = exit_tx.send(code);
    });
    Process {
        pid,
        output,
        control,
        queued_input,
        exit: Some(exit),
    }
}

/// Reads until EOF (or EIO, which is how a PTY reports that every slave fd closed).
/// `prefix` (may be empty) goes before the first non-empty read and before every read that
/// follows one ending in LF: per read, not per line, as the agent does it (§6.2.1).
/// With [`AgentPace::Agent`] each read takes at most one payload's worth and is followed by
/// a 1 ms pause, like the real agent's writePump (shell.go); the chunker keeps a payload
/// ≤ 1024 bytes by shrinking the read where the agent would carry a split UTF-8 sequence.
async fn read_output<R: AsyncRead + Unpin>(
    mut reader: R,
    sink: mpsc::Sender<Output>,
    wrap: fn(Vec<u8>) -> Output,
    prefix: String,
    pace: AgentPace,
    hops: super::echo_hops::SessionHops,
) {
    let mut chunker = Utf8Chunker::default();
    let mut buffer = vec![0u8; OUTPUT_READ_BUFFER];
    let mut at_line_start = true;
    let mut prefixed = Vec::new();
    loop {
        let limit = match pace {
            AgentPace::Agent => chunker.read_budget(),
            AgentPace::Off => OUTPUT_READ_BUFFER,
        };
        let read = match reader.read(&mut buffer[..limit]).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if let Some(hops) = &hops {
            hops.pty_read();
        }
        let mut data = &buffer[..read];
        if !prefix.is_empty() {
            let starts_line = at_line_start;
            at_line_start = data.ends_with(b"\n");
            if starts_line {
                prefixed.clear();
                prefixed.extend_from_slice(prefix.as_bytes());
                prefixed.extend_from_slice(data);
                data = &prefixed;
            }
        }
        // Payloads stay ≤ 1024 bytes (§5.3); only the read syscall is larger.
        let mut rest = data;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(rest.len().min(chunker.read_budget()));
            rest = later;
            let payload = chunker.push(now);
            if !payload.is_empty() && sink.send(wrap(payload)).await.is_err() {
                return;
            }
        }
        if pace == AgentPace::Agent {
            agent_pause().await;
        }
    }
    let rest = chunker.finish();
    if !rest.is_empty() {
        let _ = sink.send(wrap(rest)).await;
    }
}

async fn pty_control(
    mut writer: pty_process::OwnedWritePty,
    mut requests: mpsc::UnboundedReceiver<Control>,
    queued_input: Arc<AtomicUsize>,
    hops: super::echo_hops::SessionHops,
) {
    let mut held = None;
    loop {
        let request = match held.take() {
            Some(request) => request,
            None => match requests.recv().await {
                Some(request) => request,
                None => break,
            },
        };
        match request {
            Control::Input(mut bytes) => {
                // Input already queued behind this frame goes in the same write, in order;
                // a resize stops the batch so it still applies after the earlier input.
                while bytes.len() < INPUT_WRITE_BATCH {
                    match requests.try_recv() {
                        Ok(Control::Input(more)) => bytes.extend_from_slice(&more),
                        Ok(other) => {
                            held = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let written = writer.write_all(&bytes).await;
                if let Some(hops) = &hops {
                    hops.pty_written();
                }
                queued_input.fetch_sub(bytes.len(), Ordering::Relaxed);
                if written.is_err() {
                    break;
                }
            }
            Control::Resize { rows, cols } => {
                let _ = writer.resize(pty_process::Size::new(rows, cols));
            }
        }
    }
}

/// Without a PTY, input is only scanned for Ctrl-C and Ctrl-\ (protocol.md §6.2.1).
async fn piped_control(
    pid: Option<u32>,
    mut requests: mpsc::UnboundedReceiver<Control>,
    queued_input: Arc<AtomicUsize>,
) {
    use nix::sys::signal::Signal;
    while let Some(request) = requests.recv().await {
        if let Control::Input(bytes) = &request {
            queued_input.fetch_sub(bytes.len(), Ordering::Relaxed);
        }
        let (Control::Input(bytes), Some(pid)) = (request, pid) else {
            continue;
        };
        // The first of the two bytes wins (agent: shell_unix.go, func
        // InputStreamMessageHandler).
        match bytes.iter().find(|&&b| b == 0x03 || b == 0x1c) {
            Some(0x03) => reaper::signal_group(pid, Signal::SIGINT),
            Some(_) => reaper::signal_group(pid, Signal::SIGQUIT),
            None => {}
        }
    }
}
