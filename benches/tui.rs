//! TUI benchmark (issue 6): a 10,000-instance fleet from a spawned `gangway emulator`, loaded
//! through the real AWS SDK, then the UI's own work measured without a terminal in the way:
//! `update` plus a full frame rendered through the crossterm backend writing to io::sink.
//!
//! - time to first frame after the data arrives (target < 1 s);
//! - keystroke-to-frame while typing a filter (target < 16 ms), p50 / p99 / max;
//! - resident memory of this process holding the fleet (target < 100 MB);
//! - for scale: the same frame when nothing changed (ratatui's diff finds no cell to write),
//!   and a frame of the 12-instance demo fleet, measured in the same run.
//!
//! Run: `cargo bench --bench tui` (release profile).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gangway::aws::AwsClient;
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

const FLEET: usize = 10_000;
const COLS: u16 = 120;
const ROWS: u16 = 40;

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

fn new_model() -> Model {
    let mut model = Model::new(
        fixtures::now(),
        vec!["us-east-1".into()],
        Keymap::defaults(false),
        Settings::default(),
    );
    model.size = (COLS, ROWS);
    model
}

fn spawn_emulator() -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gangway"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--instances",
            &FLEET.to_string(),
        ])
        .env("GANGWAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line.trim().strip_prefix("endpoint=").unwrap().to_owned();
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

fn main() {
    let (mut emulator, endpoint) = spawn_emulator();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client =
        AwsClient::with_static_credentials("us-east-1", &endpoint, "AKIAGANGWAYADMIN", "gangway");
    let fetch = Instant::now();
    let instances = runtime.block_on(client.list_instances(&[])).unwrap();
    let fetch = fetch.elapsed();
    emulator.kill().ok();
    assert_eq!(instances.len(), FLEET);

    let mut model = new_model();
    let mut terminal = new_terminal();
    let start = Instant::now();
    update(
        &mut model,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(instances),
        },
    );
    let loaded = start.elapsed();
    let first_frame = frame(&mut terminal, &model);
    let data_to_frame = start.elapsed();

    let mut typing = Vec::new();
    for round in 0..20 {
        let filter = format!("host-0{}", round % 10);
        for ch in filter.chars().chain("7".chars()) {
            let t = Instant::now();
            update(
                &mut model,
                Msg::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE)),
            );
            frame(&mut terminal, &model);
            typing.push(t.elapsed());
        }
        for _ in 0..filter.len() + 1 {
            let t = Instant::now();
            update(
                &mut model,
                Msg::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
            );
            frame(&mut terminal, &model);
            typing.push(t.elapsed());
        }
        if round == 0 {
            update(
                &mut model,
                Msg::Key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE)),
            );
        }
    }
    typing.sort();
    let unchanged = (0..50).map(|_| frame(&mut terminal, &model)).min().unwrap();
    let (rss, hwm) = (rss_mb("VmRSS:"), rss_mb("VmHWM:"));

    let mut demo = new_model();
    update(
        &mut demo,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    let mut demo_terminal = new_terminal();
    let demo_frame = (0..50)
        .map(|_| {
            // A new terminal has empty buffers: every cell of the frame is written.
            demo_terminal = new_terminal();
            frame(&mut demo_terminal, &demo)
        })
        .min()
        .unwrap();

    println!(
        "TUI benchmark: {FLEET} instances, {COLS}x{ROWS} frame, crossterm backend writing to io::sink"
    );
    println!(
        "  ListInstances from the emulator (EC2+SSM+images, all pages): {}",
        ms(fetch)
    );
    println!(
        "  data arrives -> first frame: {} (update {} + frame {})",
        ms(data_to_frame),
        ms(loaded),
        ms(first_frame)
    );
    println!(
        "  keystroke -> frame while filtering ({} keys): p50 {}  p99 {}  max {}",
        typing.len(),
        ms(percentile(&typing, 0.5)),
        ms(percentile(&typing, 0.99)),
        ms(*typing.last().unwrap())
    );
    println!(
        "  for scale: unchanged frame (no cell written) {}; full frame of the 12-instance demo fleet {}",
        ms(unchanged),
        ms(demo_frame)
    );
    println!("  resident memory with the fleet loaded: {rss:.1} MB (peak {hwm:.1} MB)");
}
