//! Shells inside the UI (issue 13): opening one in a new tab, keys while a tab is on screen
//! (to the session, or after the prefix key to the UI), splitting into panes, broadcast,
//! closing, and what the sessions report.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent};
use ratatui::layout::Rect;

use crate::text;
use crate::tui::effect::Effect;
use crate::tui::model::{Confirm, Confirmed, Level, Mode, Model, OpenedSession, ShellTarget};
use crate::tui::msg::{PaneMsg, ShellReport};
use crate::tui::panes::keys::{encode_key, encode_mouse, encode_paste};
use crate::tui::panes::{Connection, MAX_PANES, Pane, PaneEnd, Recording, Tab, layout};

/// Lines of the last page kept on screen when paging, so the eye finds its place.
const PAGE_OVERLAP: usize = 2;

/// Opens a shell on `target`: in a new tab when shells are embedded, else the hand-over.
pub fn open(model: &mut Model, target: ShellTarget, reason: Option<String>) -> Vec<Effect> {
    if !model.settings.embedded_shells {
        return vec![Effect::OpenShell { target, reason }];
    }
    to_live(model);
    let size = layout::pane_sizes(model.size, 1)[0];
    let id = model.tabs.next_id();
    let pane = Pane::new(id, target.clone(), size);
    let screen = pane.screen.clone();
    model.tabs.tabs.push(Tab {
        panes: vec![pane],
        focused: 0,
    });
    model.tabs.current = model.tabs.tabs.len() - 1;
    model.tabs.showing = true;
    vec![Effect::OpenPane {
        id,
        target,
        reason,
        size,
        screen,
    }]
}

/// A key while a tab is on screen.
pub fn on_key(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    if model.tabs.prefix_armed {
        model.tabs.prefix_armed = false;
        return on_prefixed(model, key);
    }
    if is_prefix(model, key) {
        model.tabs.prefix_armed = true;
        return Vec::new();
    }
    let Some(pane) = model.tabs.focused() else {
        model.tabs.showing = false;
        return Vec::new();
    };
    // Paged back: pgup/pgdn go on paging without the prefix (as in tmux's copy mode); any
    // other key returns to the live screen and goes to the session.
    if model.tabs.scrollback > 0 && key.modifiers.is_empty() {
        match key.code {
            KeyCode::PageUp => return scroll(model, true),
            KeyCode::PageDown => return scroll(model, false),
            _ => {}
        }
    }
    if !pane.is_live() {
        // An ended pane shows its end until closed: enter or q closes it.
        if matches!(key.code, KeyCode::Enter | KeyCode::Char('q')) {
            return close_focused(model);
        }
        return Vec::new();
    }
    let modes = pane.screen.input_modes();
    match encode_key(key, modes) {
        Some(bytes) => send(model, bytes),
        None => Vec::new(),
    }
}

/// Whether `key` is the prefix. Compared by the bytes a terminal sends, since crossterm
/// reads ctrl-] (0x1d) as ctrl-5.
fn is_prefix(model: &Model, key: &KeyEvent) -> bool {
    let prefix = model.settings.prefix;
    if crate::tui::chord::Chord::from_event(key) == prefix {
        return true;
    }
    let mut modifiers = KeyModifiers::NONE;
    if prefix.ctrl {
        modifiers |= KeyModifiers::CONTROL;
    }
    if prefix.alt {
        modifiers |= KeyModifiers::ALT;
    }
    let modes = Default::default();
    let wanted = encode_key(&KeyEvent::new(prefix.code, modifiers), modes);
    wanted.is_some() && wanted == encode_key(key, modes)
}

/// Pasted text, to the session(s) as the remote program asked for it.
pub fn on_paste(model: &mut Model, text: &str) -> Vec<Effect> {
    model.tabs.prefix_armed = false;
    let Some(pane) = model.tabs.focused().filter(|p| p.is_live()) else {
        return Vec::new();
    };
    let bytes = encode_paste(text, pane.screen.input_modes());
    send(model, bytes)
}

