//! Load (issue 17, "Must show"): 200 honest sessions stream at once while 50 hostile clients
//! run the F1-F4 patterns against the same emulator, a `gangway emulator` child process on
//! loopback. Every honest session's bytes must arrive SHA-256 exact, the p99 keystroke echo of
//! a few honest shells must stay under 50 ms throughout, and the emulator's peak resident
//! memory (VmHWM) must stay under a bound. Ignored in the normal run (it takes 75-85 s
//! of both cores); run it with `cargo test --test it -- --ignored load:: --nocapture`.
//! `GANGWAY_LOAD_EMULATOR=PATH` runs another build as the emulator (a release one), and
//! `GANGWAY_LOAD_HOSTILE=N` sets the number of hostile connections (0: the honest load
//! alone), `GANGWAY_LOAD_ECHO_HOPS=1` times each echo hop by hop inside the emulator
//! (`src/emulator/agent/echo_hops.rs`). The figures it prints (with the emulator's and this
//! process's CPU time, and the echo of the same shells before the load, the ceiling) are
//! recorded in docs/PERFORMANCE.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::support::PATIENCE;
use crate::support::agent_client::{Client, dial, start_session};
use crate::support::aws_clients::{ADMIN, DEV, ssm_at};
use crate::support::emulator::{GANGWAY, spawn_program_with_env};
use crate::support::frames::input;
use crate::support::hostile::{
    after_first_message, form_post_head, masked_text_frame, megabyte_of_filters, open_data_channel,
    raw_exchange, raw_upgrade,
};

const INSTANCES: usize = 40;
const SESSIONS: usize = 200;
/// Per session; at the agent's real pace (1 MiB/s per session) a quarter of a second of
/// output each if the cores kept up, 50 MiB in all.
const BYTES_PER_SESSION: u64 = 256 * 1024;
/// Honest dials in flight at once. Each holds one of the emulator's 64 unauthenticated-socket
/// slots until its first frame is read, and the hostile clients below hold up to 6 more for
/// 10 s at a time: a fleet that dialled all 200 at the same instant would be refused (503)
/// by design, which is not what this test is about.
const OPENING_AT_ONCE: usize = 24;
/// The shells whose keystroke echo is timed while the load runs.
const ECHO_SHELLS: usize = 4;
const ECHO_BUDGET: Duration = Duration::from_millis(50);
/// Set from measurements (docs/PERFORMANCE.md): 66-94 MiB peak with the honest load alone,
/// 224-267 MiB with the hostile clients too (F3's held far-ahead input and 1 MiB messages)
/// when every session shared one runtime, 304-386 MiB since each session has a thread of
/// its own (glibc gives threads arenas of their own, which keep what F3's sessions freed
/// apart from one another).
const PEAK_RSS_BOUND_KIB: u64 = 512 * 1024;

/// The echo samples each echo shell takes before the load starts: the ceiling beside the
/// figure under load, measured in the same run on the same machine.
const IDLE_SAMPLES: usize = 25;

/// One echo under load: how long it took, and when (wall-clock ns) the key was sent and its
/// echo received, to line up with the emulator's per-hop stamps (`GANGWAY_LOAD_ECHO_HOPS`).
#[derive(Clone, Copy)]
struct Echo {
    took: Duration,
    sent_ns: u64,
    received_ns: u64,
}

fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// With `GANGWAY_LOAD_ECHO_HOPS=1` the emulator stamps each echo's hops
/// (`src/emulator/agent/echo_hops.rs`) into this file, and the test reports where the time
/// went.
fn echo_hops_file() -> Option<std::path::PathBuf> {
    std::env::var_os("GANGWAY_LOAD_ECHO_HOPS")
        .map(|_| std::env::temp_dir().join(format!("gangway-echo-hops-{}.txt", std::process::id())))
}

const HOP_NAMES: [&str; 6] = [
    "client send -> socket wake",
    "socket wake -> frame read",
    "frame read -> PTY write",
    "PTY write -> PTY read",
    "PTY read -> frame flushed",
    "frame flushed -> client receipt",
];

