//! `gangway connect` against a spawned `gangway emulator` on loopback, each figure next to a
//! ceiling measured in the same run (issue 5):
//!
//! - time from process start to the first prompt byte, vs. a local `sh` in a pty;
//! - keystroke echo latency p50/p99 through the remote pty, vs. a local `sh` in a pty;
//! - upload and download throughput in pipe mode, vs. the same commands on a local pty;
//! - download without a pty (AWS-StartNonInteractiveCommand runs the command on pipes), vs.
//!   a bare websocket on loopback carrying messages of the same size: the transport's limit;
//! - upload and download in a KMS-encrypted session (protocol.md §4.6, a second emulator whose
//!   preferences name a key), vs. the same unencrypted transfers of this run.
//!
//! Run: `cargo bench --bench connect` (release). Prints a Markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/emulator.rs"]
mod emulator;
#[path = "common/runtime.rs"]
mod runtime;

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};

use emulator::GANGWAY;

const STARTUP_RUNS: usize = 15;
const ECHO_SAMPLES: usize = 400;
const TRANSFER_BYTES: usize = 64 << 20;
const PATIENCE: Duration = Duration::from_secs(120);

fn main() {
    runtime::block_on(run());
}

async fn run() {
    let (_emulator, endpoint) = spawn_emulator(&["--instances", "3"]).await;
    let target = online_instance(&endpoint).await;
    println!("| measure | gangway connect | ceiling (same run) | ceiling is |");
    println!("|---|---|---|---|");

    let ours = startup(&endpoint, &target).await;
    let local = local_startup().await;
    println!(
        "| process start → first prompt byte (median of {STARTUP_RUNS}) | {:.1} ms | {:.1} ms | local `sh -i` in a pty |",
        ms(median(&ours)),
        ms(median(&local))
    );

    let ours = echo_latency(connect_pty(&endpoint, &target).await).await;
    let local = echo_latency(local_shell_pty()).await;
    println!(
        "| keystroke echo p50 / p99 ({ECHO_SAMPLES} keys) | {:.2} / {:.2} ms | {:.2} / {:.2} ms | local `sh` in a pty |",
        ms(percentile(&ours, 50)),
        ms(percentile(&ours, 99)),
        ms(percentile(&local, 50)),
        ms(percentile(&local, 99))
    );

    let up = upload(&endpoint, &target).await;
    let up_local = local_upload().await;
    println!(
        "| upload, pipe mode, {} MiB | {:.1} MiB/s | {:.1} MiB/s | `head -c` reading a local pty |",
        TRANSFER_BYTES >> 20,
        up,
        up_local
    );
    let down_pty = download(&endpoint, &target, INTERACTIVE).await;
    let down_local = local_download().await;
    println!(
        "| download, pipe mode, {} MiB | {} | {} | `head -c` writing a local pty |",
        TRANSFER_BYTES >> 20,
        rate_or_loss(down_pty),
        rate_or_loss(down_local)
    );
    let down = download(&endpoint, &target, NON_INTERACTIVE).await;
    let bare = bare_websocket_stream(None).await;
    let acked = bare_websocket_stream(Some(AGENT_WINDOW)).await;
    println!(
        "| download, pipe mode, no pty (`{NON_INTERACTIVE}`), {} MiB | {} | {:.1} MiB/s; {:.1} MiB/s | bare websocket on loopback, {FRAME_PAYLOAD}-byte payloads in {}-byte binary messages: one way; and with a {ACK_BYTES}-byte answer per message, {AGENT_WINDOW} unanswered at most (the protocol's shape: an ack per frame, the agent's window) |",
        TRANSFER_BYTES >> 20,
        rate_or_loss(down),
        bare,
        acked,
        FRAME_PAYLOAD + FRAME_HEADER
    );

    // KMS: AES-256-GCM on every payload, both ends (the emulator's agent seals and opens too).
    let fleet = kms_fleet_file();
    let (_kms_emulator, kms_endpoint) = spawn_emulator(&["--fleet", fleet.to_str().unwrap()]).await;
    let kms_target = online_instance(&kms_endpoint).await;
    let up_kms = upload(&kms_endpoint, &kms_target).await;
    println!(
        "| upload, pipe mode, KMS-encrypted session, {} MiB | {:.1} MiB/s | {:.1} MiB/s | the same upload unencrypted, this run |",
        TRANSFER_BYTES >> 20,
        up_kms,
        up
    );
    let down_kms = download(&kms_endpoint, &kms_target, INTERACTIVE).await;
    println!(
        "| download, pipe mode, KMS-encrypted session, {} MiB | {} | {} | the same download unencrypted, this run |",
        TRANSFER_BYTES >> 20,
        rate_or_loss(down_kms),
        rate_or_loss(down_pty)
    );
}

