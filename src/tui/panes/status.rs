//! The shell tab's status line as text: the tabs, then the focused pane's target, session
//! age, idle time and the countdown to the idle timeout, time left to the maximum duration,
//! connection state and recording, dropped from the least useful up when the line is short.
//! Pure, so the snapshot tests and the view read the same words.

use std::time::{Duration, SystemTime};

use super::{Connection, Pane, Recording, Tabs};
use crate::tui::duration::human_duration;
use crate::tui::model::{Model, WARNING_WINDOW};

/// How a part of the line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// The tab on screen.
    Current,
    /// Broadcast on, a countdown in its last two minutes, an ended session.
    Alarm,
    Dim,
}

/// One part of the line and how much it matters (0 is kept longest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub tone: Tone,
    pub keep: u8,
}

impl Part {
    fn new(text: impl Into<String>, tone: Tone, keep: u8) -> Self {
        Self {
            text: text.into(),
            tone,
            keep,
        }
    }
}

/// The whole line, and the notice for the last two minutes before a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub parts: Vec<Part>,
    /// A limit is near: the line is drawn in the warning colour.
    pub warning: bool,
    /// One line over the bottom of the shell: which limit ends the session, and when.
    pub notice: Option<String>,
}

fn since(now: SystemTime, at: Option<SystemTime>) -> Option<Duration> {
    at.and_then(|at| now.duration_since(at).ok())
}

/// The status line of the tab on screen, fitted into `width` columns.
pub fn line(model: &Model, width: u16) -> StatusLine {
    let tabs = &model.tabs;
    let mut parts = tab_parts(tabs);
    let mut warning = false;
    let mut notice = None;
    if tabs.prefix_armed {
        parts.push(Part::new(
            format!(
                "{} then: f fleet · n/p/1-9 tab · s split · tab pane · x close · m mark · b broadcast · [/] page back/on · {} send it",
                model.settings.prefix, model.settings.prefix
            ),
            Tone::Current,
            0,
        ));
    } else if let Some(pane) = tabs.focused() {
        if tabs.scrollback > 0 {
            parts.push(Part::new(
                format!(
                    "scrolled back {} lines · pgup/pgdn page · typing returns",
                    tabs.scrollback
                ),
                Tone::Current,
                0,
            ));
        }
        let (body, near) = pane_parts(model, pane);
        parts.extend(body);
        if let Some(text) = near {
            warning = true;
            notice = Some(text);
        }
    }
    if tabs.broadcast {
        parts.insert(0, Part::new("BROADCAST", Tone::Alarm, 0));
    }
    StatusLine {
        parts: fit(parts, usize::from(width)),
        warning,
        notice,
    }
}

/// `[1 web-1] 2 worker-1·2`: tabs by number and first pane's target, ended ones marked.
fn tab_parts(tabs: &Tabs) -> Vec<Part> {
    tabs.tabs
        .iter()
        .enumerate()
        .map(|(at, tab)| {
            let label = tab.panes.first().map_or("-", Pane::label);
            let panes = if tab.panes.len() > 1 {
                format!("·{}", tab.panes.len())
            } else {
                String::new()
            };
            let ended = if tab.is_live() { "" } else { " ended" };
            let label = crate::text::fit(label, 16);
            if at == tabs.current && tabs.showing {
                Part::new(
                    format!("[{} {label}{panes}{ended}]", at + 1),
                    Tone::Current,
                    1,
                )
            } else {
                Part::new(format!("{} {label}{panes}{ended}", at + 1), Tone::Dim, 5)
            }
        })
        .collect()
}

