//! `gangway demo` end to end inside a real pseudo-terminal, read through a VT parser (vt100):
//! wait for the fleet, filter by a Name, open a shell, run `hostname`, exit back to the list,
//! open the sessions view, find the session in history, quit, and check that the terminal
//! modes are what they were before. HOME and XDG dirs point at a fresh directory and the
//! AWS environment is dummy, so nothing of the developer's setup is read.
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::termios::{self, Termios};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::emulator::{GANGWAY, start_fleet};
use crate::support::pty::modes;
/// A bound against hangs, never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(90);
const ROWS: u16 = 35;
const COLS: u16 = 120;

pub(crate) struct Screen {
    pty: pty_process::Pty,
    pts: pty_process::Pts,
    child: tokio::process::Child,
    parser: vt100::Parser,
}

impl Screen {
    pub(crate) fn spawn(home: &PathBuf, args: &[&str]) -> Self {
        Self::spawn_with(home, args, &[])
    }

    /// `env` comes after (and overrides) the dummy AWS environment.
    fn spawn_with(home: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dummy = [
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_ACCESS_KEY_ID", "AKIAUNUSEDDUMMY"),
            ("AWS_SECRET_ACCESS_KEY", "dummy"),
        ];
        let env: Vec<(&str, &str)> = dummy.iter().chain(env).copied().collect();
        Self::spawn_in(home, args, &env)
    }

