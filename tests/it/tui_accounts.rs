//! The UI across accounts (issue 13), in a real pseudo-terminal: the config's `[[accounts]]`
//! (a profile, a role assumed from it, and a role that cannot be assumed) against an
//! emulator serving two accounts in two regions. Rows of both reachable accounts appear
//! with the ACCOUNT column, the banner names the one that failed and why, and the filter
//! finds an account by name and by id. AWS files are the test's own, never ~/.aws.

use crate::support::accounts::{ACCOUNT_B, LOCKED_ROLE, OPS_ROLE, Sandbox};
use crate::support::pty::modes;
use crate::tui_demo::{Screen, fresh_home};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_load_side_by_side_and_a_failing_one_is_in_the_banner() {
    let sandbox = Sandbox::new("tui");
    let emulator = sandbox.emulator();
    let home = fresh_home("accounts");
    std::fs::create_dir_all(home.join("config/gangway")).unwrap();
    std::fs::write(
        home.join("config/gangway/config.toml"),
        format!(
            "[[accounts]]\nname = \"main\"\nprofile = \"main\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n\
             [[accounts]]\nname = \"ops\"\nrole_arn = \"{OPS_ROLE}\"\nsource_profile = \"main\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n\
             [[accounts]]\nname = \"vault\"\nrole_arn = \"{LOCKED_ROLE}\"\nsource_profile = \"main\"\nregions = [\"us-east-1\"]\n"
        ),
    )
    .unwrap();
    let env = sandbox.env(&emulator.endpoint);
    let env: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| k != "HOME" && k != "PATH")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut screen = Screen::spawn_in(&home, &[], &env);
    let before = screen.termios();
    let rows = |s: &str| s.lines().filter(|l| l.contains("i-0")).count();
    // main: a-east-web and a-everywhere in us-east-1, a-west-web and a-everywhere in
    // eu-west-1; ops: b-east-db and b-west-cache.
    screen
        // Whole rows, not a count of ids: a screen read mid-draw can hold a row cut after
        // its id (seen once in CI: `b-west-cache  ops  ✓  i-0b` and the rest not yet drawn).
        .wait_until("six rows of two accounts and the vault banner", |s| {
            rows(s) == 6
                && s.contains("b-east-db")
                && s.contains("a-west-web")
                && s.lines().any(|l| {
                    l.contains("b-west-cache") && l.contains("ops") && l.contains("eu-west-1")
                })
                && s.contains("vault/us-east-1")
                && s.contains("sts:AssumeRole")
        })
        .await;
    let text = screen.text();
    assert!(text.contains("ACCOUNT"), "{text}");
    assert!(text.contains("REGION"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("b-west-cache") && l.contains("ops") && l.contains("eu-west-1")),
        "{text}"
    );
    assert!(
        text.contains("sts:AssumeRole"),
        "the banner says why the role failed:\n{text}"
    );
    // The filter by account name, then by account id.
    screen.keys("/ops").await;
    screen
        .wait_until("the ops rows only", |s| {
            rows(s) == 2 && s.contains("b-east-db") && s.contains("b-west-cache")
        })
        .await;
    screen.keys("\x1b").await;
    screen.wait_until("every row again", |s| rows(s) == 6).await;
    screen.keys(&format!("/{ACCOUNT_B}")).await;
    screen
        .wait_until("account B's rows by id", |s| {
            rows(s) == 2 && s.contains("b-east-db") && !s.contains("a-east-web")
        })
        .await;
    screen.keys("\x1b").await;
    // Apart from the Esc: together they would read as Alt-q.
    screen.wait_until("every row again", |s| rows(s) == 6).await;
    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0, "{}", screen.text());
    assert_eq!(modes(&screen.termios()), modes(&before));
}

/// `gangway --profile main,nope`: `nope` is in no AWS file, so that account cannot build its
/// clients; the banner names it and why from the first frame, and main's rows still load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_cannot_build_its_clients_is_in_the_banner_beside_the_others_rows() {
    let sandbox = Sandbox::new("tui-missing");
    let emulator = sandbox.emulator();
    let home = fresh_home("accounts-missing");
    let env = sandbox.env(&emulator.endpoint);
    let env: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| k != "HOME" && k != "PATH")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut screen = Screen::spawn_in(&home, &["--profile", "main,nope"], &env);
    let before = screen.termios();
    screen
        .wait_until("main's rows and the banner naming nope", |s| {
            s.contains("a-east-web") && s.contains("a-everywhere") && s.contains("nope")
        })
        .await;
    let text = screen.text();
    assert!(
        text.contains("does not exist"),
        "the banner says why:\n{text}"
    );
    screen.keys("q").await;
    assert_eq!(screen.exit_status().await, 0, "{}", screen.text());
    assert_eq!(modes(&screen.termios()), modes(&before));
}
