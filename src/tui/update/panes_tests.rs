//! Shell tabs without a terminal: keys in, tabs, panes and effects out (issue 13).
#![allow(clippy::unwrap_used)]

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::aws::types::InstanceId;
use crate::tui::fixtures;
use crate::tui::keymap::Keymap;
use crate::tui::model::{Confirmed, Mode, Settings, ShellTarget};
use crate::tui::msg::{PaneMsg, ShellReport};
use crate::tui::panes::Connection;

pub(crate) fn target(name: &str) -> ShellTarget {
    ShellTarget {
        instance_id: InstanceId::from_aws("i-a1b2c3d4e5f600001"),
        name: Some(name.into()),
        region: "us-east-1".into(),
    }
}

pub(crate) fn model() -> Model {
    let mut m = Model::new(
        fixtures::now(),
        vec!["us-east-1".into()],
        Keymap::defaults(false),
        Settings::default(),
    );
    m.size = (120, 40);
    init(&mut m);
    update(
        &mut m,
        Msg::PreferencesLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::preferences()),
        },
    );
    m
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn prefix() -> Msg {
    // What crossterm reads for 0x1d.
    Msg::Key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::CONTROL))
}

fn opened_ids(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::OpenPane { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// The message a pane gets when the session `with_open_tab` started ends: `summary`, and the
/// exit status if the session reported one.
pub(crate) fn ended(id: u64, summary: &str, exit_code: Option<i32>) -> Msg {
    Msg::Pane {
        id,
        event: PaneMsg::Ended(Ok(ShellReport {
            session_id: Some("dev-0a1b2c3d4e5f60002".into()),
            summary: summary.into(),
            ended_at: fixtures::now(),
            exit_code,
        })),
    }
}

/// A model with one tab whose pane's session started `age` ago and was last active `idle` ago.
pub(crate) fn with_open_tab(name: &str, age: u64, idle: u64) -> (Model, u64) {
    let mut m = model();
    let effects = panes::open(&mut m, target(name), None);
    let id = opened_ids(&effects)[0];
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Started {
                session_id: "dev-0a1b2c3d4e5f60002".into(),
                at: fixtures::ago(age),
            },
        },
    );
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Recording { off_because: None },
        },
    );
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Output {
                at: fixtures::ago(idle),
            },
        },
    );
    (m, id)
}

#[test]
fn opening_a_shell_makes_a_tab_and_the_session_fills_the_screen_but_the_status_line() {
    let mut m = model();
    let effects = panes::open(&mut m, target("web-1"), Some("OPS-1".into()));
    let [Effect::OpenPane { size, reason, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(*size, (120, 39));
    assert_eq!(reason.as_deref(), Some("OPS-1"));
    assert!(m.tabs.showing);
    assert_eq!(m.tabs.focused().unwrap().connection, Connection::Opening);
}

#[test]
fn the_hand_over_stays_a_choice() {
    let mut m = model();
    m.settings.embedded_shells = false;
    let effects = panes::open(&mut m, target("web-1"), None);
    assert!(matches!(effects[..], [Effect::OpenShell { .. }]));
    assert!(m.tabs.tabs.is_empty());
}

#[test]
fn keys_go_to_the_session_encoded_as_the_remote_program_asked() {
    let (mut m, id) = with_open_tab("web-1", 60, 5);
    let effects = update(&mut m, key(KeyCode::Char('q')));
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id,
            bytes: b"q".to_vec()
        }]
    );
    // Typing is activity: the idle clock and the sessions view's record restart now.
    let pane = m.tabs.focused().unwrap();
    assert_eq!(pane.last_activity, Some(m.now));
    assert_eq!(m.opened["dev-0a1b2c3d4e5f60002"].last_activity, m.now);
    pane.screen.feed(b"\x1b[?1h");
    let effects = update(&mut m, key(KeyCode::Up));
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id,
            bytes: b"\x1bOA".to_vec()
        }]
    );
    let effects = update(&mut m, Msg::Paste("a\nb".into()));
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id,
            bytes: b"a\rb".to_vec()
        }]
    );
}

#[test]
fn the_prefix_key_leads_to_the_ui_and_twice_sends_itself() {
    let (mut m, id) = with_open_tab("web-1", 60, 5);
    assert!(update(&mut m, prefix()).is_empty());
    assert!(m.tabs.prefix_armed);
    let effects = update(&mut m, prefix());
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id,
            bytes: vec![0x1d]
        }]
    );
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('f')));
    assert!(!m.tabs.showing, "back to the fleet");
    assert!(m.status.as_ref().unwrap().text.contains("keep running"));
    // `t` shows the tabs again.
    update(&mut m, key(KeyCode::Char('t')));
    assert!(m.tabs.showing);
}

