//! Fleet-across-accounts benchmark (issue 13): 100,000 instances in 20 account × region
//! pairs (5 accounts × 4 regions × 5,000) served by a spawned `gangway emulator` from a fleet
//! file the bench writes, loaded through the real client path: a profile per account in AWS
//! files of the bench's own (never ~/.aws), `account_clients` building every account's
//! clients, and the UI's `Executor` listing the pairs concurrently (at most
//! `FLEET_CONCURRENCY` at once), each answer fed to `update` and a frame drawn as it arrives,
//! as the UI's loop does.
//!
//! - time to the first rows and to all rows (from the `LoadFleet` effect to the frame);
//! - keystroke-to-frame while typing a filter, p50 / p99 / max (target < 16 ms);
//! - resident memory of this process, peak (VmHWM) with the fleet loaded (target < 300 MB);
//!   and the heap it holds, counted by the allocator: what the rows cost per instance, and how
//!   much of the resident memory is not live data (freed by the SDK's listings, kept by malloc).
//!
//! Each beside its ceiling from the same run: one pair (5,000 instances) listed alone, the
//! same keystrokes over that one pair's 5,000 rows, and this process's memory before the
//! fleet arrived. Run: `cargo bench --bench fleet` (release profile).
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gangway::aws::types::Instance;
use gangway::aws::{AccessScope, AccountSpec, AwsClient, AwsOptions, account_clients};
use gangway::tui::effect::Effect;
use gangway::tui::executor::Executor;
use gangway::tui::fixtures;
use gangway::tui::keymap::Keymap;
use gangway::tui::model::{Model, Settings};
use gangway::tui::msg::Msg;
use gangway::tui::update::update;
use gangway::tui::views;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// Every allocation of this process counted, for the live heap (no peak: VmHWM is that).
#[global_allocator]
static HEAP: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed, in MB.
fn live_heap_mb() -> f64 {
    // A realloc is counted in these two already (its growth or its shrinking).
    let stats = HEAP.stats();
    (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64) / 1_048_576.0
}

const ACCOUNTS: usize = 5;
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];
/// Instances per account × region; `GANGWAY_FLEET_BENCH_PER_PAIR` makes it smaller for a
/// quick check of the bench itself.
fn per_pair() -> usize {
    std::env::var("GANGWAY_FLEET_BENCH_PER_PAIR")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
}

fn fleet_size() -> usize {
    ACCOUNTS * REGIONS.len() * per_pair()
}
const COLS: u16 = 120;
const ROWS: u16 = 40;
const ENVS: [&str; 3] = ["dev", "stg", "prod"];
const ROLES: [&str; 5] = ["web", "api", "worker", "cache", "batch"];

type MemoryTerminal = Terminal<CrosstermBackend<std::io::Sink>>;

fn new_terminal() -> MemoryTerminal {
    let viewport = Viewport::Fixed(Rect::new(0, 0, COLS, ROWS));
    Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions { viewport },
    )
    .unwrap()
}

fn frame(terminal: &mut MemoryTerminal, model: &Model) -> Duration {
    let start = Instant::now();
    terminal.draw(|f| views::draw(f, model)).unwrap();
    start.elapsed()
}

fn account_id(account: usize) -> String {
    format!("{:012}", 100_000_000_000u64 + account as u64)
}

fn profile(account: usize) -> String {
    format!("acct{account}")
}

fn access_key(account: usize) -> String {
    format!("AKIAFLEETBENCH{account:04}")
}

/// The fleet file: one admin user per account, 5,000 instances per account × region, named
/// `ROLE-ENV-NNNNNN` by their number across the whole fleet.
fn fleet_file() -> String {
    let mut out = String::with_capacity(fleet_size() * 200);
    for account in 0..ACCOUNTS {
        writeln!(
            out,
            "[[users]]\nname = \"bench{account}\"\naccess_key_id = \"{}\"\naccount = \"{}\"\nrole = \"admin\"\n",
            access_key(account),
            account_id(account)
        )
        .unwrap();
    }
    let mut n = 0usize;
    for account in 0..ACCOUNTS {
        for region in REGIONS {
            for _ in 0..per_pair() {
                let healthy = n % 10 != 9;
                writeln!(
                    out,
                    "[[instances]]\nid = \"i-{:017x}\"\nname = \"{}-{}-{n:06}\"\ntags = {{ Env = \"{}\", Team = \"t{}\" }}\n\
                     state = \"{}\"\nping_status = \"{}\"\ninstance_type = \"t3.micro\"\navailability_zone = \"{region}a\"\n\
                     private_ip = \"10.{}.{}.{}\"\naccount = \"{}\"\nregion = \"{region}\"\n",
                    0x0f0_0000_0000_0000u64 + n as u64,
                    ROLES[n % 5],
                    ENVS[n % 3],
                    ENVS[n % 3],
                    n % 4,
                    if healthy { "running" } else { "stopped" },
                    if healthy { "Online" } else { "ConnectionLost" },
                    (n >> 16) & 255,
                    (n >> 8) & 255,
                    n & 255,
                    account_id(account),
                )
                .unwrap();
                n += 1;
            }
        }
    }
    out
}

