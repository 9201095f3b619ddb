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
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Its client is the product's, in-process: the emulator module's `aws_env` is for children.
#[allow(dead_code)]
#[path = "common/emulator.rs"]
mod emulator;
#[path = "common/figures.rs"]
mod figures;
#[path = "common/ui.rs"]
mod ui;

use std::time::Instant;

use gangway::aws::AwsClient;
use gangway::tui::fixtures;
use gangway::tui::keymap::Keymap;
use gangway::tui::model::{Model, Settings};
use gangway::tui::msg::Msg;
use gangway::tui::update::update;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use figures::{ms, percentile, rss_mb};
use ui::{COLS, ROWS, frame, new_terminal};

const FLEET: usize = 10_000;

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

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (emulator, endpoint) =
        runtime.block_on(emulator::spawn(&["--instances", &FLEET.to_string()]));
    let client =
        AwsClient::with_static_credentials("us-east-1", &endpoint, "AKIAGANGWAYADMIN", "gangway");
    let fetch = Instant::now();
    let instances = runtime.block_on(client.list_instances(&[])).unwrap();
    let fetch = fetch.elapsed();
    // Killed: nothing of it runs while the UI is measured.
    drop(emulator);
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