/// Lines the emulator's stamps up with the echoes (same session, frame read between the
/// send and the receipt) and prints each hop's mean and share, for every echo and for the
/// slowest 1 % (those at or over the p99).
fn report_hops(path: &std::path::Path, shells: &[(String, Vec<Echo>)]) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let stamps: Vec<(&str, [u64; 5])> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let session = fields.next()?;
            let mut times = [0u64; 5];
            for time in &mut times {
                *time = fields.next()?.parse().ok()?;
            }
            Some((session, times))
        })
        .collect();
    let mut rows: Vec<(Duration, [f64; 6])> = Vec::new();
    for (session, echoes) in shells {
        for echo in echoes {
            let Some((_, times)) = stamps
                .iter()
                .find(|(s, t)| s == session && t[1] >= echo.sent_ns && t[1] <= echo.received_ns)
            else {
                continue;
            };
            // A frame read without a wake (already there) counts as woken at the send.
            let mut points = vec![echo.sent_ns];
            points.extend(times.iter().copied());
            points.push(echo.received_ns);
            for i in 1..points.len() {
                points[i] = points[i].max(points[i - 1]);
            }
            let mut hops = [0f64; 6];
            for (i, hop) in hops.iter_mut().enumerate() {
                *hop = (points[i + 1] - points[i]) as f64 / 1e6;
            }
            rows.push((echo.took, hops));
        }
    }
    let total: usize = shells.iter().map(|(_, e)| e.len()).sum();
    eprintln!("load: echo hops: {} of {total} echoes lined up", rows.len());
    if rows.is_empty() {
        return;
    }
    rows.sort_by_key(|(took, _)| *took);
    let slowest = &rows[((rows.len() as f64 * 0.99) as usize).min(rows.len() - 1)..];
    for (name, set) in [("all", &rows[..]), ("slowest 1 %", slowest)] {
        let mut sums = [0f64; 6];
        for (_, hops) in set {
            for (sum, hop) in sums.iter_mut().zip(hops) {
                *sum += hop;
            }
        }
        let whole: f64 = sums.iter().sum();
        let parts: Vec<String> = HOP_NAMES
            .iter()
            .zip(sums)
            .map(|(hop, sum)| {
                format!(
                    "{hop} {:.1} ms ({:.0}%)",
                    sum / set.len() as f64,
                    100.0 * sum / whole.max(f64::MIN_POSITIVE)
                )
            })
            .collect();
        eprintln!(
            "load: echo hops, {name} ({} echoes, mean {:.1} ms): {}",
            set.len(),
            whole / set.len() as f64,
            parts.join("; ")
        );
    }
}

/// The `gangway` binary that serves as the emulator: `GANGWAY_LOAD_EMULATOR` names another
/// build (e.g. `target/release/gangway`), so the debug-built test can measure a release
/// emulator; by default the test's own build.
fn emulator_program() -> String {
    std::env::var("GANGWAY_LOAD_EMULATOR").unwrap_or_else(|_| GANGWAY.to_string())
}

/// How many hostile connections run beside the honest load: `GANGWAY_LOAD_HOSTILE`
/// (0 gives the honest load alone, for context), 50 by default.
fn hostile_connections() -> usize {
    std::env::var("GANGWAY_LOAD_HOSTILE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}

/// CPU time (user + system, and that of reaped children) a process has used, from
/// `/proc/PID/stat`, in seconds (USER_HZ is 100 on Linux).
fn cpu_seconds(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<u64> = stat[stat.rfind(')').unwrap() + 2..]
        .split(' ')
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime, stime, cutime, cstime are fields 14-17 of stat(5); here 11-14 from 0.
    let own = (fields[11] + fields[12]) as f64 / 100.0;
    let children = (fields[13] + fields[14]) as f64 / 100.0;
    (own, children)
}

/// CPU seconds per thread name of a process (tokio workers, the pacer, the blocking pool).
fn cpu_by_thread(pid: u32) -> Vec<(String, f64)> {
    let mut by_name: std::collections::BTreeMap<String, f64> = Default::default();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let tid = entry.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
            continue;
        };
        let name = stat[stat.find('(').unwrap() + 1..stat.rfind(')').unwrap()].to_string();
        *by_name.entry(name).or_default() += cpu_seconds(&format!("{pid}/task/{tid}")).0;
    }
    let mut threads: Vec<(String, f64)> = by_name.into_iter().collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    threads
}

/// The connectable `Env=dev` instances of the generated fleet the child serves.
fn dev_instances() -> Vec<String> {
    gangway::emulator::Fleet::generated(INSTANCES)
        .instances
        .into_iter()
        .filter(|i| i.is_connectable() && i.tags.get("Env").map(String::as_str) == Some("dev"))
        .map(|i| i.id)
        .collect()
}

