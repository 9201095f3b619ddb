//! Shells inside the UI (issue 13) against the full-screen hand-over, in the same run:
//! `gangway demo` in a pseudo-terminal, one shell opened from the fleet in each mode
//! (`[shell] embedded = true / false`), then
//!
//! - output throughput: 64 MiB of text lines printed by the remote shell, from Enter to the
//!   end marker on the outer terminal;
//! - keystroke echo p50/p99: a key typed, until its echo reaches the outer terminal (through
//!   the UI's next frame when embedded);
//! - redraws while nothing changes: bytes the UI writes to the terminal in 3 s of quiet;
//! - the pane's terminal state (`PaneScreen::feed`, vt100) on a 10 MiB flood of colour,
//!   wide characters and cursor moves, vs. copying the same bytes.
//!
//! Run: `cargo bench --bench tabs` (release). Prints a Markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/runtime.rs"]
mod runtime;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GANGWAY: &str = env!("CARGO_BIN_EXE_gangway");
const BYTES: usize = 64 << 20;
const ECHO_SAMPLES: usize = 200;
const PATIENCE: Duration = Duration::from_secs(300);

const FLEET: &str = r#"
[[instances]]
id = "i-0a00000000000bb01"
name = "bench-one"
tags = { Env = "dev" }
"#;

struct Ui {
    pty: pty_process::Pty,
    _pts: pty_process::Pts,
    _child: tokio::process::Child,
    output: Vec<u8>,
}