/// A mouse event: to the focused pane's session only when its program asked for mouse
/// reports and the event is inside that pane.
pub fn on_mouse(model: &mut Model, event: &MouseEvent) -> Vec<Effect> {
    let Some(tab) = model.tabs.current_tab() else {
        return Vec::new();
    };
    let (body, _) = layout::split(Rect::new(0, 0, model.size.0, model.size.1));
    let rects = layout::panes(body, tab.panes.len());
    let Some(pane) = tab.focused().filter(|p| p.is_live()) else {
        return Vec::new();
    };
    let Some(rect) = rects.get(tab.focused) else {
        return Vec::new();
    };
    if !rect.contains(ratatui::layout::Position::new(event.column, event.row)) {
        return Vec::new();
    }
    let modes = pane.screen.input_modes();
    let (column, row) = (event.column - rect.x, event.row - rect.y);
    match encode_mouse(event, column, row, modes) {
        Some(bytes) => vec![Effect::PaneInput { id: pane.id, bytes }],
        None => Vec::new(),
    }
}

/// Input to the focused pane, or with broadcast on to every marked live pane of the tab.
fn send(model: &mut Model, bytes: Vec<u8>) -> Vec<Effect> {
    let now = model.now;
    let broadcast = model.tabs.broadcast;
    to_live(model);
    let Some(tab) = model.tabs.current_tab_mut() else {
        return Vec::new();
    };
    let focused = tab.focused;
    let mut effects = Vec::new();
    for (at, pane) in tab.panes.iter_mut().enumerate() {
        let chosen = if broadcast {
            pane.marked
        } else {
            at == focused
        };
        if !chosen || !pane.is_live() {
            continue;
        }
        pane.screen.set_scrollback(0);
        pane.last_activity = Some(now);
        effects.push(Effect::PaneInput {
            id: pane.id,
            bytes: bytes.clone(),
        });
    }
    for effect in &effects {
        if let Effect::PaneInput { id, .. } = effect {
            touch_opened(model, *id, now);
        }
    }
    effects
}

