//! Shells inside the UI (issue 13), end to end in a real pseudo-terminal against the demo's
//! emulator with a fleet whose idle timeout is one minute: open two shells from the fleet,
//! switch between them, run `vi` in one, split it into two panes, broadcast a command to
//! both, watch the idle countdown fall and the warning come, the emulator's idle timeout end
//! the session with its reason in the tab, back to the fleet, quit (which asks first while a
//! shell lives) with the terminal's modes as they were. The pty and screen reader are `tui_demo`'s.
use crate::support::pty::modes;
use crate::tui_demo::{Screen, fresh_home};

/// ctrl-], the default prefix key.
pub(crate) const PREFIX: &str = "\u{1d}";

pub(crate) const FLEET: &str = r#"
[preferences]
idle_session_timeout_minutes = 1

[[instances]]
id = "i-0a00000000000bb01"
name = "tab-one"
tags = { Env = "dev" }

[[instances]]
id = "i-0a00000000000bb02"
name = "tab-two"
tags = { Env = "dev" }
"#;

/// The seconds of `idle left 45s` on the status line (the last line of the screen).
fn idle_left(screen: &str) -> Option<u64> {
    let status = screen.lines().last()?;
    let rest = status.split("idle left ").nth(1)?;
    let token = rest.split_whitespace().next()?;
    let (minutes, seconds) = match token.split_once('m') {
        Some((m, s)) => (m.parse::<u64>().ok()?, s.trim_end_matches('s')),
        None => (0, token.trim_end_matches('s')),
    };
    Some(minutes * 60 + seconds.parse::<u64>().ok()?)
}

