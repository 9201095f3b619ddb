//! Run Command from the UI, end to end in a real pseudo-terminal against the demo's emulator
//! (issue 14): mark three instances, run `uname -n`, watch the command's view reach three
//! successes, open one instance's output. The pty and screen reader are `tui_demo`'s.
use crate::support::pty::modes;
use crate::tui_demo::{Screen, fresh_home, local_hostname};

/// The instances marked: online, and in the demo user's scope.
const MARKED: [&str; 3] = ["worker-1", "build-1", "onprem-1"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_three_run_uname_and_read_one_output() {
    let home = fresh_home("run");
    let mut screen = Screen::spawn(&home, &["demo"]);
    let before = screen.termios();
    screen.wait_for("worker-1").await;
    for name in MARKED {
        // ctrl-u empties the filter, the name leaves one row, space marks it.
        screen.keys(&format!("/\u{15}{name}\r")).await;
        screen
            .wait_until("the filter to leave one row", |s| {
                s.contains(&format!("filter: {name}")) && !s.contains("web-1")
            })
            .await;
        screen.keys(" ").await;
        screen.wait_for(&format!("● {name}")).await;
    }
    // Back to the whole fleet: the marks stay.
    screen.keys("/\u{15}\r").await;
    screen
        .wait_until("the whole fleet with three marks", |s| {
            s.contains("web-1") && s.matches('●').count() == 3
        })
        .await;

    screen.keys("!").await;
    screen.wait_for("Command for 3 instance(s)").await;
    screen.keys("uname -n\r").await;
    screen.wait_for("Run on these 3 instance(s)?").await;
    let confirm = screen.text();
    for name in MARKED {
        assert!(confirm.contains(name), "{name} named:\n{confirm}");
    }
    assert!(confirm.contains("AWS-RunShellScript"), "{confirm}");
    screen.keys("y").await;

    // The command's view follows it until all three have succeeded.
    screen.wait_for("Success 3").await;
    let view = screen.text();
    assert!(view.contains("finished"), "{view}");
    for name in MARKED {
        assert!(view.contains(name), "{name} listed:\n{view}");
    }

    screen.keys("\r").await;
    screen.wait_for("Success, exit code 0").await;
    let text = screen.text();
    let lines: Vec<&str> = text.lines().collect();
    let title = lines
        .iter()
        .position(|l| l.contains("output of "))
        .unwrap_or_else(|| panic!("no output pane:\n{text}"));
    // `uname -n` prints the instance's own name where the machine allows a UTS namespace
    // (root), else the machine's (docs/emulator.md).
    let expected: Vec<String> = if gangway::emulator::agent::own_host_name::supported() {
        MARKED.iter().map(|n| (*n).to_owned()).collect()
    } else {
        vec![local_hostname()]
    };
    assert!(
        lines[title + 1..]
            .iter()
            .any(|l| expected.iter().any(|e| l.trim() == e)),
        "one of {expected:?} in the output:\n{text}"
    );

    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0, "screen:\n{}", screen.text());
    assert_eq!(
        modes(&screen.termios()),
        modes(&before),
        "terminal modes not restored"
    );
}
