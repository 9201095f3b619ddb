//! Issue 12's benchmark: `gangway forward` and `gangway cp` against a spawned `gangway
//! emulator` on loopback with the agent's real pace (1 KiB then 1 ms per read, protocol.md
//! §0 item 16), every figure beside a ceiling measured in the same round:
//!
//! | figure | ceiling |
//! |---|---|
//! | one forwarded connection up | the same bytes over a bare loopback websocket with the protocol's frames and acks (`ceilings.rs`) |
//! | one connection down | the agent's pace for one port session, read by a bare protocol client at the same time |
//! | 16 connections over 1 session | the agent's pace for one session (bare client), at the same time |
//! | 16 connections over `--sessions 4`, `--sessions 8` | N × one connection through a one-session tunnel, at the same time; and N bare clients, at the same time |
//! | connection setup + 1-byte round trip through the mux | the same on a direct loopback connection |
//! | `gangway cp` up, 64 MiB | the bare websocket |
//! | `gangway cp` down, `--sessions 8`, 64 MiB | 8 × the agent's pace for one shell session (pty), and 6 × the reference client's 0.66 MiB/s |
//!
//! Run: `cargo bench --bench forward` (release). `GANGWAY_BENCH_ROUNDS` (default 3) rounds,
//! each printed as it ends; then the medians with their ratios and the targets, as Markdown.
//! `GANGWAY_BENCH_SKIP_CP=1` leaves out the two cp rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ceilings;
mod copy;
#[path = "../common/emulator.rs"]
mod emulator;
#[path = "../common/runtime.rs"]
mod runtime;
mod server;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use ceilings::Down;
use emulator::GANGWAY;

const INSTANCE: &str = "i-0b0b0b0b0b0b0b0b1";
const PORT: u16 = 9000;
const UPLOAD_BYTES: u64 = 32 << 20;
/// Upload and ceiling, alternated this many times per round.
const UP_PAIRS: usize = 5;
/// What one session carries downwards in every download row: 4.3 s at ~0.95 MiB/s.
const PER_SESSION_DOWN: u64 = 4 << 20;
const PARALLEL: usize = 16;
const SETUP_RUNS: usize = 21;
const COPY_BYTES: usize = 64 << 20;
/// The reference client's rate through the real agent, both ways (issue 12).
const REFERENCE_MIB_S: f64 = 0.66;

fn main() {
    runtime::block_on(run());
}

/// One row's measurements in one round: gangway's figure and its ceiling (both MiB/s, or ms
/// for latency).
#[derive(Clone, Copy, Default)]
struct Pair {
    gangway: f64,
    ceiling: f64,
}

#[derive(Default)]
struct Round {
    up: Pair,
    down: Pair,
    /// `sessions` → 16 connections down over that many sessions; ceiling N × one-connection.
    parallel: Vec<(u16, Pair)>,
    /// `sessions` → what N bare clients got from N sessions at once (MiB/s, all together),
    /// and the CPU the tunnel and the emulator used during gangway's N-session row.
    parallel_detail: Vec<(u16, f64, Cpu)>,
    setup: Pair,
    cp_up: Option<Pair>,
    cp_down: Option<Pair>,
    load: String,
}

