//! `:audit`: the session events CloudTrail recorded in the last day, newest first, with the
//! fleet's names, in the columns of `gangway audit`. Every value from AWS through `text.rs`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::aws::types::SessionEvent;
use crate::text::escape_and_fit;
use crate::tui::model::{Load, Model};

const HEADER: &str = "TIME (UTC)           EVENT      USER              TARGET               NAME              SOURCE IP        RESULT        REASON";

/// One event as a line; every cell escaped and cut to its column.
fn event_line(event: &SessionEvent, name: Option<&str>) -> String {
    let cell = |text: Option<&str>, width: usize| {
        format!("{:<width$}", escape_and_fit(text.unwrap_or("-"), width))
    };
    let time = time::OffsetDateTime::from(event.time)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!(
        "{time}  {:<9}  {}  {}  {}  {}  {}  {}",
        event.kind.label(),
        cell(Some(&event.user), 16),
        cell(event.target.as_deref(), 19),
        cell(name, 16),
        cell(event.source_ip.as_deref(), 15),
        cell(Some(event.error_code.as_deref().unwrap_or("ok")), 12),
        escape_and_fit(event.reason.as_deref().unwrap_or("-"), 40),
    )
    .trim_end()
    .to_owned()
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let mut events: Vec<&SessionEvent> = model.audit.values().flatten().collect();
    events.sort_by(|a, b| b.time.cmp(&a.time).then(b.kind.cmp(&a.kind)));
    if events.is_empty() {
        let text = match model.audit_load {
            Load::Loading => "loading session events from CloudTrail…",
            _ => "no session events in the last day",
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::DarkGray)),
            area,
        );
        return;
    }
    let name_of = |target: Option<&str>| {
        let target = target?;
        model
            .fleet
            .instances
            .iter()
            .find(|i| i.id.as_str() == target)
            .and_then(|i| i.name.as_deref())
    };
    let mut lines = vec![Line::styled(
        HEADER,
        Style::new().add_modifier(Modifier::BOLD),
    )];
    lines.extend(events.iter().map(|event| {
        let text = event_line(event, name_of(event.target.as_deref()));
        if event.error_code.is_some() {
            Line::styled(text, Style::new().fg(Color::Red))
        } else {
            Line::raw(text)
        }
    }));
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::aws::types::SessionEventKind;
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_line_escapes_what_aws_sent() {
        let event = SessionEvent {
            event_id: "e".into(),
            kind: SessionEventKind::Terminate,
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            user: "eve\u{1b}[2J".into(),
            user_arn: None,
            session_id: None,
            target: Some("i-0abc".into()),
            source_ip: Some("10.0.0.1".into()),
            reason: Some("why\u{9b}".into()),
            error_code: None,
            region: "us-east-1".into(),
        };
        let line = event_line(&event, Some("web"));
        assert!(line.starts_with("2023-11-14 22:13:20  terminate"), "{line}");
        assert!(line.contains("web") && line.contains("i-0abc") && line.contains(" ok "));
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{9b}'),
            "{line}"
        );
    }
}