/// The AWS files of a user with one key profile per account.
fn write_aws_files(dir: &Path) {
    let (mut config, mut credentials) = (String::new(), String::new());
    for account in 0..ACCOUNTS {
        let name = profile(account);
        writeln!(config, "[profile {name}]\nregion = us-east-1\n").unwrap();
        writeln!(
            credentials,
            "[{name}]\naws_access_key_id = {}\naws_secret_access_key = gangway\n",
            access_key(account)
        )
        .unwrap();
    }
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(dir.join("credentials"), credentials).unwrap();
}

fn spawn_emulator(fleet: &Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gangway"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--fleet",
            fleet.to_str().unwrap(),
        ])
        .env("GANGWAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("endpoint=")
        .unwrap_or_else(|| panic!("the emulator did not start: {line:?}"))
        .to_owned();
    (child, endpoint)
}

fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn new_model(options: &AwsOptions, clients: &[AwsClient]) -> Model {
    let settings = Settings {
        accounts: options.accounts.clone(),
        ..Settings::default()
    };
    let mut model = Model::new(
        fixtures::now(),
        clients.iter().map(AwsClient::location).collect(),
        Keymap::defaults(false),
        settings,
    );
    model.size = (COLS, ROWS);
    model
}

fn key(model: &mut Model, code: KeyCode) {
    update(model, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Types filters keystroke by keystroke, each followed by a frame, then erases them; the
/// time of every key (update + frame), sorted.
fn typing(model: &mut Model, terminal: &mut MemoryTerminal) -> Vec<Duration> {
    key(model, KeyCode::Char('/'));
    frame(terminal, model);
    let mut times = Vec::new();
    for round in 0..10 {
        let filter = format!("{}-prod-0{}7", ROLES[round % 5], round % 10);
        for ch in filter.chars() {
            let t = Instant::now();
            key(model, KeyCode::Char(ch));
            frame(terminal, model);
            times.push(t.elapsed());
        }
        for _ in 0..filter.len() {
            let t = Instant::now();
            key(model, KeyCode::Backspace);
            frame(terminal, model);
            times.push(t.elapsed());
        }
    }
    key(model, KeyCode::Esc);
    times.sort();
    times
}

/// Runs `LoadFleet` through the executor and feeds each answer to the model with a frame,
/// as the UI's loop does: (time to the first rows, time to all rows).
async fn load(
    model: &mut Model,
    terminal: &mut MemoryTerminal,
    clients: Vec<AwsClient>,
) -> (Duration, Duration) {
    let pairs = clients.len();
    let (sender, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let executor = Executor::new(clients, sender, Vec::new(), AccessScope::default());
    let start = Instant::now();
    executor.spawn(Effect::LoadFleet);
    let mut first = None;
    let mut answered = 0;
    while answered < pairs {
        let msg = messages.recv().await.unwrap();
        if let Msg::FleetLoaded { region, result } = &msg {
            if let Err(error) = result {
                panic!("{region}: {}", error.message);
            }
            answered += 1;
            update(model, msg);
            frame(terminal, model);
            first.get_or_insert(start.elapsed());
        }
    }
    (first.unwrap(), start.elapsed())
}

/// Set in the child that measures: the emulator's endpoint.
const CHILD_ENDPOINT: &str = "GANGWAY_FLEET_BENCH_ENDPOINT";

/// The parent writes the files and starts the emulator, then runs the measurements in a
/// child of its own with the AWS files in its environment (and nothing of this process's
/// memory in the child's figures).
fn main() {
    if let Ok(endpoint) = std::env::var(CHILD_ENDPOINT) {
        measure(endpoint);
        return;
    }
    let dir = std::env::temp_dir().join(format!("gangway-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fleet = dir.join("fleet.toml");
    std::fs::write(&fleet, fleet_file()).unwrap();
    write_aws_files(&dir);
    let emulator_start = Instant::now();
    let (mut emulator, endpoint) = spawn_emulator(&fleet);
    let emulator_start = emulator_start.elapsed();
    println!(
        "  emulator start with the {}-instance fleet file: {}",
        fleet_size(),
        ms(emulator_start)
    );
    let status = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENDPOINT, &endpoint)
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .status()
        .unwrap();
    emulator.kill().ok();
    emulator.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    assert!(status.success(), "the measuring child failed: {status}");
}

fn measure(endpoint: String) {
    let (per_pair, fleet) = (per_pair(), fleet_size());
    let options = AwsOptions {
        endpoint_url: Some(endpoint),
        accounts: (0..ACCOUNTS)
            .map(|account| AccountSpec {
                profile: Some(profile(account)),
                regions: REGIONS.iter().map(|r| (*r).to_owned()).collect(),
                ..AccountSpec::default()
            })
            .collect(),
        ..AwsOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let clients: Vec<AwsClient> = runtime
        .block_on(account_clients(&options))
        .into_iter()
        .flat_map(|account| account.clients.unwrap())
        .collect();
    assert_eq!(clients.len(), ACCOUNTS * REGIONS.len());
    let rss_before = rss_mb("VmRSS:");
    let heap_before = live_heap_mb();

    // The ceiling: one account × region alone, listed and drawn the same way.
    let mut one = new_model(&options, &clients[..1]);
    let mut one_terminal = new_terminal();
    let (_, one_pair) = runtime.block_on(load(&mut one, &mut one_terminal, clients[..1].to_vec()));
    assert_eq!(one.fleet.instances.len(), per_pair);
    let one_typing = typing(&mut one, &mut one_terminal);
    drop(one);

    let mut model = new_model(&options, &clients);
    let mut terminal = new_terminal();
    let (first_rows, all_rows) = runtime.block_on(load(&mut model, &mut terminal, clients));
    assert_eq!(model.fleet.instances.len(), fleet);
    let rss_loaded = rss_mb("VmRSS:");
    let hwm_loaded = rss_mb("VmHWM:");
    let heap_loaded = live_heap_mb();
    let typed = typing(&mut model, &mut terminal);
    let unchanged = (0..20).map(|_| frame(&mut terminal, &model)).min().unwrap();
    let (rss, hwm) = (rss_mb("VmRSS:"), rss_mb("VmHWM:"));

    println!(
        "Fleet benchmark: {fleet} instances in {} account x region pairs ({ACCOUNTS} accounts x {} regions x {per_pair}), \
         {COLS}x{ROWS} frame, crossterm backend writing to io::sink",
        ACCOUNTS * REGIONS.len(),
        REGIONS.len()
    );
    println!(
        "  LoadFleet -> first rows drawn: {}   all rows drawn: {}   (ceiling: one pair of {per_pair} alone: {})",
        ms(first_rows),
        ms(all_rows),
        ms(one_pair)
    );
    println!(
        "  keystroke -> frame while filtering {fleet} rows ({} keys): p50 {}  p99 {}  max {}   (target p99 < 16 ms)",
        typed.len(),
        ms(percentile(&typed, 0.5)),
        ms(percentile(&typed, 0.99)),
        ms(*typed.last().unwrap())
    );
    println!(
        "    ceiling: the same keys over one pair's {per_pair} rows: p50 {}  p99 {}; unchanged frame {}",
        ms(percentile(&one_typing, 0.5)),
        ms(percentile(&one_typing, 0.99)),
        ms(unchanged)
    );
    println!(
        "  resident memory: before the fleet {rss_before:.1} MB, fleet loaded {rss_loaded:.1} MB (peak so far {hwm_loaded:.1} MB), \
         after typing {rss:.1} MB, peak (VmHWM) {hwm:.1} MB   (target < 300 MB)"
    );
    let per_instance = (heap_loaded - heap_before) * 1_048_576.0 / fleet as f64;
    println!(
        "  live heap: before the fleet {heap_before:.1} MB, fleet loaded {heap_loaded:.1} MB: {per_instance:.0} bytes per instance \
         ({} of them the row itself, size_of::<Instance>()); resident but not live: {:.1} MB",
        std::mem::size_of::<Instance>(),
        rss_loaded - heap_loaded
    );
}
