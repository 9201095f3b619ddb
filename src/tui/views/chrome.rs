//! The lines around every screen: title with tabs, banner, status or input line, key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::text::{escape_for_terminal, fit};
use crate::tui::keymap::Action;
use crate::tui::model::{Level, Load, Mode, Model, Screen};

const TABS: [(Screen, &str); 4] = [
    (Screen::Fleet, "fleet"),
    (Screen::Sessions, "sessions"),
    (Screen::History, "history"),
    (Screen::Preferences, "prefs"),
];

pub fn title(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let mut spans = vec![Span::styled(" gangway ", Style::new().bold().reversed())];
    for (n, (screen, label)) in TABS.iter().enumerate() {
        let style = if model.screen == *screen {
            Style::new()
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
                .fg(Color::Cyan)
        } else {
            Style::new().fg(Color::Gray)
        };
        spans.push(Span::styled(format!(" {}:{label}", n + 1), style));
    }
    let regions = model.regions.join(",");
    let mut right = format!("  {}", fit(&regions, 40));
    if let Some(me) = &model.settings.identity {
        right.push_str(&format!("  user {}", fit(me, 20)));
    }
    if model.keymap.is_readonly() {
        right.push_str("  [read-only]");
    }
    if [&model.fleet.load, &model.sessions.load, &model.history.load].contains(&&Load::Loading) {
        right.push_str("  loading…");
    }
    spans.push(Span::styled(right, Style::new().fg(Color::DarkGray)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn banner(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let Some(banner) = &model.banner else { return };
    let style = Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::raw(format!(
        " ✖ {} (showing the last data)",
        escape_for_terminal(&banner.message)
    ))];
    if let Some(hint) = &banner.hint {
        lines.push(Line::raw(format!("   fix: {}", escape_for_terminal(hint))));
    }
    frame.render_widget(Paragraph::new(lines).style(style), area);
}

pub fn status(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let line = match &model.mode {
        Mode::Filter => Line::from(vec![
            Span::styled("/", Style::new().fg(Color::Yellow).bold()),
            Span::raw(escape_for_terminal(&model.fleet.filter).into_owned()),
            Span::styled("█", Style::new().fg(Color::Yellow)),
        ]),
        Mode::Command(text) => Line::from(vec![
            Span::styled(":", Style::new().fg(Color::Yellow).bold()),
            Span::raw(escape_for_terminal(text).into_owned()),
            Span::styled("█", Style::new().fg(Color::Yellow)),
        ]),
        _ => match (&model.status, &model.config_warning) {
            (Some(status), _) => {
                let colour = match status.level {
                    Level::Info => Color::Green,
                    Level::Warn => Color::Yellow,
                    Level::Error => Color::Red,
                };
                Line::styled(
                    escape_for_terminal(&status.text).into_owned(),
                    Style::new().fg(colour),
                )
            }
            (None, Some(warning)) => Line::styled(
                escape_for_terminal(warning).into_owned(),
                Style::new().fg(Color::Yellow),
            ),
            (None, None) if !model.fleet.filter.is_empty() && model.screen == Screen::Fleet => {
                Line::styled(
                    format!("filter: {}", escape_for_terminal(&model.fleet.filter)),
                    Style::new().fg(Color::Yellow),
                )
            }
            (None, None) => Line::default(),
        },
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
}

fn hint_actions(screen: Screen) -> &'static [Action] {
    use Action as A;
    match screen {
        Screen::Fleet => &[
            A::OpenShell,
            A::Filter,
            A::Detail,
            A::SortNext,
            A::GroupByImage,
            A::Refresh,
            A::ShowSessions,
            A::Command,
            A::Help,
            A::Quit,
        ],
        Screen::Sessions => &[
            A::Terminate,
            A::Mark,
            A::Refresh,
            A::ShowHistory,
            A::Back,
            A::Help,
            A::Quit,
        ],
        Screen::History => &[A::Refresh, A::Command, A::Back, A::Help, A::Quit],
        Screen::Preferences | Screen::Help => &[A::Refresh, A::Back, A::Quit],
    }
}

pub fn hints(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let pairs: Vec<(String, &str)> = match &model.mode {
        Mode::Filter => vec![("enter".into(), "keep filter"), ("esc".into(), "clear")],
        Mode::Command(_) => vec![("enter".into(), "run"), ("esc".into(), "cancel")],
        Mode::Confirm(_) => vec![("y".into(), "yes"), ("n".into(), "no")],
        Mode::Reason(_) => vec![("enter".into(), "open shell"), ("esc".into(), "cancel")],
        Mode::Normal => model
            .keymap
            .hints(model.screen.scope(), hint_actions(model.screen)),
    };
    let mut spans = Vec::with_capacity(pairs.len() * 2);
    for (key, name) in pairs {
        spans.push(Span::styled(
            format!(" {key}"),
            Style::new().fg(Color::Cyan).bold(),
        ));
        spans.push(Span::styled(
            format!(" {name} "),
            Style::new().fg(Color::Gray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