    /// With only `env` for AWS (no dummy keys: profiles must not lose to them).
    pub(crate) fn spawn_in(home: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Self {
        let (pty, pts) = pty_process::open().unwrap();
        pty.resize(pty_process::Size::new(ROWS, COLS)).unwrap();
        let dir = |sub: &str| home.join(sub).to_str().unwrap().to_owned();
        let mut command = pty_process::Command::new(GANGWAY)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", dir("config"))
            .env("XDG_STATE_HOME", dir("state"))
            .env("XDG_DATA_HOME", dir("data"))
            .env("TERM", "xterm-256color")
            .envs(env.iter().copied())
            .kill_on_drop(true);
        let child = command.spawn_borrowed(&pts).unwrap();
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        let parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
        Self {
            pty,
            pts,
            child,
            parser,
        }
    }

    pub(crate) fn termios(&self) -> Termios {
        termios::tcgetattr(&self.pts).unwrap()
    }

    pub(crate) fn text(&self) -> String {
        self.parser.screen().contents()
    }

    pub(crate) async fn keys(&mut self, bytes: &str) {
        self.pty.write_all(bytes.as_bytes()).await.unwrap();
        self.pty.flush().await.unwrap();
    }

    /// Reads output until the screen's text satisfies `done`.
    pub(crate) async fn wait_until(&mut self, what: &str, done: impl Fn(&str) -> bool) {
        self.wait_until_screen(what, |screen| done(&screen.contents()))
            .await;
    }

    /// Reads output until the terminal's state (text, modes gangway set) satisfies `done`.
    pub(crate) async fn wait_until_screen(
        &mut self,
        what: &str,
        done: impl Fn(&vt100::Screen) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !done(self.parser.screen()) {
            let mut buf = [0u8; 16384];
            match tokio::time::timeout_at(deadline, self.pty.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => self.parser.process(&buf[..n]),
                Ok(_) => panic!(
                    "pty closed while waiting for {what}; screen:\n{}",
                    self.text()
                ),
                Err(_) => panic!("timed out waiting for {what}; screen:\n{}", self.text()),
            }
        }
    }

    /// Where `needle` starts on the screen, (column, row) from 0, counted in cells.
    pub(crate) fn position_of(&self, needle: &str) -> Option<(u16, u16)> {
        let screen = self.parser.screen();
        (0..ROWS).find_map(|row| {
            let mut text = String::new();
            let mut columns = Vec::new();
            for col in 0..COLS {
                let Some(cell) = screen.cell(row, col) else {
                    continue;
                };
                if cell.is_wide_continuation() {
                    continue;
                }
                let contents = cell.contents();
                let contents = if contents.is_empty() { " " } else { contents };
                for ch in contents.chars() {
                    text.push(ch);
                    columns.push(col);
                }
            }
            let at = text.find(needle)?;
            Some((columns[text[..at].chars().count()], row))
        })
    }

    pub(crate) async fn wait_for(&mut self, needle: &str) {
        self.wait_until(needle, |screen| screen.contains(needle))
            .await;
    }

    pub(crate) async fn exit_status(&mut self) -> i32 {
        let wait = tokio::time::timeout(PATIENCE, self.child.wait()).await;
        wait.expect("gangway did not exit")
            .unwrap()
            .code()
            .unwrap_or(-1)
    }
}

/// A directory of its own for each test (they run in parallel).
pub(crate) fn fresh_home(test: &str) -> PathBuf {
    let name = format!("tui-home-{test}-{}", std::process::id());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

/// The session id from the status line `shell on worker-1 ended: session dev-… exited…`.
fn ended_session_id(screen: &str) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains("shell on worker-1 ended"))
        .unwrap();
    let after = line.split("session ").nth(1).unwrap();
    after
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('.')
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn demo_fleet_shell_sessions_history_and_quit() {
    let home = fresh_home("demo");
    // The full-screen hand-over (shells in tabs: tui_tabs.rs).
    let config = home.join("config").join("gangway");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[shell]\nembedded = false\n").unwrap();
    let mut screen = Screen::spawn(&home, &["demo"]);
    let before = screen.termios();

    screen.wait_for("worker-1").await;
    screen.wait_for("결제-api-1").await;
    screen.keys("/worker-1").await;
    screen
        .wait_until("the filter to leave one row", |s| {
            s.contains("/worker-1") && !s.contains("web-1")
        })
        .await;
    screen.keys("\r").await;
    screen.keys("\r").await;

    // The shell owns the terminal now: the UI is gone and the demo's prompt names the host.
    // (Keys typed before the prompt would still belong to the UI.)
    screen
        .wait_until("the shell prompt", |s| {
            !s.contains("group_by_image") && s.contains("@worker-1")
        })
        .await;
    screen.keys("hostname; echo done-$((6*7))\r").await;
    screen.wait_for("done-42").await;
    // The instance's own name where the machine allows a UTS namespace (root), else the
    // machine's (docs/emulator.md).
    let expected = if gangway::emulator::agent::own_host_name::supported() {
        "\nworker-1".to_owned()
    } else {
        local_hostname()
    };
    assert!(screen.text().contains(&expected), "{}", screen.text());
    screen.keys("exit\r").await;

    screen.wait_for("shell on worker-1 ended").await;
    let session_id = ended_session_id(&screen.text());
    assert!(session_id.starts_with("dev-"), "{session_id}");

    // The shell's session ended with the shell (the emulator moves it to History before the
    // client reads channel_closed); what is left is the colleague's session the demo opened
    // as the admin, so the view has someone else's session to show (issue 16).
    screen.keys("2").await;
    screen.wait_for("INC-42 disk full").await;
    let sessions = screen.text();
    assert!(sessions.contains("2:sessions(1)"), "{sessions}");
    assert!(sessions.contains("admin-"), "{sessions}");
    assert!(!sessions.contains(&session_id), "{sessions}");
    screen.keys("3").await;
    screen.wait_for(&session_id).await;
    // The demo's little past: ended sessions of both users from before it started (their
    // reasons, cut to the column: the rows may still be drawing).
    screen
        .wait_until("the demo's history", |s| {
            s.contains("OPS-7") && s.contains("INC-40")
        })
        .await;
    let history = screen.text();
    assert!(history.contains("worker-1"));
    // The emulator's endpoint is on screen, for a second terminal.
    assert!(history.contains("  127.0.0.1:"), "{history}");

    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0, "screen:\n{}", screen.text());
    assert_eq!(
        modes(&screen.termios()),
        modes(&before),
        "terminal modes not restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_is_reported_with_file_and_line_and_the_ui_still_runs() {
    let home = fresh_home("broken-config");
    std::fs::create_dir_all(home.join("config/gangway")).unwrap();
    std::fs::write(
        home.join("config/gangway/config.toml"),
        "[keys]\nterminate = \"ctrl-\"\n",
    )
    .unwrap();
    let mut screen = Screen::spawn(&home, &["demo", "--readonly"]);
    let before = screen.termios();
    screen.wait_for("worker-1").await;
    screen.wait_for("config.toml:2: keys.terminate").await;
    assert!(screen.text().contains("[read-only]"));
    assert!(
        !screen.text().contains("enter shell"),
        "read-only hides the shell key"
    );
    screen.keys(":q\r").await;
    assert_eq!(screen.exit_status().await, 0);
    assert_eq!(modes(&screen.termios()), modes(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gangway_merges_several_regions_with_a_region_column() {
    let emulator = start_fleet(gangway::emulator::Fleet::demo()).await;
    let home = fresh_home("regions");
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAGANGWAYADMIN"),
        ("AWS_SECRET_ACCESS_KEY", "gangway"),
        ("AWS_ENDPOINT_URL", emulator.endpoint.as_str()),
    ];
    let args = ["--region", "us-east-1,eu-west-1", "--tag", "Team=web"];
    let mut screen = Screen::spawn_with(&home, &args, &env);
    let before = screen.termios();
    screen.wait_for("REGION").await;
    // Team=web in the demo fleet: web-1, web-2, cache-1, unmanaged-1; once per region.
    let rows = |s: &str| s.lines().filter(|l| l.contains("i-000de")).count();
    screen
        .wait_until("eight rows", |s| {
            rows(s) == 8 && s.contains("us-east-1") && s.contains("eu-west-1")
        })
        .await;
    let text = screen.text();
    assert!(!text.contains("worker-1"), "the tag filter applies");
    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0);
    assert_eq!(modes(&screen.termios()), modes(&before));
}

/// Signals from `kill` end or stop the UI cleanly (issue 17, F7): SIGINT and SIGQUIT restore
/// the terminal and exit 0 like `q`; SIGTSTP gives the terminal back and stops, and after
/// SIGCONT the UI draws again and still answers keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_restore_the_terminal_and_stop_cleanly() {
    use nix::sys::signal::{Signal, kill};

    use crate::support::cli::{pid_of, send_signal};

    for signal in [Signal::SIGINT, Signal::SIGQUIT] {
        let home = fresh_home(&format!("signal-{signal}"));
        let mut screen = Screen::spawn(&home, &["demo"]);
        let before = screen.termios();
        screen.wait_for("worker-1").await;
        send_signal(&screen.child, signal);
        assert_eq!(screen.exit_status().await, 0, "{signal}");
        assert_eq!(modes(&screen.termios()), modes(&before), "{signal}");
    }

    let home = fresh_home("signal-tstp");
    let mut screen = Screen::spawn(&home, &["demo"]);
    let before = screen.termios();
    screen.wait_for("worker-1").await;
    let pid = pid_of(&screen.child);
    kill(pid, Signal::SIGTSTP).unwrap();
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while state().as_deref() != Some("T") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not stopped: {:?}",
            state()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        modes(&screen.termios()),
        modes(&before),
        "stopped with the user's modes"
    );
    kill(pid, Signal::SIGCONT).unwrap();
    // Keys typed before raw mode is back would go through the line discipline (a CR becomes
    // LF): wait until the UI has the terminal again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while screen
        .termios()
        .local_flags
        .contains(termios::LocalFlags::ICANON)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "raw mode not re-entered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    screen.keys(":q\r").await;
    assert_eq!(screen.exit_status().await, 0);
    assert_eq!(modes(&screen.termios()), modes(&before));
}