#[test]
fn tabs_switch_by_number_and_in_turn() {
    let (mut m, _) = with_open_tab("web-1", 60, 5);
    panes::open(&mut m, target("web-2"), None);
    panes::open(&mut m, target("web-3"), None);
    assert_eq!(m.tabs.current, 2);
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('1')));
    assert_eq!(m.tabs.current, 0);
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('p')));
    assert_eq!(m.tabs.current, 2);
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('n')));
    assert_eq!(m.tabs.current, 0);
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('9')));
    assert_eq!(m.tabs.current, 0, "no tab 9");
}

#[test]
fn splitting_resizes_the_panes_up_to_four() {
    let (mut m, first) = with_open_tab("web-1", 60, 5);
    update(&mut m, prefix());
    let effects = update(&mut m, key(KeyCode::Char('s')));
    assert!(effects.contains(&Effect::PaneResize {
        id: first,
        size: (60, 39)
    }));
    assert_eq!(opened_ids(&effects).len(), 1);
    for _ in 0..2 {
        update(&mut m, prefix());
        update(&mut m, key(KeyCode::Char('s')));
    }
    assert_eq!(m.tabs.current_tab().unwrap().panes.len(), 4);
    update(&mut m, prefix());
    assert!(update(&mut m, key(KeyCode::Char('s'))).is_empty());
    assert!(m.status.as_ref().unwrap().text.contains("at most 4"));
    // A narrower window resizes every pane's session.
    let effects = update(&mut m, Msg::Resize(80, 24));
    assert_eq!(effects.len(), 4);
}

#[test]
fn broadcast_asks_first_and_reaches_the_marked_panes_only() {
    let (mut m, first) = with_open_tab("web-1", 60, 5);
    update(&mut m, prefix());
    let effects = update(&mut m, key(KeyCode::Char('s')));
    let second = opened_ids(&effects)[0];
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('b')));
    assert!(matches!(
        &m.mode,
        Mode::Confirm(c) if c.action == Confirmed::Broadcast
    ));
    update(&mut m, key(KeyCode::Char('y')));
    assert!(m.tabs.broadcast);
    let effects = update(&mut m, key(KeyCode::Char('x')));
    let ids: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::PaneInput { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, [first, second]);
    // Unmark the focused (second) pane: only the first gets input.
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('m')));
    let effects = update(&mut m, key(KeyCode::Char('x')));
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id: first,
            bytes: b"x".to_vec()
        }]
    );
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('b')));
    assert!(!m.tabs.broadcast, "the second b turns it off at once");
}

#[test]
fn closing_a_live_shell_asks_and_an_ended_one_shows_its_end_until_closed() {
    let (mut m, id) = with_open_tab("web-1", 60, 5);
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('x')));
    assert!(matches!(&m.mode, Mode::Confirm(c) if c.action == Confirmed::ClosePane(id)));
    update(&mut m, key(KeyCode::Char('n')));
    assert_eq!(m.tabs.tabs.len(), 1, "kept");
    update(
        &mut m,
        ended(
            id,
            "Session dev-0a1b2c3d4e5f60002 ended: idle timeout",
            None,
        ),
    );
    let pane = m.tabs.focused().unwrap();
    assert!(pane.end.as_ref().unwrap().summary.contains("idle timeout"));
    assert!(
        m.status
            .as_ref()
            .unwrap()
            .text
            .contains("shell on web-1 ended")
    );
    // Keys no longer go anywhere; enter closes the tab and the fleet is back.
    assert!(update(&mut m, key(KeyCode::Char('a'))).is_empty());
    let effects = update(&mut m, key(KeyCode::Enter));
    assert_eq!(effects, [Effect::ClosePane(id)]);
    assert!(m.tabs.tabs.is_empty() && !m.tabs.showing);
}

#[test]
fn quitting_with_live_shells_asks_first() {
    let (mut m, _) = with_open_tab("web-1", 60, 5);
    // Back to the fleet: the shell keeps running there.
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('f')));
    assert!(!m.tabs.showing);
    update(&mut m, key(KeyCode::Char('q')));
    assert!(!m.quit, "asked first");
    let Mode::Confirm(confirm) = &m.mode else {
        panic!("no confirmation: {:?}", m.mode)
    };
    assert_eq!(confirm.action, Confirmed::Quit);
    assert_eq!(confirm.lines[0], "1 live session will end: quit?");
    assert!(confirm.lines[1].contains("dev-0a1b2c3d4e5f60002 on web-1"));
    // n stays, and nothing is ended.
    assert!(update(&mut m, key(KeyCode::Char('n'))).is_empty());
    assert!(!m.quit && m.mode == Mode::Normal && m.tabs.live_panes() == 1);
    // `:q` asks the same way, and y quits.
    update(&mut m, key(KeyCode::Char(':')));
    update(&mut m, key(KeyCode::Char('q')));
    update(&mut m, key(KeyCode::Enter));
    assert!(matches!(&m.mode, Mode::Confirm(c) if c.action == Confirmed::Quit));
    update(&mut m, key(KeyCode::Char('y')));
    assert!(m.quit);

    // `:q!` quits without asking, as in vi.
    let (mut m, _) = with_open_tab("web-1", 60, 5);
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('f')));
    for c in [':', 'q', '!'] {
        update(&mut m, key(KeyCode::Char(c)));
    }
    update(&mut m, key(KeyCode::Enter));
    assert!(m.quit && m.mode == Mode::Normal);

    // Once no session is live, q quits at once.
    let (mut m, id) = with_open_tab("web-1", 60, 5);
    update(
        &mut m,
        ended(id, "Session dev-0a1b2c3d4e5f60002 ended", Some(0)),
    );
    update(&mut m, prefix());
    update(&mut m, key(KeyCode::Char('f')));
    assert_eq!(m.tabs.live_panes(), 0);
    update(&mut m, key(KeyCode::Char('q')));
    assert!(m.quit);
}

