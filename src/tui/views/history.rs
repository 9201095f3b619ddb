//! Ended sessions, newest first, with the filters in force; more pages load as the selection
//! nears the end.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::Paragraph;

use crate::aws::HistoryFilter;
use crate::text::fit;
use crate::tui::clock::{TimeZone, format_time};
use crate::tui::duration::human_duration;
use crate::tui::model::{Load, Model};
use crate::tui::views::table::{self, Column, RowData, Value};

fn columns() -> Vec<Column> {
    vec![
        Column::new("SESSION", 23, 0),
        Column::new("TARGET", 14, 1),
        Column::new("INSTANCE", 20, 5),
        Column::new("OWNER", 8, 2),
        Column::new("STARTED", 20, 1),
        Column::new("ENDED", 20, 6),
        Column::new("DURATION", 8, 3),
        Column::new("STATUS", 10, 7),
        Column::new("REASON", 16, 4).shrinks_to(8),
    ]
}

fn describe(query: &HistoryFilter, zone: &TimeZone) -> String {
    let mut parts = Vec::new();
    if let Some(target) = &query.target {
        parts.push(format!("target={}", fit(target, 30)));
    }
    if let Some(owner) = &query.owner {
        parts.push(format!("owner={}", fit(owner, 30)));
    }
    if query.after.is_some() {
        parts.push(format!("after {}", format_time(query.after, zone)));
    }
    if query.before.is_some() {
        parts.push(format!("before {}", format_time(query.before, zone)));
    }
    if parts.is_empty() {
        "all ended sessions (filter with :history target=… owner=… since=2h)".to_owned()
    } else {
        parts.join("  ")
    }
}

fn duration(start: Option<SystemTime>, end: Option<SystemTime>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => e
            .duration_since(s)
            .map_or("-".into(), |d| human_duration(d.as_secs())),
        _ => "-".to_owned(),
    }
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let history = &model.history;
    let [info, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let more = match (&history.load, history.next_tokens.is_empty()) {
        (Load::Loading, _) => "  loading…",
        (_, false) => "  (more below)",
        _ => "",
    };
    let line = format!(
        "{} · {} shown{more}",
        describe(&history.query, &model.settings.time_zone),
        history.items.len()
    );
    frame.render_widget(
        Paragraph::new(line).style(Style::new().fg(Color::DarkGray)),
        info,
    );
    if history.items.is_empty() {
        let text = if history.load == Load::Loading {
            "loading history…"
        } else {
            "no ended sessions match"
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::DarkGray)),
            body,
        );
        return;
    }
    table::draw(
        frame,
        body,
        &columns(),
        history.items.len(),
        &history.cursor,
        |at| {
            let s = &history.items[at];
            let owner = s.owner.rsplit('/').next().unwrap_or(&s.owner);
            RowData::new(
                vec![
                    Value::plain(s.session_id.clone()),
                    Value::plain(model.instance_name(&s.target).unwrap_or("-").to_owned()),
                    Value::plain(s.target.clone()),
                    Value::plain(owner.to_owned()),
                    Value::plain(format_time(s.start, &model.settings.time_zone)),
                    Value::plain(format_time(s.end, &model.settings.time_zone)),
                    Value::plain(duration(s.start, s.end)),
                    Value::plain(s.status.label()),
                    Value::plain(s.reason.clone().unwrap_or_default()),
                ],
                Style::new(),
            )
        },
    );
}
