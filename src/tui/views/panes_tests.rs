//! Shell tabs drawn at 120x40 and 80x24 (insta): one tab with its status line, the warning
//! before the idle timeout, two panes with broadcast on, an ended pane, recording off, and a
//! window too small for the status line.
#![allow(clippy::unwrap_used)]

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{render, text_of};
use crate::tui::model::Model;
use crate::tui::msg::{Msg, PaneMsg};
use crate::tui::panes::status;
use crate::tui::update::panes_tests::{ended, with_open_tab};
use crate::tui::update::update;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn prefixed(m: &mut Model, ch: char) {
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::CONTROL)),
    );
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE)),
    );
}

fn prompt(m: &Model, pane: usize, text: &str) {
    let tab = m.tabs.current_tab().unwrap();
    tab.panes[pane].screen.feed(text.as_bytes());
}

fn snapshot(name: &str, build: impl Fn() -> Model) {
    for (w, h) in SIZES {
        let mut m = build();
        let buffer = render(&mut m, w, h);
        insta::assert_snapshot!(format!("tab_{name}_{w}x{h}"), text_of(&buffer));
    }
}

#[test]
fn one_tab_with_its_status_line() {
    snapshot("one", || {
        let (m, _) = with_open_tab("web-1", 75, 5);
        prompt(
            &m,
            0,
            "ssm-user@web-1$ ls --color\r\n\x1b[1;34mdir\x1b[0m  결제.txt\r\nssm-user@web-1$ ",
        );
        m
    });
}

#[test]
fn the_last_two_minutes_before_the_idle_timeout_warn() {
    snapshot("warning", || {
        let (m, _) = with_open_tab("web-1", 20 * 60, 19 * 60 + 10);
        prompt(&m, 0, "ssm-user@web-1$ ");
        m
    });
    let (m, _) = with_open_tab("web-1", 20 * 60, 19 * 60 + 10);
    let line = status::line(&m, 120);
    assert!(line.warning);
    assert!(
        line.notice
            .as_deref()
            .unwrap()
            .starts_with("idle timeout in 50s")
    );
    assert!(status::text(&line).contains("idle left 50s"));
}

#[test]
fn two_panes_with_broadcast_on() {
    snapshot("broadcast", || {
        let (mut m, _) = with_open_tab("web-1", 75, 5);
        prefixed(&mut m, 's');
        prefixed(&mut m, 'b');
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
        );
        prompt(
            &m,
            0,
            "ssm-user@web-1$ uptime\r\n 10:00 up 3 days\r\nssm-user@web-1$ ",
        );
        prompt(&m, 1, "ssm-user@web-1$ ");
        m
    });
}

#[test]
fn quitting_with_a_live_shell_asks_first() {
    for (w, h) in SIZES {
        let (mut m, _) = with_open_tab("web-1", 75, 5);
        m.size = (w, h);
        prefixed(&mut m, 'f');
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
        );
        let buffer = render(&mut m, w, h);
        insta::assert_snapshot!(format!("quit_confirm_{w}x{h}"), text_of(&buffer));
    }
}

#[test]
fn an_ended_pane_keeps_its_screen_and_says_why() {
    snapshot("ended", || {
        let (mut m, id) = with_open_tab("web-1", 75, 5);
        prompt(&m, 0, "ssm-user@web-1$ exit 3\r\n");
        update(
            &mut m,
            ended(
                id,
                "session dev-0a1b2c3d4e5f60002 exited with status 3",
                Some(3),
            ),
        );
        m
    });
}

#[test]
fn recording_off_says_why() {
    let (mut m, id) = with_open_tab("web-1", 75, 5);
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Recording {
                off_because: Some(
                    "recording off: cannot create /ro/rec: Permission denied (os error 13)".into(),
                ),
            },
        },
    );
    let text = status::text(&status::line(&m, 200));
    assert!(
        text.contains("rec off (cannot create /ro/rec: Permission denied"),
        "{text}"
    );
}

#[test]
fn a_window_too_small_says_so_and_tiny_sizes_do_not_panic() {
    let (mut m, _) = with_open_tab("web-1", 75, 5);
    let text = text_of(&render(&mut m, 40, 2));
    assert!(text.contains("window too small"), "{text}");
    for (w, h) in [(1, 1), (0, 0), (11, 3), (3, 40)] {
        render(&mut m, w, h);
    }
}