/// A fleet whose preferences encrypt every session with a key the admin may use.
fn kms_fleet_file() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gangway-bench-kms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fleet.toml");
    std::fs::write(
        &path,
        r#"
[preferences]
kms_key_id = "alias/bench"

[[kms_keys]]
id = "0b0b0b0b-1111-2222-3333-444444444444"
alias = "alias/bench"
users = ["admin"]

[[instances]]
id = "i-0123456789abcdef0"
name = "bench-kms"
"#,
    )
    .unwrap();
    path
}

// ---- processes ---------------------------------------------------------------------------

/// `--agent-pace off`: these rows measure gangway's own ceiling, not what AWS does (the real
/// agent's pace caps a download near 1 MiB/s, docs/emulator.md).
async fn spawn_emulator(fleet: &[&str]) -> (Child, String) {
    emulator::spawn(&[&["--agent-pace", "off"], fleet].concat()).await
}

/// The emulator's administrator, with a home and a terminal of the bench's own.
fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    let home = std::env::temp_dir().join(format!("gangway-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut env = emulator::aws_env(endpoint).to_vec();
    env.push(("HOME", home.display().to_string()));
    env.push(("TERM", "xterm-256color".into()));
    env
}

async fn online_instance(endpoint: &str) -> String {
    let out = Command::new(GANGWAY)
        .args(["list", "--output", "json"])
        .envs(aws_env(endpoint))
        .output()
        .await
        .unwrap();
    let fleet: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    fleet
        .iter()
        .find(|i| {
            i["ping_status"] == "Online"
                && i["state"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("running"))
        })
        .and_then(|i| i["id"].as_str())
        .expect("an online instance")
        .to_owned()
}

struct PtyChild {
    pty: pty_process::Pty,
    child: Child,
}

fn spawn_in_pty(command: pty_process::Command) -> PtyChild {
    let (pty, pts) = pty_process::open().unwrap();
    pty.resize(pty_process::Size::new(24, 80)).unwrap();
    let child = command.kill_on_drop(true).spawn(pts).unwrap();
    PtyChild { pty, child }
}

async fn connect_pty(endpoint: &str, target: &str) -> PtyChild {
    let command = pty_process::Command::new(GANGWAY)
        .args(["connect", target])
        .envs(aws_env(endpoint));
    spawn_in_pty(command)
}

fn local_shell_pty() -> PtyChild {
    spawn_in_pty(
        pty_process::Command::new("/bin/sh")
            .arg("-i")
            .env("PS1", "$ "),
    )
}

// ---- measures ----------------------------------------------------------------------------

async fn first_byte(mut session: PtyChild, started: Instant) -> Duration {
    let mut byte = [0u8; 1];
    tokio::time::timeout(PATIENCE, session.pty.read_exact(&mut byte))
        .await
        .unwrap()
        .unwrap();
    let elapsed = started.elapsed();
    let _ = session.pty.write_all(b"exit\r").await;
    let _ = tokio::time::timeout(PATIENCE, session.child.wait()).await;
    elapsed
}

async fn startup(endpoint: &str, target: &str) -> Vec<Duration> {
    let mut samples = Vec::new();
    for _ in 0..STARTUP_RUNS {
        let started = Instant::now();
        let session = connect_pty(endpoint, target).await;
        samples.push(first_byte(session, started).await);
    }
    samples
}

async fn local_startup() -> Vec<Duration> {
    let mut samples = Vec::new();
    for _ in 0..STARTUP_RUNS {
        let started = Instant::now();
        samples.push(first_byte(local_shell_pty(), started).await);
    }
    samples
}

/// Types `a` then backspace repeatedly and times each `a` until its echo is back.
async fn echo_latency(mut session: PtyChild) -> Vec<Duration> {
    read_until(&mut session.pty, b"$ ").await;
    let mut samples = Vec::with_capacity(ECHO_SAMPLES);
    for _ in 0..ECHO_SAMPLES {
        let started = Instant::now();
        session.pty.write_all(b"a").await.unwrap();
        read_until(&mut session.pty, b"a").await;
        samples.push(started.elapsed());
        session.pty.write_all(b"\x7f").await.unwrap();
        read_until(&mut session.pty, b"\x08 \x08").await;
    }
    let _ = session.pty.write_all(b"\x15exit\r").await;
    let _ = tokio::time::timeout(PATIENCE, session.child.wait()).await;
    samples
}

/// Reads until `needle` shows; returns the bytes read past it. One read may carry the needle
/// and the start of what follows (READY plus the first 4091 bytes of a download), and those
/// bytes count: dropping them once made a byte-exact download look 4,091 bytes short.
async fn read_until<R: AsyncRead + Unpin>(reader: &mut R, needle: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(at) = seen.windows(needle.len()).position(|w| w == needle) {
            return seen.split_off(at + needle.len());
        }
        let n = tokio::time::timeout(PATIENCE, reader.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed while waiting for {needle:?}");
        seen.extend_from_slice(&buf[..n]);
    }
}

const INTERACTIVE: &str = "AWS-StartInteractiveCommand";
const NON_INTERACTIVE: &str = "AWS-StartNonInteractiveCommand";

fn pipe_connect(endpoint: &str, target: &str, document: &str, command: &str) -> Child {
    Command::new(GANGWAY)
        .args(["connect", target, "--document", document])
        .args(["--parameter", &format!("command={command}")])
        .envs(aws_env(endpoint))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn upload_command() -> String {
    format!("stty raw -echo; printf READY; head -c {TRANSFER_BYTES} >/dev/null; printf DONE")
}

/// On a pty (interactive) the line discipline must not touch the bytes. A NonInteractiveCommands
/// command has no shell (the agent splits it into words and execs them, §6.2.1), so the
/// script is handed to `sh -c` itself; its output arrives once it has exited.
fn download_command(document: &str) -> String {
    let script = format!("printf READY; head -c {TRANSFER_BYTES} /dev/zero");
    if document == INTERACTIVE {
        format!("stty raw -echo; {script}")
    } else {
        format!("sh -c '{script}'")
    }
}

/// Writes the bytes once READY shows, returns MiB/s until DONE.
async fn timed_upload<W, R>(mut input: W, mut output: R) -> f64
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    read_until(&mut output, b"READY").await;
    let data = vec![b'x'; TRANSFER_BYTES];
    let started = Instant::now();
    let writer = async {
        input.write_all(&data).await.unwrap();
        input.flush().await.unwrap();
        input
    };
    let (_input, _) = tokio::join!(writer, read_until(&mut output, b"DONE"));
    mib_per_s(TRANSFER_BYTES, started.elapsed())
}

/// MiB/s, or the number of bytes that never arrived (a loss is reported, not hidden).
async fn timed_download<R: AsyncRead + Unpin>(mut output: R) -> Result<f64, usize> {
    let already_read = read_until(&mut output, b"READY").await;
    let started = Instant::now();
    let mut total = already_read.len();
    let mut buf = vec![0u8; 1 << 16];
    while total < TRANSFER_BYTES {
        let n = output.read(&mut buf).await.unwrap();
        if n == 0 {
            return Err(TRANSFER_BYTES - total);
        }
        total += n;
    }
    Ok(mib_per_s(TRANSFER_BYTES, started.elapsed()))
}

fn rate_or_loss(result: Result<f64, usize>) -> String {
    match result {
        Ok(rate) => format!("{rate:.1} MiB/s"),
        Err(missing) => format!("FAILED: {missing} bytes missing at the end"),
    }
}

async fn upload(endpoint: &str, target: &str) -> f64 {
    let mut child = pipe_connect(endpoint, target, INTERACTIVE, &upload_command());
    let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let rate = timed_upload(stdin, stdout).await;
    let _ = tokio::time::timeout(PATIENCE, child.wait()).await;
    rate
}

async fn download(endpoint: &str, target: &str, document: &str) -> Result<f64, usize> {
    let mut child = pipe_connect(endpoint, target, document, &download_command(document));
    let rate = timed_download(child.stdout.take().unwrap()).await;
    let _ = tokio::time::timeout(PATIENCE, child.wait()).await;
    rate
}

async fn local_upload() -> f64 {
    let session =
        spawn_in_pty(pty_process::Command::new("/bin/sh").args(["-c", &upload_command()]));
    let (read, write) = session.pty.into_split();
    timed_upload(write, read).await
}

async fn local_download() -> Result<f64, usize> {
    let session = spawn_in_pty(
        pty_process::Command::new("/bin/sh").args(["-c", &download_command(INTERACTIVE)]),
    );
    let (read, _write) = session.pty.into_split();
    timed_download(read).await
}

/// Every data-channel frame is a 120-byte header (§2) and at most 1024 payload bytes (§5.3).
const FRAME_HEADER: usize = 120;
const FRAME_PAYLOAD: usize = 1024;

/// An acknowledge frame: the 120-byte header and its JSON payload (§3).
const ACK_BYTES: usize = 270;
/// Output messages the emulator's agent keeps unacknowledged at most (agent/task.rs).
const AGENT_WINDOW: usize = 128;

/// The transport's ceiling: the same bytes in binary websocket messages of the size of our
/// frames, from one task to another over loopback, with nothing else going on (no session,
/// no hashing, no process): payload MiB/s. With `window`, the receiver answers every message
/// with an ack-sized one and the sender waits for answers to keep at most `window` out.
async fn bare_websocket_stream(window: Option<usize>) -> f64 {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let messages = TRANSFER_BYTES / FRAME_PAYLOAD;
    let receiver = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let answer = vec![0u8; ACK_BYTES];
        let mut payload = 0;
        while payload < TRANSFER_BYTES {
            match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    payload += bytes.len() - FRAME_HEADER;
                    if window.is_some() {
                        socket.send(Message::binary(answer.clone())).await.unwrap();
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("bare websocket ended early: {other:?}"),
            }
        }
        Instant::now()
    });
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/"))
        .await
        .unwrap();
    let (mut sink, mut answers) = socket.split();
    let frame = vec![0u8; FRAME_HEADER + FRAME_PAYLOAD];
    let started = Instant::now();
    let mut answered = 0;
    for sent in 0..messages {
        if let Some(window) = window {
            while sent - answered >= window {
                sink.flush().await.unwrap();
                answers.next().await.unwrap().unwrap();
                answered += 1;
            }
        }
        sink.feed(Message::binary(frame.clone())).await.unwrap();
    }
    sink.flush().await.unwrap();
    let finished = receiver.await.unwrap();
    mib_per_s(TRANSFER_BYTES, finished - started)
}

// ---- statistics --------------------------------------------------------------------------

fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50)
}

fn percentile(samples: &[Duration], pct: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let index = (sorted.len() * pct / 100).min(sorted.len() - 1);
    sorted[index]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
}