async fn run() {
    let rounds: usize = std::env::var("GANGWAY_BENCH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(3);
    let with_cp = std::env::var_os("GANGWAY_BENCH_SKIP_CP").is_none();
    let server = server::serve().await;
    let home = std::env::temp_dir().join(format!("gangway-bench-forward-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let fleet = home.join("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[[instances]]\nid = \"{INSTANCE}\"\nports = {{ \"{PORT}\" = \"{server}\" }}\n"),
    )
    .unwrap();
    // The agent's real pace (the default): the download rows claim what AWS allows.
    let (emulator, endpoint) = emulator::spawn(&["--fleet", fleet.to_str().unwrap()]).await;
    let emulator_pid = emulator.id().unwrap();
    let source = home.join("source.bin");
    let sha256 = with_cp.then(|| copy::make_file(&source, COPY_BYTES));

    let mut all = Vec::new();
    for number in 1..=rounds {
        let mut round = Round {
            load: load_average(),
            ..Round::default()
        };
        let started = chrono_now();

        let one = Forward::start(&endpoint, &home, 1).await;
        // Uploads are bound by the CPU, which the other work on the machine takes in bursts:
        // the ceiling and the figure alternate, UP_PAIRS times, and each is the median.
        let mut ups = Vec::new();
        let mut bares = Vec::new();
        for _ in 0..UP_PAIRS {
            let bare = ceilings::bare_websocket_up(UPLOAD_BYTES).await;
            bares.push(mib_per_s(UPLOAD_BYTES, bare));
            let took = server::upload(one.local, UPLOAD_BYTES).await;
            ups.push(mib_per_s(UPLOAD_BYTES, took));
        }
        round.up = Pair {
            gangway: median(ups),
            ceiling: median(bares),
        };
        one.settle().await;
        // Every download figure is taken at the same moment as its ceiling: on a shared
        // machine the agent's pace follows the load from one second to the next, so a
        // ceiling measured before or after says little about the figure beside it.
        let (took, ceiling) = tokio::join!(
            server::download(one.local, PER_SESSION_DOWN),
            ceilings::agent_pace_down(&endpoint, INSTANCE, Down::Port(PORT), PER_SESSION_DOWN),
        );
        round.down = Pair {
            gangway: mib_per_s(PER_SESSION_DOWN, took),
            ceiling: mib_per_s(PER_SESSION_DOWN, ceiling),
        };
        one.settle().await;
        let ((took, cpu), bare) =
            tokio::join!(parallel(&one, emulator_pid, 1), bare_sessions(&endpoint, 1));
        one.settle().await;
        round.parallel.push((
            1,
            Pair {
                gangway: mib_per_s(PER_SESSION_DOWN, took),
                ceiling: bare,
            },
        ));
        round.parallel_detail.push((1, bare, cpu));
        round.setup = Pair {
            gangway: ms(server::setup_latency(one.local, SETUP_RUNS).await),
            ceiling: ms(server::setup_latency(server, SETUP_RUNS).await),
        };
        for sessions in [4u16, 8] {
            let tunnel = Forward::start(&endpoint, &home, sessions).await;
            // Open every session (lazily, as connections come) before timing.
            server::parallel_download(tunnel.local, PARALLEL, 64 << 10).await;
            tunnel.wait_sessions(sessions.into()).await;
            tunnel.settle().await;
            // N sessions, one session through the one-session tunnel, and N bare clients, all
            // at once: "N × one" is N × what one session carried in the same seconds.
            let ((took, cpu), one_took, bare) = tokio::join!(
                parallel(&tunnel, emulator_pid, sessions),
                server::download(one.local, PER_SESSION_DOWN),
                bare_sessions(&endpoint, sessions),
            );
            tunnel.settle().await;
            one.settle().await;
            let pair = Pair {
                gangway: mib_per_s(PER_SESSION_DOWN * u64::from(sessions), took),
                ceiling: f64::from(sessions) * mib_per_s(PER_SESSION_DOWN, one_took),
            };
            round.parallel.push((sessions, pair));
            round.parallel_detail.push((sessions, bare, cpu));
        }
        drop(one);

        if let Some(sha256) = &sha256 {
            // The ceiling just before and just after the copy, averaged.
            let before = ceilings::bare_websocket_up(COPY_BYTES as u64).await;
            // A new remote name every round: cp leaves a file that is already there with the
            // same SHA-256 alone, which would time a checksum, not a copy.
            let remote = home.join(format!("remote-{number}.bin"));
            let took = copy::up(&endpoint, &home, &source, &remote).await;
            let after = ceilings::bare_websocket_up(COPY_BYTES as u64).await;
            round.cp_up = Some(Pair {
                gangway: mib_per_s(COPY_BYTES as u64, took),
                ceiling: (mib_per_s(COPY_BYTES as u64, before)
                    + mib_per_s(COPY_BYTES as u64, after))
                    / 2.0,
            });
            let took = copy::down(&endpoint, &home, &remote, 8, sha256).await;
            let pty =
                ceilings::agent_pace_down(&endpoint, INSTANCE, Down::Pty, PER_SESSION_DOWN).await;
            round.cp_down = Some(Pair {
                gangway: mib_per_s(COPY_BYTES as u64, took),
                ceiling: mib_per_s(PER_SESSION_DOWN, pty),
            });
        }
        print_round(number, &started, &round);
        all.push(round);
    }
    print_medians(&all);
    let _ = std::fs::remove_dir_all(&home);
}

/// 16 connections down over the tunnel's `sessions`, each session carrying
/// [`PER_SESSION_DOWN`]: the time until the last is done, and the CPU used meanwhile.
async fn parallel(tunnel: &Forward, emulator: u32, sessions: u16) -> (Duration, Cpu) {
    let total = PER_SESSION_DOWN * u64::from(sessions);
    let before = (cpu_seconds(tunnel.pid), cpu_seconds(emulator));
    let took = server::parallel_download(tunnel.local, PARALLEL, total / PARALLEL as u64).await;
    let cpu = Cpu {
        client: cpu_seconds(tunnel.pid) - before.0,
        emulator: cpu_seconds(emulator) - before.1,
        wall: took.as_secs_f64(),
    };
    (took, cpu)
}

/// N sessions read at once by N bare protocol clients, each [`PER_SESSION_DOWN`]: what the
/// emulator (and this machine) deliver for N sessions with no tunnel in the way. MiB/s, all
/// together, until the last one is done.
async fn bare_sessions(endpoint: &str, sessions: u16) -> f64 {
    let readers: Vec<_> = (0..sessions)
        .map(|_| {
            let endpoint = endpoint.to_owned();
            tokio::spawn(async move {
                ceilings::agent_pace_down(&endpoint, INSTANCE, Down::Port(PORT), PER_SESSION_DOWN)
                    .await
            })
        })
        .collect();
    // Each reader times itself from its stream's start (StartSession and the handshake are
    // outside, as gangway's sessions are open before its row is timed); the set takes as long
    // as the slowest.
    let mut slowest = Duration::ZERO;
    for reader in readers {
        slowest = slowest.max(reader.await.unwrap());
    }
    mib_per_s(PER_SESSION_DOWN * u64::from(sessions), slowest)
}

/// CPU seconds (user + system) a process used during a row, and the row's wall time.
#[derive(Clone, Copy, Default)]
struct Cpu {
    client: f64,
    emulator: f64,
    wall: f64,
}

fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state; 100 ticks a second.
    (ticks(11) + ticks(12)) / 100.0
}

