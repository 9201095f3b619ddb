//! Active sessions joined with the fleet's names. Own sessions are marked `*`; sessions run by
//! a gangway process on this machine (this UI, `gangway connect` in another terminal) also
//! show their idle time and the countdown to the idle timeout, from their activity files (the
//! only activity the UI can know); every session shows the countdown to the maximum duration.
//! The last two minutes of a countdown turn red.

use std::time::{Duration, SystemTime};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Paragraph;

use crate::aws::types::SessionInfo;
use crate::tui::clock::format_time;
use crate::tui::duration::human_duration;
use crate::tui::model::{Load, Model, WARNING_WINDOW};
use crate::tui::session_list::{SessionSort, SessionView};
use crate::tui::views::table::{self, Column, RowData, Value};

/// `title` with ▲ or ▼ when the list is sorted by `key`.
pub fn sort_mark(view: &SessionView, key: SessionSort, title: &str) -> String {
    if view.sort == key {
        format!("{title}{}", if view.descending { "▼" } else { "▲" })
    } else {
        title.to_owned()
    }
}

fn columns(view: &SessionView) -> Vec<Column> {
    let mark = |key, title| sort_mark(view, key, title);
    vec![
        Column::new("", 2, 0),
        Column::new("SESSION", 23, 0),
        Column::new(mark(SessionSort::Target, "TARGET"), 14, 1),
        Column::new("INSTANCE", 20, 5),
        Column::new(mark(SessionSort::Owner, "OWNER"), 8, 2),
        Column::new(mark(SessionSort::Started, "STARTED"), 20, 6),
        Column::new("DURATION", 8, 2),
        Column::new("IDLE", 7, 4),
        Column::new("IDLE LEFT", 9, 3),
        Column::new("MAX LEFT", 8, 3),
        Column::new(mark(SessionSort::Reason, "REASON"), 16, 3).shrinks_to(8),
    ]
}

fn since(now: SystemTime, at: Option<SystemTime>) -> Option<Duration> {
    at.and_then(|at| now.duration_since(at).ok())
}

/// Remaining time until `limit` has passed since `from`, coloured in the last two minutes.
fn countdown(now: SystemTime, from: Option<SystemTime>, limit: Option<Duration>) -> Value {
    let (Some(elapsed), Some(limit)) = (since(now, from), limit) else {
        return Value::plain("-");
    };
    let left = limit.saturating_sub(elapsed);
    let text = human_duration(left.as_secs());
    if left <= WARNING_WINDOW {
        Value::styled(
            text,
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    } else {
        Value::plain(text)
    }
}

fn cells(model: &Model, session: &SessionInfo) -> Vec<Value> {
    let (idle_limit, max_limit) = model.session_limits(&session.region);
    let own = model.is_own(session);
    let marked = model.sessions.marked.contains(&session.session_id);
    let flag = format!(
        "{}{}",
        if marked { "●" } else { " " },
        if own { "*" } else { " " }
    );
    let activity = model.last_activity(&session.session_id);
    let idle = since(model.now, activity).map(|d| human_duration(d.as_secs()));
    let owner = session.owner.rsplit('/').next().unwrap_or(&session.owner);
    vec![
        Value::styled(
            flag,
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Value::plain(session.session_id.clone()),
        Value::plain(
            model
                .instance_name(&session.target)
                .unwrap_or("-")
                .to_owned(),
        ),
        Value::plain(session.target.clone()),
        Value::plain(owner.to_owned()),
        Value::plain(format_time(session.start, &model.settings.time_zone)),
        Value::plain(
            since(model.now, session.start).map_or("-".into(), |d| human_duration(d.as_secs())),
        ),
        Value::plain(idle.unwrap_or_else(|| "-".to_owned())),
        if activity.is_some() {
            countdown(model.now, activity, idle_limit)
        } else {
            Value::plain("-")
        },
        countdown(model.now, session.start, max_limit),
        Value::plain(session.reason.clone().unwrap_or_default()),
    ]
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let sessions = &model.sessions;
    if sessions.view.rows.is_empty() {
        let text = match sessions.load {
            Load::Loading | Load::Idle if sessions.items.is_empty() => {
                "loading active sessions…".to_owned()
            }
            _ if sessions.items.is_empty() => "no active sessions".to_owned(),
            _ => format!(
                "no session matches `{}` (esc clears the filter)",
                crate::text::fit(&sessions.view.filter, 40)
            ),
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::DarkGray)),
            area,
        );
        return;
    }
    table::draw(
        frame,
        area,
        &columns(&sessions.view),
        sessions.view.rows.len(),
        &sessions.cursor,
        |at| {
            let session = &sessions.items[sessions.view.rows[at]];
            let style = if model.is_own(session) {
                Style::new().fg(Color::LightCyan)
            } else {
                Style::new()
            };
            RowData::new(cells(model, session), style)
        },
    );
}