/// The key after the prefix.
fn on_prefixed(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    if is_prefix(model, key) {
        // Prefix twice: the prefix itself to the session.
        return match model.tabs.focused().filter(|p| p.is_live()) {
            Some(pane) => match encode_key(key, pane.screen.input_modes()) {
                Some(bytes) => send(model, bytes),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
    }
    let count = model.tabs.tabs.len();
    match key.code {
        KeyCode::Char('f') | KeyCode::Esc => {
            model.tabs.showing = false;
            let live = model.tabs.live_panes();
            if live > 0 {
                model.set_status(
                    Level::Info,
                    format!("{live} shell(s) keep running; t goes back to them"),
                );
            }
            Vec::new()
        }
        KeyCode::Char('n') if count > 0 => select(model, (model.tabs.current + 1) % count),
        KeyCode::Char('p') if count > 0 => select(model, (model.tabs.current + count - 1) % count),
        KeyCode::Char(digit @ '1'..='9') => {
            let at = usize::from(digit as u8 - b'1');
            if at < count {
                select(model, at)
            } else {
                Vec::new()
            }
        }
        KeyCode::Char('s' | '|' | '%') => split(model),
        KeyCode::Tab | KeyCode::Char('o') => {
            to_live(model);
            if let Some(tab) = model.tabs.current_tab_mut() {
                tab.focused = (tab.focused + 1) % tab.panes.len().max(1);
            }
            Vec::new()
        }
        KeyCode::Char('x') => ask_close(model),
        KeyCode::Char('m') => {
            if let Some(tab) = model.tabs.current_tab_mut()
                && let Some(pane) = tab.panes.get_mut(tab.focused)
            {
                pane.marked = !pane.marked;
            }
            Vec::new()
        }
        KeyCode::Char('b') => {
            if model.tabs.broadcast {
                model.tabs.broadcast = false;
                return Vec::new();
            }
            let marked = model.tabs.current_tab().map_or(0, |t| {
                t.panes.iter().filter(|p| p.marked && p.is_live()).count()
            });
            model.mode = Mode::Confirm(Confirm {
                title: "Broadcast input".into(),
                lines: vec![
                    format!("Everything typed goes to the {marked} marked pane(s) of this tab"),
                    "until the prefix then b again.".into(),
                ],
                action: Confirmed::Broadcast,
            });
            Vec::new()
        }
        KeyCode::Char('[') | KeyCode::PageUp => scroll(model, true),
        KeyCode::Char(']') | KeyCode::PageDown => scroll(model, false),
        _ => Vec::new(),
    }
}

/// A page back (or forward) in the focused pane's scrollback: its height less
/// `PAGE_OVERLAP` lines.
fn scroll(model: &mut Model, back: bool) -> Vec<Effect> {
    let Some(pane) = model.tabs.focused() else {
        return Vec::new();
    };
    let page = usize::from(pane.size.1).saturating_sub(PAGE_OVERLAP).max(1);
    let lines = if back {
        model.tabs.scrollback.saturating_add(page)
    } else {
        model.tabs.scrollback.saturating_sub(page)
    };
    pane.screen.set_scrollback(lines);
    // The screen clamps to what it holds.
    model.tabs.scrollback = pane.screen.with_screen(vt100::Screen::scrollback);
    model.tabs.prefix_armed = false;
    Vec::new()
}

/// The focused pane back on its live screen (what scrollback it was paged into is left).
fn to_live(model: &mut Model) {
    if model.tabs.scrollback > 0
        && let Some(pane) = model.tabs.focused()
    {
        pane.screen.set_scrollback(0);
    }
    model.tabs.scrollback = 0;
}

fn select(model: &mut Model, at: usize) -> Vec<Effect> {
    to_live(model);
    model.tabs.current = at;
    model.tabs.showing = true;
    Vec::new()
}

/// Shows the tabs again (from the fleet), the last one on screen.
pub fn show(model: &mut Model) -> Vec<Effect> {
    if model.tabs.tabs.is_empty() {
        model.set_status(Level::Info, "no shell tabs: enter on an instance opens one");
        return Vec::new();
    }
    let at = model.tabs.current.min(model.tabs.tabs.len() - 1);
    select(model, at)
}

/// A new pane in the current tab, a shell on the same target, and every pane resized.
fn split(model: &mut Model) -> Vec<Effect> {
    let Some(tab) = model.tabs.current_tab() else {
        return Vec::new();
    };
    let count = tab.panes.len() + 1;
    if count > MAX_PANES {
        model.set_status(Level::Warn, format!("at most {MAX_PANES} panes in a tab"));
        return Vec::new();
    }
    if !layout::fits(model.size, count) {
        model.set_status(
            Level::Warn,
            format!("the window is too narrow for {count} panes"),
        );
        return Vec::new();
    }
    let Some(target) = tab.focused().map(|p| p.target.clone()) else {
        return Vec::new();
    };
    to_live(model);
    let id = model.tabs.next_id();
    let size = layout::pane_sizes(model.size, count)[count - 1];
    let pane = Pane::new(id, target.clone(), size);
    let screen = pane.screen.clone();
    if let Some(tab) = model.tabs.current_tab_mut() {
        tab.panes.push(pane);
        tab.focused = tab.panes.len() - 1;
    }
    let mut effects = resize_all(model);
    effects.push(Effect::OpenPane {
        id,
        target,
        reason: None,
        size,
        screen,
    });
    effects
}

fn ask_close(model: &mut Model) -> Vec<Effect> {
    let Some(pane) = model.tabs.focused() else {
        return Vec::new();
    };
    if !pane.is_live() {
        return close_focused(model);
    }
    let label = text::fit(pane.label(), 40);
    let session = pane.session_id.clone().unwrap_or_else(|| "opening".into());
    model.mode = Mode::Confirm(Confirm {
        title: "Close a live shell".into(),
        lines: vec![
            format!("The session {session} on {label} is still running."),
            "Closing ends it (TerminateSession).".into(),
        ],
        action: Confirmed::ClosePane(pane.id),
    });
    Vec::new()
}

/// Closes the focused pane (its tab when it was the last), ending a live session.
pub fn close_focused(model: &mut Model) -> Vec<Effect> {
    let Some(id) = model.tabs.focused().map(|p| p.id) else {
        return Vec::new();
    };
    close(model, id)
}

/// Closes pane `id`: the session is ended if live, the pane forgotten, the others resized.
pub fn close(model: &mut Model, id: u64) -> Vec<Effect> {
    to_live(model);
    let tabs = &mut model.tabs;
    let Some(tab_at) = tabs
        .tabs
        .iter()
        .position(|t| t.panes.iter().any(|p| p.id == id))
    else {
        return Vec::new();
    };
    let tab = &mut tabs.tabs[tab_at];
    let at = tab.panes.iter().position(|p| p.id == id).unwrap_or(0);
    let pane = tab.panes.remove(at);
    tab.focused = tab.focused.min(tab.panes.len().saturating_sub(1));
    if tab.panes.is_empty() {
        tabs.tabs.remove(tab_at);
        if tabs.current >= tabs.tabs.len() {
            tabs.current = tabs.tabs.len().saturating_sub(1);
        }
        if tabs.tabs.is_empty() {
            tabs.showing = false;
            tabs.broadcast = false;
        }
    }
    let mut effects = resize_all(model);
    // A pane whose session ended has no task left to stop, but the executor forgets it.
    effects.push(Effect::ClosePane(id));
    if pane.is_live() {
        model.set_status(
            Level::Info,
            format!("closing the shell on {}", text::fit(pane.label(), 40)),
        );
    }
    effects
}

/// Turns broadcast on (confirmed).
pub fn broadcast_on(model: &mut Model) {
    model.tabs.broadcast = true;
}

/// Every pane's size at the window's size: the screens now, the sessions through effects.
pub fn resize_all(model: &mut Model) -> Vec<Effect> {
    let size = model.size;
    let mut effects = Vec::new();
    for tab in &mut model.tabs.tabs {
        let sizes = layout::pane_sizes(size, tab.panes.len());
        for (pane, new) in tab.panes.iter_mut().zip(sizes) {
            if pane.size == new {
                continue;
            }
            pane.size = new;
            pane.screen.resize(new.0, new.1);
            if pane.is_live() {
                effects.push(Effect::PaneResize {
                    id: pane.id,
                    size: new,
                });
            }
        }
    }
    effects
}

/// The UI's record of a session opened here, live (the sessions view's idle columns).
fn touch_opened(model: &mut Model, id: u64, at: std::time::SystemTime) {
    let Some(session_id) = model.tabs.pane(id).and_then(|p| p.session_id.clone()) else {
        return;
    };
    model
        .opened
        .insert(session_id, OpenedSession { last_activity: at });
}

/// What a pane's session reported.
pub fn on_pane(model: &mut Model, id: u64, event: PaneMsg) -> Vec<Effect> {
    let Some(pane) = model.tabs.pane_mut(id) else {
        // A pane closed meanwhile: its late news has nowhere to go.
        return Vec::new();
    };
    match event {
        PaneMsg::Started { session_id, at } => {
            pane.session_id = Some(session_id.clone());
            pane.started_at = Some(at);
            pane.last_activity = Some(at);
            pane.connection = Connection::Open;
            model
                .opened
                .insert(session_id.clone(), OpenedSession { last_activity: at });
            crate::tui::update::data::learn_identity(model, &session_id);
        }
        PaneMsg::Recording { off_because } => {
            pane.recording = match off_because {
                None => Recording::On,
                Some(why) => Recording::Off(why),
            };
        }
        PaneMsg::Output { at } => {
            pane.last_activity = Some(at);
            touch_opened(model, id, at);
        }
        PaneMsg::Notice(text) => pane.notice = Some(text::escape_for_terminal(&text).into_owned()),
        PaneMsg::Reconnecting => pane.connection = Connection::Resuming,
        PaneMsg::Reconnected => pane.connection = Connection::Resumed,
        PaneMsg::Ended(result) => return ended(model, id, result),
    }
    Vec::new()
}

fn ended(model: &mut Model, id: u64, result: Result<ShellReport, String>) -> Vec<Effect> {
    let Some(pane) = model.tabs.pane_mut(id) else {
        return Vec::new();
    };
    let target = pane.target.clone();
    pane.end = Some(match &result {
        Ok(report) => PaneEnd {
            summary: text::fit(&report.summary, 200),
            exit_code: report.exit_code,
        },
        Err(reason) => PaneEnd {
            summary: format!(
                "could not start: {}",
                text::fit(&crate::tui::model::reason_of(reason), 200)
            ),
            exit_code: None,
        },
    });
    if model.tabs.broadcast
        && !model
            .tabs
            .current_tab()
            .is_some_and(|t| t.panes.iter().any(|p| p.marked && p.is_live()))
    {
        model.tabs.broadcast = false;
    }
    // The fleet's status line says it too, as after a hand-over, and the sessions reload.
    crate::tui::update::data::on_shell_ended(model, &target, result)
}