// ---- output ------------------------------------------------------------------------------

fn print_round(number: usize, started: &str, round: &Round) {
    println!(
        "round {number} (started {started} UTC, load average {}):",
        round.load
    );
    let line = |what: &str, pair: &Pair, unit: &str| {
        println!(
            "  {what}: {:.2} {unit}, ceiling {:.2} {unit}, ratio {:.3}",
            pair.gangway,
            pair.ceiling,
            pair.gangway / pair.ceiling
        );
    };
    line("one connection up", &round.up, "MiB/s");
    line("one connection down", &round.down, "MiB/s");
    for (sessions, pair) in &round.parallel {
        line(
            &format!("16 connections over {sessions} session(s)"),
            pair,
            "MiB/s",
        );
    }
    for (sessions, bare, cpu) in &round.parallel_detail {
        println!(
            "  {sessions} session(s): {bare:.2} MiB/s for {sessions} bare clients in the same seconds; during gangway's row ({:.2} s) its tunnel used {:.2} s of CPU, the emulator (every session then) {:.2} s",
            cpu.wall, cpu.client, cpu.emulator
        );
    }
    line("connection setup", &round.setup, "ms");
    if let Some(pair) = &round.cp_up {
        line("cp up", pair, "MiB/s");
    }
    if let Some(pair) = &round.cp_down {
        line(
            "cp down --sessions 8 (ceiling: one pty session)",
            pair,
            "MiB/s",
        );
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn print_medians(rounds: &[Round]) {
    let pick = |get: &dyn Fn(&Round) -> Option<Pair>| -> Option<(Pair, String)> {
        let pairs: Vec<Pair> = rounds.iter().filter_map(get).collect();
        if pairs.is_empty() {
            return None;
        }
        let ratios: Vec<String> = pairs
            .iter()
            .map(|pair| format!("{:.2}", pair.gangway / pair.ceiling))
            .collect();
        Some((
            Pair {
                gangway: median(pairs.iter().map(|pair| pair.gangway).collect()),
                ceiling: median(pairs.iter().map(|pair| pair.ceiling).collect()),
            },
            ratios.join(" / "),
        ))
    };
    let ratio = |get: &dyn Fn(&Round) -> Option<Pair>| -> f64 {
        median(
            rounds
                .iter()
                .filter_map(get)
                .map(|pair| pair.gangway / pair.ceiling)
                .collect(),
        )
    };
    let verdict = |met: bool| if met { "met" } else { "**not met**" };
    println!();
    println!("Medians of {} rounds (release build):", rounds.len());
    println!();
    println!("| measure | gangway | ceiling (same round) | ratio (median; per round) | target |");
    println!("|---|---|---|---|---|");

    let up = |round: &Round| Some(round.up);
    let (pair, per) = pick(&up).unwrap();
    let r = ratio(&up);
    println!(
        "| forward, one connection up, {} MiB (median of {UP_PAIRS}, alternating with the ceiling) | {:.1} MiB/s | {:.1} MiB/s: bare loopback websocket, proto frames + acks, window 512 | {r:.2}; {per} | ≥ 50 MiB/s and ≥ 0.60: {} |",
        UPLOAD_BYTES >> 20,
        pair.gangway,
        pair.ceiling,
        verdict(pair.gangway >= 50.0 && r >= 0.6)
    );
    let down = |round: &Round| Some(round.down);
    let (pair, per) = pick(&down).unwrap();
    let r = ratio(&down);
    println!(
        "| forward, one connection down, {} MiB | {:.3} MiB/s | {:.3} MiB/s: the agent's pace, one port session, bare protocol client, same seconds | {r:.3}; {per} | ≥ 0.95: {} |",
        PER_SESSION_DOWN >> 20,
        pair.gangway,
        pair.ceiling,
        verdict(r >= 0.95)
    );
    for index in 0..rounds[0].parallel.len() {
        let sessions = rounds[0].parallel[index].0;
        let get = move |round: &Round| Some(round.parallel[index].1);
        let (pair, per) = pick(&get).unwrap();
        let r = ratio(&get);
        let target = if sessions == 1 {
            format!("≥ 0.95: {}", verdict(r >= 0.95))
        } else {
            format!("≥ 0.90: {}", verdict(r >= 0.9))
        };
        let ceiling = if sessions == 1 {
            "the agent's pace, one session, bare client, same seconds".to_owned()
        } else {
            format!("{sessions} × one connection through a one-session tunnel, same seconds")
        };
        println!(
            "| forward, {PARALLEL} connections down over {}, {} MiB | {:.3} MiB/s | {:.3} MiB/s: {ceiling} | {r:.3}; {per} | {target} |",
            if sessions == 1 {
                "1 session".to_owned()
            } else {
                format!("`--sessions {sessions}`")
            },
            (PER_SESSION_DOWN * u64::from(sessions)) >> 20,
            pair.gangway,
            pair.ceiling,
        );
    }
    let setup = |round: &Round| Some(round.setup);
    let (pair, _) = pick(&setup).unwrap();
    println!(
        "| connection setup + 1-byte round trip through the mux (median of {SETUP_RUNS}) | {:.2} ms | {:.2} ms: a direct loopback connection | | |",
        pair.gangway, pair.ceiling
    );
    let cp_up = |round: &Round| round.cp_up;
    if let Some((pair, per)) = pick(&cp_up) {
        println!(
            "| `gangway cp` up, {} MiB | {:.1} MiB/s | {:.1} MiB/s: bare websocket as above, just before and after | {:.2}; {per} | |",
            COPY_BYTES >> 20,
            pair.gangway,
            pair.ceiling,
            ratio(&cp_up)
        );
    }
    let cp_down = |round: &Round| round.cp_down;
    if let Some((pair, _)) = pick(&cp_down) {
        let per_session: Vec<String> = rounds
            .iter()
            .filter_map(|round| round.cp_down)
            .map(|pair| format!("{:.2}", pair.gangway / pair.ceiling))
            .collect();
        println!(
            "| `gangway cp` down, `--sessions 8`, {} MiB | {:.2} MiB/s | {:.3} MiB/s: the agent's pace, one pty session (8 × = {:.2}; base64 carries 3/4 of it as file bytes) | {:.2} × one session; {} | ≥ 6 × {REFERENCE_MIB_S} = {:.2} MiB/s: {} ({:.1} ×) |",
            COPY_BYTES >> 20,
            pair.gangway,
            pair.ceiling,
            8.0 * pair.ceiling,
            ratio(&cp_down),
            per_session.join(" / "),
            6.0 * REFERENCE_MIB_S,
            verdict(pair.gangway >= 6.0 * REFERENCE_MIB_S),
            pair.gangway / REFERENCE_MIB_S,
        );
    }
    println!();
    println!(
        "| sessions | gangway, 16 connections | N bare clients, same seconds | gangway / bare | CPU of the N-session tunnel (% of one core) | CPU of the emulator, all 2N+1 sessions then (% of one core) |"
    );
    println!("|---|---|---|---|---|---|");
    for index in 0..rounds[0].parallel_detail.len() {
        let sessions = rounds[0].parallel_detail[index].0;
        let gangway = median(
            rounds
                .iter()
                .map(|round| round.parallel[index].1.gangway)
                .collect(),
        );
        let bare = median(
            rounds
                .iter()
                .map(|round| round.parallel_detail[index].1)
                .collect(),
        );
        let share = |get: &dyn Fn(&Cpu) -> f64| {
            median(
                rounds
                    .iter()
                    .map(|round| {
                        let cpu = &round.parallel_detail[index].2;
                        100.0 * get(cpu) / cpu.wall
                    })
                    .collect(),
            )
        };
        let ratio = median(
            rounds
                .iter()
                .map(|round| round.parallel[index].1.gangway / round.parallel_detail[index].1)
                .collect(),
        );
        println!(
            "| {sessions} | {gangway:.3} MiB/s | {bare:.3} MiB/s | {ratio:.3} | {:.0} % | {:.0} % |",
            share(&|cpu| cpu.client),
            share(&|cpu| cpu.emulator)
        );
    }
    println!();
    let loads: Vec<&str> = rounds.iter().map(|round| round.load.as_str()).collect();
    println!(
        "Load average at the start of each round: {}",
        loads.join("; ")
    );
}

// ---- processes ---------------------------------------------------------------------------

/// The emulator's administrator, with the client's log quiet.
fn client_env(endpoint: &str) -> impl Iterator<Item = (&'static str, String)> {
    emulator::aws_env(endpoint)
        .into_iter()
        .chain([("GANGWAY_LOG", "warn".into())])
}

/// `gangway forward INSTANCE 9000 --json --sessions N`, with its events counted.
struct Forward {
    _child: Child,
    pid: u32,
    local: SocketAddr,
    /// Connections opened and not yet closed, by the `--json` events.
    open: Arc<AtomicUsize>,
    sessions: Arc<AtomicUsize>,
}

impl Forward {
    async fn start(endpoint: &str, home: &Path, sessions: u16) -> Self {
        let mut child = Command::new(GANGWAY)
            .args([
                "forward",
                INSTANCE,
                &PORT.to_string(),
                "--json",
                "--sessions",
            ])
            .arg(sessions.to_string())
            .envs(client_env(endpoint))
            .env("HOME", home)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let open = Arc::new(AtomicUsize::new(0));
        let opened_sessions = Arc::new(AtomicUsize::new(0));
        let local = loop {
            let line = lines.next_line().await.unwrap().expect("a listening event");
            let event: serde_json::Value = serde_json::from_str(&line).unwrap();
            if event["event"] == "session_opened" {
                opened_sessions.fetch_add(1, Ordering::AcqRel);
            }
            if event["event"] == "listening" {
                break event["local"].as_str().unwrap().parse().unwrap();
            }
        };
        let (counting, counted) = (Arc::clone(&open), Arc::clone(&opened_sessions));
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                match event["event"].as_str() {
                    Some("connection_opened") => {
                        counting.fetch_add(1, Ordering::AcqRel);
                    }
                    Some("connection_closed") => {
                        counting.fetch_sub(1, Ordering::AcqRel);
                    }
                    Some("session_opened") => {
                        counted.fetch_add(1, Ordering::AcqRel);
                    }
                    _ => {}
                }
            }
        });
        Self {
            pid: child.id().unwrap(),
            _child: child,
            local,
            open,
            sessions: opened_sessions,
        }
    }

    /// Until every connection of the last measurement is closed on both sides (the
    /// destination's FIN comes back at the agent's pace), so the next one starts with no
    /// session still carrying an old connection.
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.open.load(Ordering::Acquire) > 0 {
            assert!(Instant::now() < deadline, "connections did not close");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_sessions(&self, sessions: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.sessions.load(Ordering::Acquire) < sessions {
            assert!(Instant::now() < deadline, "sessions did not open");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ---- small helpers -----------------------------------------------------------------------

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The wall-clock time, `HH:MM:SS` UTC, for the record.
fn chrono_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