/// A session that `gangway connect` runs in another terminal shows its idle time and the
/// countdown to the idle timeout in the UI's sessions view, from the activity file the
/// connect process keeps (issue 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_view_shows_the_idle_time_of_a_connect_in_another_terminal() {
    use crate::support::cli::{TestHome, online_instance};
    use crate::support::pty::PtyConnect;

    let emulator = start_fleet(gangway::emulator::Fleet::demo()).await;
    let endpoint = emulator.endpoint.as_str();
    let id = online_instance(endpoint).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let home = TestHome::new();
    let mut connect = PtyConnect::spawn_command(
        endpoint,
        "AKIAGANGWAYADMIN",
        "connect",
        &[&id],
        &home.env(),
        (24, 80),
    );
    connect.write(b"echo other-$((6*7))\r").await;
    connect.expect("other-42").await;
    let activity = TestHome::files(&home.sessions(), ".json");
    assert_eq!(activity.len(), 1, "{activity:?}");
    let session_id = activity[0]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();

    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAGANGWAYADMIN"),
        ("AWS_SECRET_ACCESS_KEY", "gangway"),
        ("AWS_ENDPOINT_URL", endpoint),
    ];
    let mut screen = Screen::spawn_with(&home.root, &["--region", "us-east-1"], &env);
    let before = screen.termios();
    screen.wait_for("worker-1").await;
    screen.keys("2").await;
    // Idle for seconds, of the demo's 20-minute idle timeout: 19m…s left.
    let row = |s: &str| {
        s.lines()
            .find(|l| l.contains(&session_id[..15]))
            .map(str::to_owned)
    };
    screen
        .wait_until("the session's idle countdown", |s| {
            s.contains("IDLE LEFT") && row(s).is_some_and(|r| r.contains(" 19m"))
        })
        .await;
    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0);
    assert_eq!(modes(&screen.termios()), modes(&before));
    connect.write(b"exit\r").await;
    assert_eq!(connect.finish().await, 0, "{}", connect.text());
}