pub(crate) async fn open_from_fleet(screen: &mut Screen, name: &str, other: &str) {
    // ctrl-u empties the filter, the name leaves one row, enter opens a shell.
    screen.keys(&format!("/\u{15}{name}\r")).await;
    screen
        .wait_until("the filter to leave one row", |s| {
            s.contains(&format!("filter: {name}")) && !s.contains(other)
        })
        .await;
    screen.keys("\r").await;
    screen.wait_for(&format!("ssm-user@{name}$")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_vi_split_broadcast_idle_warning_end_and_quit() {
    let home = fresh_home("tabs");
    let fleet = home.join("fleet.toml");
    std::fs::write(&fleet, FLEET).unwrap();
    let mut screen = Screen::spawn(&home, &["demo", "--fleet", fleet.to_str().unwrap()]);
    let before = screen.termios();
    screen.wait_for("tab-two").await;

    open_from_fleet(&mut screen, "tab-one", "tab-two").await;
    screen.wait_for("[1 tab-one]").await;
    // Back to the fleet (the shell keeps running), a second shell in a second tab.
    screen.keys(&format!("{PREFIX}f")).await;
    screen.wait_for("keep running").await;
    open_from_fleet(&mut screen, "tab-two", "tab-one").await;
    screen
        .wait_until("the second tab on screen", |s| {
            s.contains("[2 tab-two]") && s.contains("1 tab-one")
        })
        .await;
    // Switch to the first: its prompt and no second prompt.
    screen.keys(&format!("{PREFIX}1")).await;
    screen
        .wait_until("the first tab again", |s| {
            s.contains("[1 tab-one]")
                && s.contains("ssm-user@tab-one$")
                && !s.contains("ssm-user@tab-two$")
        })
        .await;

    // vi full screen in the tab: its empty-line tildes, then back to the prompt.
    screen.keys("vi /tmp/gangway-tabs-test\r").await;
    screen
        .wait_until("vi's screen", |s| {
            s.lines().filter(|l| l.starts_with('~')).count() > 10
        })
        .await;
    screen.keys("itabs-vi-text\u{1b}").await;
    screen.wait_for("tabs-vi-text").await;
    screen.keys(":q!\r").await;
    screen
        .wait_until("the prompt after vi", |s| {
            !s.contains("tabs-vi-text") && s.contains("ssm-user@tab-one$")
        })
        .await;

    // Two panes side by side, each its own session on tab-one.
    screen.keys(&format!("{PREFIX}s")).await;
    screen
        .wait_until("two panes with a prompt each", |s| {
            s.contains("(pane 2/2)") && s.matches("ssm-user@tab-one$").count() >= 2
        })
        .await;
    // Broadcast asks first, then the bar says so and a command reaches both panes.
    screen.keys(&format!("{PREFIX}b")).await;
    screen.wait_for("Broadcast input").await;
    screen.keys("y").await;
    screen.wait_for("BROADCAST").await;
    screen.keys("echo bc-$((6*7))\r").await;
    screen
        .wait_until("the output in both panes", |s| {
            s.matches("bc-42").count() >= 2
        })
        .await;
    screen.keys(&format!("{PREFIX}b")).await;
    screen
        .wait_until("broadcast off", |s| !s.contains("BROADCAST"))
        .await;

    // Quitting from the fleet while the shells live asks first; n keeps them, t goes back.
    screen.keys(&format!("{PREFIX}f")).await;
    screen.wait_for("keep running").await;
    screen.keys("q").await;
    screen.wait_for("will end: quit?").await;
    screen.keys("n").await;
    screen
        .wait_until("the popup gone", |s| !s.contains("will end: quit?"))
        .await;
    screen.keys("t").await;
    screen.wait_for("(pane 2/2)").await;

    // The idle countdown falls, the warning comes (a one-minute timeout is inside the last
    // two minutes from the start), and the emulator ends the idle session.
    screen
        .wait_until("an idle countdown", |s| idle_left(s).is_some())
        .await;
    let first = idle_left(&screen.text()).unwrap();
    screen
        .wait_until("the countdown to fall", |s| {
            idle_left(s).is_some_and(|left| left < first)
        })
        .await;
    assert!(
        screen.text().contains("idle timeout in"),
        "the warning notice:\n{}",
        screen.text()
    );
    screen.wait_for("ended:").await;
    let ended = screen.text();
    assert!(
        ended.to_lowercase().contains("idle"),
        "the end reason:\n{ended}"
    );

    // Back to the fleet, whose status line says how the shell ended; quit. The other pane's
    // session may not have ended yet: then quitting asks, and y answers.
    screen.keys(&format!("{PREFIX}f")).await;
    screen.wait_for("shell on tab-").await;
    screen.keys("qy").await;
    assert_eq!(screen.exit_status().await, 0, "screen:\n{}", screen.text());
    assert_eq!(
        modes(&screen.termios()),
        modes(&before),
        "terminal modes not restored"
    );
    // Each of the three sessions (two tabs, one split) was recorded, broadcast output too.
    let recordings: Vec<String> = std::fs::read_dir(home.join("state/gangway/recordings"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(recordings.len(), 3, "{recordings:?}");
    assert_eq!(recordings.iter().filter(|r| r.contains("bc-42")).count(), 2);
}

/// A recordings directory that cannot be created (its parent is a file): the shell still
/// opens and the bar says recording is off and why. Then a flood of random bytes (malformed
/// escape sequences among them) into the pane: the prefix key still reaches the UI, which
/// goes to the fleet and back, ctrl-c stops the flood, and closing the live pane asks first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_off_says_why_and_a_flood_of_garbage_leaves_the_prefix_key_working() {
    let home = fresh_home("tabs-flood");
    let fleet = home.join("fleet.toml");
    std::fs::write(&fleet, FLEET.replace("minutes = 1", "minutes = 20")).unwrap();
    let blocker = home.join("not-a-directory");
    std::fs::write(&blocker, "a file").unwrap();
    let config = home.join("config").join("gangway");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[recording]\ndir = \"{}\"\n",
            blocker.join("recordings").display()
        ),
    )
    .unwrap();
    let mut screen = Screen::spawn(&home, &["demo", "--fleet", fleet.to_str().unwrap()]);
    let before = screen.termios();
    screen.wait_for("tab-two").await;
    open_from_fleet(&mut screen, "tab-one", "tab-two").await;
    screen.wait_for("rec off (").await;
    screen.keys("echo ok-$((1+1))\r").await;
    screen.wait_for("ok-2").await;

    screen
        .keys("head -c 400000000 /dev/urandom; echo; echo flood-over\r")
        .await;
    // Whatever the flood did to the pane's screen, the status line stays gangway's.
    screen
        .wait_until("the flood to start", |s| !s.contains("ok-2"))
        .await;
    let asked = std::time::Instant::now();
    screen.keys(&format!("{PREFIX}f")).await;
    screen
        .wait_until("the fleet during the flood", |s| {
            s.contains("keep running") && s.contains("1:fleet")
        })
        .await;
    eprintln!(
        "the fleet came back {:?} after the prefix key",
        asked.elapsed()
    );
    screen.keys("t").await;
    screen.wait_for("[1 tab-one]").await;
    screen.keys("\u{3}").await;
    screen.keys(&format!("{PREFIX}x")).await;
    screen.wait_for("Close a live shell").await;
    screen.keys("y").await;
    screen
        .wait_until("the fleet again", |s| {
            s.contains("1:fleet") && !s.contains("[1 tab-one]")
        })
        .await;
    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0, "screen:\n{}", screen.text());
    assert_eq!(
        modes(&screen.termios()),
        modes(&before),
        "terminal modes not restored"
    );
}