/// SHA-256 of what `seq FIRST 100000000 | head -c LIMIT` prints.
fn seq_digest(first: u64, limit: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut number = first;
    while written < limit {
        let line = format!("{number}\n");
        let take = (limit - written).min(line.len() as u64) as usize;
        hasher.update(&line.as_bytes()[..take]);
        written += take as u64;
        number += 1;
    }
    hasher.finalize().into()
}

/// `VmHWM` (peak resident set) or `VmRSS` of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One honest session: opens (at most `OPENING_AT_ONCE` at a time), then receives its
/// stream, hashing as it goes; returns the SHA-256 of what arrived and how long it took.
async fn honest_stream(
    endpoint: String,
    target: String,
    index: u64,
    opening: Arc<Semaphore>,
) -> ([u8; 32], Duration) {
    let dev = ssm_at(&endpoint, DEV);
    let started_at = Instant::now();
    let permit = opening.acquire_owned().await.unwrap();
    // Raw mode so the PTY passes the bytes unchanged (no \n -> \r\n); a different start per
    // session so that no two streams are the same bytes.
    let first = 1 + index * 1000;
    let command = format!("stty raw -echo; seq {first} 100000000 | head -c {BYTES_PER_SESSION}");
    let started = start_session(
        &dev,
        &target,
        Some("AWS-StartInteractiveCommand"),
        Some(&command),
    )
    .await;
    let mut client = Client::open(dev, started).await;
    let hasher = Arc::new(std::sync::Mutex::new(Sha256::new()));
    let sink = Arc::clone(&hasher);
    client.sink = Some(Box::new(move |bytes| sink.lock().unwrap().update(bytes)));
    client.pump_until(PATIENCE, |c| c.received_bytes > 0).await;
    drop(permit);
    client
        .pump_until(Duration::from_secs(300), |c| {
            c.received_bytes >= BYTES_PER_SESSION
        })
        .await;
    assert_eq!(client.until_closed(PATIENCE).await, "", "session {index}");
    assert_eq!(client.received_bytes, BYTES_PER_SESSION, "session {index}");
    let digest = hasher.lock().unwrap().clone().finalize().into();
    (digest, started_at.elapsed())
}

/// An honest shell (`cat` on a raw PTY) that times the echo of one keystroke at a time, every
/// 20 ms: [`IDLE_SAMPLES`] before it says it is ready (the load has not started), then until
/// `done`. Runs on a thread and runtime of its own: what is timed is the emulator's answer,
/// not this test's own 200 clients queueing ahead of it on theirs. Returns the idle samples
/// and those under load.
fn echo_shell(
    endpoint: String,
    target: String,
    ready: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Vec<Duration>, String, Vec<Echo>)> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let dev = ssm_at(&endpoint, DEV);
            let command = "stty raw -echo; printf READY; cat";
            let started = start_session(
                &dev,
                &target,
                Some("AWS-StartInteractiveCommand"),
                Some(command),
            )
            .await;
            let session_id = started.session_id.clone();
            let mut client = Client::open(dev, started).await;
            // Nothing may be sent before the first output (protocol.md §4.1).
            client.until_stdout_contains("READY").await;
            let mut idle = Vec::new();
            while idle.len() < IDLE_SAMPLES {
                idle.push(echo_once(&mut client, idle.len()).await.took);
            }
            ready.fetch_add(1, Ordering::SeqCst);
            let mut samples = Vec::new();
            // Bounded: 20 ms apart, at most 10,000 (over 3 minutes).
            while !done.load(Ordering::SeqCst) && samples.len() < 10_000 {
                samples.push(echo_once(&mut client, samples.len()).await);
            }
            (idle, session_id, samples)
        })
    })
}

/// Types one key, times its echo, then waits 20 ms.
async fn echo_once(client: &mut Client, count: usize) -> Echo {
    let key = b'a' + (count % 26) as u8;
    let expected = client.stdout.len() + 1;
    let sent = Instant::now();
    let sent_ns = wall_ns();
    client.send(&[key]);
    client
        .pump_until(PATIENCE, |c| c.stdout.len() >= expected)
        .await;
    let echo = Echo {
        took: sent.elapsed(),
        sent_ns,
        received_ns: wall_ns(),
    };
    assert_eq!(client.stdout.last(), Some(&key), "echo differs");
    tokio::time::sleep(Duration::from_millis(20)).await;
    echo
}