/// The focused pane's parts, and the notice when a limit is near.
fn pane_parts(model: &Model, pane: &Pane) -> (Vec<Part>, Option<String>) {
    let now = model.now;
    let mut parts = Vec::new();
    let tab = model.tabs.current_tab();
    let pane_of = tab
        .filter(|t| t.panes.len() > 1)
        .map(|t| format!(" (pane {}/{})", t.focused + 1, t.panes.len()))
        .unwrap_or_default();
    parts.push(Part::new(
        format!("{}{pane_of}", crate::text::fit(pane.label(), 24)),
        Tone::Plain,
        1,
    ));
    if let Some(end) = &pane.end {
        parts.push(Part::new(
            format!("ended: {}", crate::text::fit(&end.summary, 160)),
            Tone::Alarm,
            0,
        ));
        return (parts, None);
    }
    if pane.connection == Connection::Opening {
        parts.push(Part::new("opening…", Tone::Plain, 0));
        return (parts, None);
    }
    let (idle_limit, max_limit) = model.session_limits(&pane.target.region);
    if let Some(age) = since(now, pane.started_at) {
        parts.push(Part::new(
            format!("age {}", human_duration(age.as_secs())),
            Tone::Plain,
            4,
        ));
    }
    let idle = since(now, pane.last_activity.or(pane.started_at));
    let mut near = Vec::new();
    if let Some(idle) = idle {
        parts.push(Part::new(
            format!("idle {}", human_duration(idle.as_secs())),
            Tone::Plain,
            2,
        ));
        if let Some(limit) = idle_limit {
            let left = limit.saturating_sub(idle);
            let alarm = left <= WARNING_WINDOW;
            if alarm {
                near.push(format!(
                    "idle timeout in {}",
                    human_duration(left.as_secs())
                ));
            }
            parts.push(Part::new(
                format!("idle left {}", human_duration(left.as_secs())),
                if alarm { Tone::Alarm } else { Tone::Plain },
                0,
            ));
        }
    }
    if let (Some(age), Some(limit)) = (since(now, pane.started_at), max_limit) {
        let left = limit.saturating_sub(age);
        let alarm = left <= WARNING_WINDOW;
        if alarm {
            near.push(format!(
                "maximum session duration in {}",
                human_duration(left.as_secs())
            ));
        }
        parts.push(Part::new(
            format!("max left {}", human_duration(left.as_secs())),
            if alarm { Tone::Alarm } else { Tone::Plain },
            1,
        ));
    }
    let connection = match pane.connection {
        Connection::Opening => "opening…",
        Connection::Open => "connected",
        Connection::Resuming => "resuming…",
        Connection::Resumed => "resumed",
    };
    let tone = if pane.connection == Connection::Resuming {
        Tone::Alarm
    } else {
        Tone::Plain
    };
    parts.push(Part::new(connection, tone, 2));
    parts.push(match &pane.recording {
        Recording::On => Part::new("rec on", Tone::Plain, 3),
        Recording::Off(why) => Part::new(
            format!(
                "rec off ({})",
                crate::text::fit(why.trim_start_matches("recording off: "), 60)
            ),
            Tone::Dim,
            3,
        ),
        Recording::Unknown => Part::new("rec …", Tone::Dim, 6),
    });
    if let Some(text) = &pane.notice {
        parts.push(Part::new(crate::text::fit(text, 60), Tone::Dim, 7));
    }
    let notice = (!near.is_empty()).then(|| {
        format!(
            "{}: the service ends the session then unless there is input or output (gangway never types for you)",
            near.join(", ")
        )
    });
    (parts, notice)
}

/// Drops the parts that matter least until the rest fit `width` with one space between.
fn fit(mut parts: Vec<Part>, width: usize) -> Vec<Part> {
    let used = |parts: &[Part]| {
        parts
            .iter()
            .map(|p| crate::text::display_width(&p.text) + 1)
            .sum::<usize>()
    };
    while used(&parts) > width + 1 && parts.len() > 1 {
        let Some(at) = parts
            .iter()
            .enumerate()
            .max_by_key(|(at, p)| (p.keep, *at))
            .map(|(at, _)| at)
        else {
            break;
        };
        parts.remove(at);
    }
    if let [only] = parts.as_mut_slice() {
        only.text = crate::text::fit(&only.text, width);
    }
    parts
}

/// The line as plain text (tests, the pty tests' reading of it).
pub fn text(line: &StatusLine) -> String {
    line.parts
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