impl Ui {
    fn spawn(home: &Path, embedded: bool) -> Self {
        let config = home.join("config/gangway");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.toml"),
            format!("[shell]\nembedded = {embedded}\n[recording]\nenabled = false\n"),
        )
        .unwrap();
        let fleet = home.join("fleet.toml");
        std::fs::write(&fleet, FLEET).unwrap();
        let (pty, pts) = pty_process::open().unwrap();
        pty.resize(pty_process::Size::new(40, 120)).unwrap();
        let dir = |sub: &str| home.join(sub).to_str().unwrap().to_owned();
        let child = pty_process::Command::new(GANGWAY)
            .args(["demo", "--fleet", fleet.to_str().unwrap()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", dir("config"))
            .env("XDG_STATE_HOME", dir("state"))
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", "AKIAUNUSEDDUMMY")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .env("TERM", "xterm-256color")
            .kill_on_drop(true)
            .spawn_borrowed(&pts)
            .unwrap();
        Self {
            pty,
            _pts: pts,
            _child: child,
            output: Vec::new(),
        }
    }

    async fn keys(&mut self, text: &str) {
        self.pty.write_all(text.as_bytes()).await.unwrap();
        self.pty.flush().await.unwrap();
    }

    /// Reads until `needle` appears after `from`; returns the end offset.
    async fn expect_after(&mut self, from: usize, needle: &[u8]) -> usize {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut buf = vec![0u8; 1 << 16];
        // Only new bytes (and a needle's length before them) are searched each time.
        let mut scanned = from.min(self.output.len());
        loop {
            if let Some(at) = self.output[scanned..]
                .windows(needle.len())
                .position(|w| w == needle)
            {
                return scanned + at + needle.len();
            }
            scanned = self
                .output
                .len()
                .saturating_sub(needle.len() - 1)
                .max(scanned);
            let n = tokio::time::timeout_at(deadline, self.pty.read(&mut buf))
                .await
                .expect("timed out")
                .unwrap();
            assert!(n > 0, "pty closed");
            // Bytes already searched are not kept: 64 MiB need not be.
            if scanned > 1 << 20 {
                self.output.drain(..scanned);
                scanned = 0;
            }
            self.output.extend_from_slice(&buf[..n]);
        }
    }

    /// Forgets the output so far (keeps memory flat); offsets restart at 0.
    fn forget(&mut self) {
        self.output.clear();
    }

    /// Bytes written to the terminal in `quiet`.
    async fn written_in(&mut self, quiet: Duration) -> usize {
        let until = tokio::time::Instant::now() + quiet;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0;
        while let Ok(Ok(n)) = tokio::time::timeout_at(until, self.pty.read(&mut buf)).await {
            total += n;
        }
        total
    }
}

struct Figures {
    throughput_mib_s: f64,
    echo_p50: Duration,
    echo_p99: Duration,
    quiet_bytes: usize,
}

async fn measure(home: &Path, embedded: bool) -> Figures {
    let mut ui = Ui::spawn(home, embedded);
    ui.expect_after(0, b"bench-one").await;
    ui.keys("\r").await;
    ui.expect_after(0, b"ssm-user@bench-one$").await;
    ui.forget();
    // Throughput: the marker is made by the shell, so the echo of the command is not it.
    let command = format!(
        "yes 'gangway embedded throughput line 0123456789 abcdefghij' | head -c {BYTES}; echo EN''D-$((6*7))\r"
    );
    let started = Instant::now();
    ui.keys(&command).await;
    ui.expect_after(0, b"END-42").await;
    let took = started.elapsed();
    ui.forget();
    ui.keys("clear\r").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ui.written_in(Duration::from_millis(200)).await;
    // Echo: `Q` never appears elsewhere on either screen.
    let mut samples = Vec::with_capacity(ECHO_SAMPLES);
    for _ in 0..ECHO_SAMPLES {
        ui.forget();
        let sent = Instant::now();
        ui.keys("Q").await;
        ui.expect_after(0, b"Q").await;
        samples.push(sent.elapsed());
        if samples.len() % 60 == 0 {
            ui.keys("\u{15}").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    ui.keys("\u{15}").await;
    samples.sort();
    tokio::time::sleep(Duration::from_millis(300)).await;
    ui.written_in(Duration::from_millis(100)).await;
    let quiet_bytes = ui.written_in(Duration::from_secs(3)).await;
    Figures {
        throughput_mib_s: BYTES as f64 / 1_048_576.0 / took.as_secs_f64(),
        echo_p50: samples[samples.len() / 2],
        echo_p99: samples[samples.len() * 99 / 100],
        quiet_bytes,
    }
}

/// 10 MiB like `ls --color`, top and vim redraws: plain lines, 256-colour and truecolour
/// SGR, Korean and CJK wide characters, cursor moves.
fn flood() -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u64;
    while out.len() < 10 << 20 {
        out.extend_from_slice(
            format!("line {i} plain text of a log file with some words in it\r\n").as_bytes(),
        );
        out.extend_from_slice(
            format!(
                "\x1b[38;5;{}mcolour\x1b[0m \x1b[38;2;10;{};30mtrue\x1b[0m 결제-api 漢字\r\n",
                i % 256,
                i % 256
            )
            .as_bytes(),
        );
        out.extend_from_slice(
            format!(
                "\x1b[{};{}H\x1b[Kstatus {i}\x1b[1;1H",
                i % 24 + 1,
                i % 40 + 1
            )
            .as_bytes(),
        );
        i += 1;
    }
    out
}

/// MiB/s of the pane's parser on the flood, and of a copy of it (the ceiling).
fn parse_flood() -> (f64, f64) {
    let data = flood();
    let mib = data.len() as f64 / 1_048_576.0;
    let screen = gangway::tui::panes::PaneScreen::new(120, 39);
    let started = Instant::now();
    for chunk in data.chunks(64 << 10) {
        screen.feed(chunk);
    }
    let parse = mib / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut copy = Vec::with_capacity(data.len());
    for chunk in data.chunks(64 << 10) {
        copy.extend_from_slice(std::hint::black_box(chunk));
    }
    std::hint::black_box(&copy);
    (parse, mib / started.elapsed().as_secs_f64())
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gangway-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn main() {
    let (parse, copy) = parse_flood();
    runtime::block_on(async {
        let embedded = measure(&fresh("embedded"), true).await;
        let hand_over = measure(&fresh("hand-over"), false).await;
        println!("| measure | embedded (tab) | full-screen hand-over (same run) |");
        println!("|---|---|---|");
        println!(
            "| output, 64 MiB of text lines | {:.1} MiB/s | {:.1} MiB/s |",
            embedded.throughput_mib_s, hand_over.throughput_mib_s
        );
        println!(
            "| keystroke echo p50 / p99 ({ECHO_SAMPLES} keys) | {:.2} / {:.2} ms | {:.2} / {:.2} ms |",
            embedded.echo_p50.as_secs_f64() * 1e3,
            embedded.echo_p99.as_secs_f64() * 1e3,
            hand_over.echo_p50.as_secs_f64() * 1e3,
            hand_over.echo_p99.as_secs_f64() * 1e3
        );
        println!(
            "| bytes written to the terminal in 3 s of quiet | {} | {} |",
            embedded.quiet_bytes, hand_over.quiet_bytes
        );
        println!(
            "| pane terminal state (vt100), 10 MiB flood | {parse:.1} MiB/s | ceiling: copying it, {copy:.0} MiB/s |"
        );
    });
}