/// What the hostile clients got through to, for the report.
#[derive(Default)]
struct HostileCounts {
    f1_filter_limit: AtomicUsize,
    f2_timed_out: AtomicUsize,
    f3_sessions: AtomicUsize,
    f4_oversized_refused: AtomicUsize,
    f4_silent_closed: AtomicUsize,
}

/// Loops one hostile pattern until `done` (and at most 30 rounds), asserting each time that
/// the emulator refused it the way it should. A round starts at most once a second per
/// connection: unpaced, ten F3 loops alone pushed ~3 GiB of far-ahead frames through the 2
/// cores, and what the test then measured was the CPU the attackers (in this very process)
/// took, not whether the emulator keeps its honest sessions apart from them.
async fn hostile(
    pattern: usize,
    endpoint: String,
    target: String,
    done: Arc<AtomicBool>,
    counts: Arc<HostileCounts>,
) {
    let addr: std::net::SocketAddr = endpoint.strip_prefix("http://").unwrap().parse().unwrap();
    let nobody =
        format!("ws://{addr}/v1/data-channel/nobody-0123456789abcdef0?role=publish_subscribe");
    let (filters, _) = megabyte_of_filters();
    let admin = ssm_at(&endpoint, ADMIN);
    let mut rounds = 0;
    while !done.load(Ordering::SeqCst) && rounds < 30 {
        rounds += 1;
        let next_round = tokio::time::Instant::now() + Duration::from_secs(1);
        match pattern {
            // F1: a 1 MiB body of filters, answered with FilterLimitExceeded.
            0 => {
                let head = form_post_head(addr, filters.len(), true);
                let answer = raw_exchange(addr, &head, filters.as_bytes()).await;
                assert!(
                    answer.contains("<Code>FilterLimitExceeded</Code>"),
                    "F1: {}",
                    &answer[..answer.len().min(300)]
                );
                counts.f1_filter_limit.fetch_add(1, Ordering::SeqCst);
            }
            // F2: a body trickled a byte every 500 ms, cut off at the 10 s body deadline.
            1 => {
                let stream = TcpStream::connect(addr).await.unwrap();
                let (mut read, mut write) = stream.into_split();
                let head = form_post_head(addr, 1000, false);
                write.write_all(head.as_bytes()).await.unwrap();
                let trickle = tokio::spawn(async move {
                    for _ in 0..1000 {
                        if write.write_all(b"A").await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                });
                let mut answer = Vec::new();
                tokio::time::timeout(PATIENCE, read.read_to_end(&mut answer))
                    .await
                    .expect("F2: the trickle is cut off")
                    .unwrap();
                trickle.abort();
                let answer = String::from_utf8_lossy(&answer);
                assert!(answer.starts_with("HTTP/1.1 408"), "F2: {answer}");
                counts.f2_timed_out.fetch_add(1, Ordering::SeqCst);
            }
            // F3: an authenticated session sent 300 × 32 KiB far ahead of its sequence, a
            // frame a million ahead, then a 1 MiB message that must fail the socket.
            2 => {
                let started = start_session(&admin, &target, None, None).await;
                let mut socket = dial(&started.stream_url, &started.token).await;
                let chunk = vec![b'x'; 32 << 10];
                for seq in 2..=301 {
                    if socket
                        .send(Message::Binary(input(seq, &chunk).into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                let _ = socket
                    .send(Message::Binary(input(1_000_000, b"far").into()))
                    .await;
                let _ = socket
                    .send(Message::Binary(input(302, &vec![b'y'; 1 << 20]).into()))
                    .await;
                drop(socket);
                admin
                    .terminate_session()
                    .session_id(&started.session_id)
                    .send()
                    .await
                    .unwrap();
                counts.f3_sessions.fetch_add(1, Ordering::SeqCst);
            }
            // F4: a 64 KiB first message, refused.
            3 => match raw_upgrade(&nobody).await {
                Ok(mut stream) => {
                    let big = open_data_channel("no-such-token", 64 << 10);
                    let _ = stream.write_all(&masked_text_frame(&big)).await;
                    assert_eq!(after_first_message(stream).await, Some(false), "F4 big");
                    counts.f4_oversized_refused.fetch_add(1, Ordering::SeqCst);
                }
                Err(head) => assert!(head.starts_with("HTTP/1.1 503"), "F4: {head}"),
            },
            // F4: a socket that never sends its token, closed at the 10 s open deadline.
            _ => match raw_upgrade(&nobody).await {
                Ok(stream) => {
                    assert_eq!(after_first_message(stream).await, Some(false), "F4 silent");
                    counts.f4_silent_closed.fetch_add(1, Ordering::SeqCst);
                }
                Err(head) => assert!(head.starts_with("HTTP/1.1 503"), "F4: {head}"),
            },
        }
        tokio::time::sleep_until(next_round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test, about 80 s of both cores: cargo test --test it -- --ignored load:: --nocapture"]
async fn two_hundred_sessions_stream_exact_and_echo_fast_under_hostile_clients() {
    let pty_max: usize = std::fs::read_to_string("/proc/sys/kernel/pty/max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        pty_max >= 2 * SESSIONS,
        "only {pty_max} PTYs on this machine"
    );
    let program = emulator_program();
    let hops_file = echo_hops_file();
    let hops_env = hops_file
        .as_ref()
        .map(|path| ("GANGWAY_ECHO_HOPS", path.to_str().unwrap()));
    let emulator = spawn_program_with_env(
        &program,
        &["--instances", &INSTANCES.to_string()],
        hops_env.as_slice(),
        std::process::Stdio::null(),
    );
    let pid = emulator.pid();
    let endpoint = emulator.endpoint.clone();
    let targets = dev_instances();
    assert!(targets.len() >= 4, "{} dev instances", targets.len());
    let idle_rss = status_kib(pid, "VmRSS:");

    let done = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicUsize::new(0));
    let echoes: Vec<_> = (0..ECHO_SHELLS)
        .map(|i| {
            echo_shell(
                endpoint.clone(),
                targets[i % targets.len()].clone(),
                Arc::clone(&ready),
                Arc::clone(&done),
            )
        })
        .collect();
    crate::support::eventually(PATIENCE, "the echo shells", || {
        ready.load(Ordering::SeqCst) == ECHO_SHELLS
    })
    .await;

    let counts = Arc::new(HostileCounts::default());
    let hostile_count = hostile_connections();
    let hostiles: Vec<_> = (0..hostile_count)
        .map(|i| {
            tokio::spawn(hostile(
                i % 5,
                endpoint.clone(),
                targets[i % targets.len()].clone(),
                Arc::clone(&done),
                Arc::clone(&counts),
            ))
        })
        .collect();

    let cpu_before = (cpu_seconds(&pid.to_string()), cpu_seconds("self"));
    let load_started = Instant::now();
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let honest: Vec<_> = (0..SESSIONS as u64)
        .map(|index| {
            tokio::spawn(honest_stream(
                endpoint.clone(),
                targets[index as usize % targets.len()].clone(),
                index,
                Arc::clone(&opening),
            ))
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in honest {
        outcomes.push(task.await.unwrap());
    }
    let load_time = load_started.elapsed();
    let peak_rss = status_kib(pid, "VmHWM:");
    let cpu_after = (cpu_seconds(&pid.to_string()), cpu_seconds("self"));
    let emulator_threads = cpu_by_thread(pid);
    done.store(true, Ordering::SeqCst);

    let expected: Vec<[u8; 32]> = tokio::task::spawn_blocking(|| {
        (0..SESSIONS as u64)
            .map(|index| seq_digest(1 + index * 1000, BYTES_PER_SESSION))
            .collect()
    })
    .await
    .unwrap();
    for (index, ((digest, _), expected)) in outcomes.iter().zip(&expected).enumerate() {
        assert_eq!(digest, expected, "session {index}: SHA-256 differs");
    }
    let mut session_times: Vec<Duration> = outcomes.iter().map(|(_, t)| *t).collect();
    session_times.sort();

    let (mut idle, mut samples): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    let mut shells = Vec::new();
    for echo in echoes {
        let (shell_idle, session_id, shell_loaded) = echo.join().unwrap();
        idle.extend(shell_idle);
        samples.extend(shell_loaded.iter().map(|echo| echo.took));
        shells.push((session_id, shell_loaded));
    }
    idle.sort();
    samples.sort();
    // A hostile round that was not refused as it should be fails the test, but after the
    // figures are printed: they say what the machine was doing meanwhile.
    let mut hostile_failures = 0;
    for task in hostiles {
        hostile_failures += usize::from(task.await.is_err());
    }
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap();
    let total_mib = (SESSIONS as u64 * BYTES_PER_SESSION) as f64 / (1 << 20) as f64;
    eprintln!(
        "load: {SESSIONS} sessions × {} KiB = {total_mib:.0} MiB SHA-256 exact in {:.1} s \
         ({:.1} MiB/s); per session p50 {:.1} s, max {:.1} s",
        BYTES_PER_SESSION / 1024,
        load_time.as_secs_f64(),
        total_mib / load_time.as_secs_f64(),
        percentile(&session_times, 0.5).as_secs_f64(),
        percentile(&session_times, 1.0).as_secs_f64(),
    );
    eprintln!(
        "load: echo over {} keystrokes on {ECHO_SHELLS} shells: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        percentile(&samples, 1.0).as_secs_f64() * 1e3,
    );
    eprintln!(
        "load: echo before the load (the ceiling, same run) over {} keystrokes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        idle.len(),
        percentile(&idle, 0.5).as_secs_f64() * 1e3,
        percentile(&idle, 0.99).as_secs_f64() * 1e3,
        percentile(&idle, 1.0).as_secs_f64() * 1e3,
    );
    let seconds = load_time.as_secs_f64();
    eprintln!(
        "load: CPU during the load ({seconds:.1} s wall): emulator {:.1} s ({:.0}% of a core), its \
         reaped children {:.1} s; this test process {:.1} s ({:.0}%)",
        cpu_after.0.0 - cpu_before.0.0,
        100.0 * (cpu_after.0.0 - cpu_before.0.0) / seconds,
        cpu_after.0.1 - cpu_before.0.1,
        cpu_after.1.0 - cpu_before.1.0,
        100.0 * (cpu_after.1.0 - cpu_before.1.0) / seconds,
    );
    let top: Vec<String> = emulator_threads
        .iter()
        .take(6)
        .map(|(name, cpu)| format!("{name} {cpu:.1} s"))
        .collect();
    eprintln!(
        "load: emulator {program}, {hostile_count} hostile connections; CPU by thread since start: {}",
        top.join(", ")
    );
    eprintln!(
        "load: hostile: F1 {} FilterLimitExceeded, F2 {} trickles cut off (408), F3 {} far-ahead sessions, \
         F4 {} oversized refused + {} silent sockets closed",
        counts.f1_filter_limit.load(Ordering::SeqCst),
        counts.f2_timed_out.load(Ordering::SeqCst),
        counts.f3_sessions.load(Ordering::SeqCst),
        counts.f4_oversized_refused.load(Ordering::SeqCst),
        counts.f4_silent_closed.load(Ordering::SeqCst),
    );
    eprintln!(
        "load: emulator VmRSS idle {} KiB, VmHWM after the load {} KiB ({:.1} MiB); loadavg {}",
        idle_rss,
        peak_rss,
        peak_rss as f64 / 1024.0,
        loadavg.trim()
    );
    if let Some(path) = &hops_file {
        report_hops(path, &shells);
        let _ = std::fs::remove_file(path);
    }
    assert!(
        peak_rss < PEAK_RSS_BOUND_KIB,
        "the emulator peaked at {peak_rss} KiB resident"
    );
    assert_eq!(
        hostile_failures, 0,
        "hostile rounds not refused as expected"
    );
    if hostile_count >= 5 {
        assert!(counts.f1_filter_limit.load(Ordering::SeqCst) > 0);
        assert!(counts.f3_sessions.load(Ordering::SeqCst) > 0);
        assert!(counts.f4_oversized_refused.load(Ordering::SeqCst) > 0);
    }
    // Last, so that a slow machine's failure here does not hide the checks above. On the
    // shared 2-core machine of docs/PERFORMANCE.md this fails (p99 0.7-2 s with no hostile
    // client at all, at load averages of 15-40 from other builds, where even the idle echo's
    // p99 is 25-65 ms): the figures are recorded there.
    assert!(samples.len() >= 100, "only {} echo samples", samples.len());
    let p99 = percentile(&samples, 0.99);
    assert!(p99 < ECHO_BUDGET, "p99 echo {p99:?} over {ECHO_BUDGET:?}");
}