#[test]
fn a_shell_that_cannot_start_says_why_in_its_tab() {
    let mut m = model();
    let id = opened_ids(&panes::open(&mut m, target("web-1"), None))[0];
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Ended(Err("AccessDeniedException: no".into())),
        },
    );
    let end = m.tabs.focused().unwrap().end.clone().unwrap();
    assert!(end.summary.starts_with("could not start"), "{end:?}");
}

#[test]
fn resuming_and_resumed_show_in_the_pane() {
    let (mut m, id) = with_open_tab("web-1", 60, 5);
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Reconnecting,
        },
    );
    assert_eq!(m.tabs.focused().unwrap().connection, Connection::Resuming);
    update(
        &mut m,
        Msg::Pane {
            id,
            event: PaneMsg::Reconnected,
        },
    );
    assert_eq!(m.tabs.focused().unwrap().connection, Connection::Resumed);
}

#[test]
fn paging_through_the_scrollback_and_back_to_the_live_screen() {
    let (mut m, id) = with_open_tab("web-1", 60, 5);
    let screen = m.tabs.focused().unwrap().screen.clone();
    for n in 1..=200 {
        screen.feed(format!("line-{n}\r\n").as_bytes());
    }
    let top = |m: &Model| {
        m.tabs
            .focused()
            .unwrap()
            .screen
            .contents()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    // 39 rows: line-162 … line-200 and the empty prompt line; a page is 37 lines.
    assert_eq!(top(&m), "line-163");
    update(&mut m, prefix());
    assert!(update(&mut m, key(KeyCode::Char('['))).is_empty());
    assert_eq!(m.tabs.scrollback, 37);
    assert_eq!(top(&m), "line-126");
    // Paged back, pgup goes on without the prefix and the bar says where the view is.
    assert!(update(&mut m, key(KeyCode::PageUp)).is_empty());
    assert_eq!(top(&m), "line-89");
    let line = crate::tui::panes::status::line(&m, 120);
    assert!(
        crate::tui::panes::status::text(&line).contains("scrolled back 74 lines"),
        "{line:?}"
    );
    update(&mut m, key(KeyCode::PageDown));
    assert_eq!(top(&m), "line-126");
    // Typing goes to the session and returns to the live screen.
    let effects = update(&mut m, key(KeyCode::Char('x')));
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id,
            bytes: b"x".to_vec()
        }]
    );
    assert_eq!((m.tabs.scrollback, top(&m)), (0, "line-163".to_owned()));
    // On the live screen pgup is the remote program's key.
    let effects = update(&mut m, key(KeyCode::PageUp));
    assert_eq!(
        effects,
        [Effect::PaneInput {
            id,
            bytes: b"\x1b[5~".to_vec()
        }]
    );
    // Paging back past the oldest line stops there.
    for _ in 0..10 {
        update(&mut m, prefix());
        update(&mut m, key(KeyCode::Char('[')));
    }
    assert_eq!(top(&m), "line-1");
    assert_eq!(m.tabs.scrollback, 162);
}

#[test]
fn mouse_reports_go_to_the_focused_pane_in_its_own_coordinates() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let (mut m, first) = with_open_tab("web-1", 60, 5);
    update(&mut m, prefix());
    let effects = update(&mut m, key(KeyCode::Char('s')));
    let second = opened_ids(&effects)[0];
    let click = |column, row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // The second pane starts at column 61 (60 columns, then the rule).
    assert!(update(&mut m, click(65, 2)).is_empty(), "not asked for");
    let screen = m.tabs.focused().unwrap().screen.clone();
    screen.feed(b"\x1b[?1000h\x1b[?1006h");
    assert_eq!(
        update(&mut m, click(65, 2)),
        [Effect::PaneInput {
            id: second,
            bytes: b"\x1b[<0;5;3M".to_vec()
        }]
    );
    // A click on the other pane, or on the rule, is not the focused program's.
    assert!(update(&mut m, click(10, 2)).is_empty());
    assert!(update(&mut m, click(60, 2)).is_empty());
    // Nor the status line.
    assert!(update(&mut m, click(65, 39)).is_empty());
    assert_ne!(first, second);
}
