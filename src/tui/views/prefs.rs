//! The effective Session Manager preferences per region, with a warning when sessions are not
//! logged anywhere.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::aws::types::SessionPreferences;
use crate::text::safe;
use crate::tui::model::{Load, Model};

fn on_off(value: &Option<String>) -> (String, Style) {
    match value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => (format!("on → {}", safe(v)), Style::new().fg(Color::Green)),
        None => ("off".to_owned(), Style::new().fg(Color::Yellow)),
    }
}

fn region_lines(region: &str, prefs: &SessionPreferences) -> Vec<Line<'static>> {
    let label =
        |text: &str| Span::styled(format!("  {text:<26}"), Style::new().fg(Color::DarkGray));
    let minutes =
        |m: Option<u32>, default: &str| m.map_or(default.to_owned(), |m| format!("{m} min"));
    let (s3, s3_style) = on_off(&prefs.s3_bucket_name);
    let (cw, cw_style) = on_off(&prefs.cloudwatch_log_group_name);
    let (kms, kms_style) = on_off(&prefs.kms_key_id);
    let mut lines = vec![
        Line::styled(
            format!("region {}", safe(region)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Line::from(vec![
            label("idle session timeout"),
            Span::raw(minutes(
                prefs.idle_session_timeout_minutes,
                "20 min (AWS default)",
            )),
        ]),
        Line::from(vec![
            label("maximum session duration"),
            Span::raw(minutes(prefs.max_session_duration_minutes, "no limit")),
        ]),
        Line::from(vec![
            label("S3 session logging"),
            Span::styled(s3, s3_style),
        ]),
        Line::from(vec![
            label("CloudWatch logging"),
            Span::styled(cw, cw_style),
        ]),
        Line::from(vec![label("KMS encryption"), Span::styled(kms, kms_style)]),
        Line::from(vec![
            label("run as other users"),
            Span::raw(if prefs.run_as_enabled { "on" } else { "off" }),
        ]),
    ];
    if !prefs.logging_enabled() {
        lines.push(Line::styled(
            "  ⚠ session logging is off: nothing records what is typed in sessions. Set an S3 bucket or a CloudWatch log group in the Session Manager preferences.",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    lines.push(Line::default());
    lines
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let mut lines: Vec<Line<'static>> = vec![Line::styled(
        "Session Manager preferences (document SSM-SessionManagerRunShell)",
        Style::new().fg(Color::Yellow),
    )];
    if model.preferences.is_empty() {
        let text = if model.preferences_load == Load::Loading {
            "loading…"
        } else {
            "not loaded"
        };
        lines.push(Line::raw(text));
    }
    for (region, prefs) in &model.preferences {
        lines.extend(region_lines(region, prefs));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
