//! Popups over the current screen: the confirmation before terminating sessions, the reason
//! prompt before opening a shell, and the whole last message.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use crate::aws::types::SessionInfo;
use crate::text::{escape_for_terminal, fit, wrap};
use crate::tui::clock::format_time;
use crate::tui::duration::human_duration;
use crate::tui::model::{Confirm, Model, ReasonMode, ReasonPrompt, RunPrompt};
use crate::tui::tunnel_list::{FormField, TunnelForm};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// Clears the popup area, and blanks a wide character cut by its left edge: its second half
/// would hide the border (ratatui's diff skips the cell after a wide character).
fn clear(frame: &mut Frame<'_>, popup: Rect) {
    frame.render_widget(Clear, popup);
    if popup.x == 0 {
        return;
    }
    let buffer = frame.buffer_mut();
    for y in popup.top()..popup.bottom() {
        let cell = &mut buffer[(popup.x - 1, y)];
        if unicode_width::UnicodeWidthStr::width(cell.symbol()) > 1 {
            cell.set_symbol(" ");
        }
    }
}

fn frame_block(title: String, colour: Color) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(colour))
        .title(title)
        .title_style(Style::new().fg(colour).add_modifier(Modifier::BOLD))
}

pub fn confirm(frame: &mut Frame<'_>, area: Rect, confirm: &Confirm) {
    let width = area.width.saturating_sub(4).min(90);
    // As many lines as the screen holds: a run names every instance it will touch.
    let room = usize::from(area.height.saturating_sub(7)).max(3);
    let shown = confirm.lines.len().min(room);
    let height =
        u16::try_from(shown).unwrap_or(u16::MAX) + 4 + u16::from(confirm.lines.len() > shown);
    let popup = centered(area, width, height);
    let inner = usize::from(width.saturating_sub(4));
    let mut lines: Vec<Line<'_>> = confirm
        .lines
        .iter()
        .take(shown)
        .map(|l| Line::raw(format!(" {}", fit(l, inner))))
        .collect();
    if confirm.lines.len() > shown {
        lines.push(Line::raw(format!(
            " … and {} more",
            confirm.lines.len() - shown
        )));
    }
    lines.push(Line::default());
    let (yes, no) = confirm.action.answers();
    lines.push(Line::from(vec![
        Span::styled(
            " y",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" {yes}   ")),
        Span::styled(
            "n",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" / esc {no}")),
    ]));
    clear(frame, popup);
    frame.render_widget(
        Paragraph::new(lines).block(frame_block(format!(" {} ", confirm.title), Color::Red)),
        popup,
    );
}

/// The one-line command to run, over the fleet.
pub fn run(frame: &mut Frame<'_>, area: Rect, prompt: &RunPrompt) {
    let width = area.width.saturating_sub(4).min(90);
    let popup = centered(area, width, 6);
    let inner = usize::from(width.saturating_sub(6)).max(1);
    // The end of a long command is what is being typed: show its tail.
    let typed = escape_for_terminal(&prompt.text);
    let skip = typed.chars().count().saturating_sub(inner);
    let tail: String = typed.chars().skip(skip).collect();
    let mut lines = vec![
        Line::raw(format!(
            " Command for {} instance(s) (enter: review, esc: cancel):",
            prompt.targets.len()
        )),
        Line::from(vec![
            Span::raw(" $ "),
            Span::styled(fit(&tail, inner), Style::new().fg(Color::White)),
            Span::styled("█", Style::new().fg(Color::Yellow)),
        ]),
    ];
    if let Some(error) = &prompt.error {
        lines.push(Line::styled(
            format!(" {}", fit(error, inner + 2)),
            Style::new().fg(Color::Red),
        ));
    }
    clear(frame, popup);
    frame.render_widget(
        Paragraph::new(lines).block(frame_block(" Run a command ".to_owned(), Color::Red)),
        popup,
    );
}

pub fn reason(frame: &mut Frame<'_>, area: Rect, prompt: &ReasonPrompt, model: &Model) {
    let popup = centered(area, area.width.saturating_sub(4).min(70), 7);
    let target = prompt
        .target
        .name
        .as_deref()
        .unwrap_or(prompt.target.instance_id.as_str());
    let need = match model.settings.reason_mode {
        ReasonMode::Required => "required",
        _ => "optional",
    };
    let mut lines = vec![
        Line::raw(format!(" Reason for this session ({need}):")),
        Line::from(vec![
            Span::raw(" > "),
            Span::styled(
                escape_for_terminal(&prompt.text).into_owned(),
                Style::new().fg(Color::White),
            ),
            Span::styled("█", Style::new().fg(Color::Yellow)),
        ]),
    ];
    if let Some(pattern) = &model.settings.reason_pattern {
        let example = model
            .settings
            .reason_example
            .as_deref()
            .map(|e| format!("e.g. {}  ", fit(e, 30)))
            .unwrap_or_default();
        lines.push(Line::styled(
            format!(" {example}(pattern {})", fit(pattern.as_str(), 40)),
            Style::new().fg(Color::DarkGray),
        ));
    }
    if let Some(error) = &prompt.error {
        lines.push(Line::styled(
            format!(" {}", escape_for_terminal(error)),
            Style::new().fg(Color::Red),
        ));
    }
    clear(frame, popup);
    let title = format!(" Open a shell on {} ", fit(target, 40));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(frame_block(title, Color::Cyan)),
        popup,
    );
}

/// `:info`: who the UI is signed in as, where it talks to, the time zone, and — against an
/// endpoint of its own such as the demo's emulator — the line a second terminal runs to join.
pub fn info(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let width = area.width.saturating_sub(4).min(110);
    let inner = usize::from(width.saturating_sub(4)).max(1);
    let settings = &model.settings;
    let dim = Style::new().fg(Color::DarkGray);
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut fact = |name: &str, value: &str| push_fact(&mut lines, inner, name, value);
    fact(
        "signed in",
        settings
            .identity
            .as_deref()
            .unwrap_or("unknown (STS did not answer)"),
    );
    fact("regions", &model.regions.join(", "));
    let endpoint = settings
        .endpoint
        .as_deref()
        .unwrap_or("AWS (each region's own endpoints)");
    fact("endpoint", endpoint);
    let zone = crate::tui::clock::format_time(Some(model.now), &settings.time_zone);
    fact("time", &zone);
    if let (Some(endpoint), Some(key)) = (&settings.endpoint, &settings.connect_as) {
        let target = model
            .fleet
            .selected()
            .map_or("TARGET".to_owned(), |i| i.id.to_string());
        let region = model.regions.first().map_or("us-east-1", String::as_str);
        lines.push(Line::default());
        lines.push(Line::styled(
            " From another terminal, against the same emulator (it checks no secret):",
            dim,
        ));
        let command = format!(
            "AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY=gangway gangway connect --endpoint-url {endpoint} --region {region} {}",
            crate::text::safe(&target)
        );
        for part in wrap(&command, inner.saturating_sub(2).max(1)) {
            lines.push(Line::styled(
                format!("   {part}"),
                Style::new().fg(Color::Green),
            ));
        }
    }
    closing(frame, area, width, (" gangway ", Color::Cyan), lines);
}

/// Width of the labels in a popup of facts.
const LABEL_CELLS: usize = 15;

/// `label  value`, the value escaped and wrapped under itself.
fn push_fact(lines: &mut Vec<Line<'static>>, inner: usize, name: &str, value: &str) {
    let dim = Style::new().fg(Color::DarkGray);
    let room = inner.saturating_sub(LABEL_CELLS + 1).max(1);
    for (at, part) in wrap(value, room).into_iter().enumerate() {
        let label = if at == 0 { name } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!(" {label:<LABEL_CELLS$}"), dim),
            Span::raw(part),
        ]));
    }
}

/// Draws `lines` in a popup titled `title` in its border colour, cut to the screen, with the
/// closing hint last.
fn closing(
    frame: &mut Frame<'_>,
    area: Rect,
    width: u16,
    (title, border): (&str, Color),
    mut lines: Vec<Line<'static>>,
) {
    let dim = Style::new().fg(Color::DarkGray);
    let room = usize::from(area.height.saturating_sub(4)).max(1);
    if lines.len() > room {
        lines.truncate(room.saturating_sub(1));
        lines.push(Line::styled(
            " … (the terminal is too short for the rest)",
            dim,
        ));
    }
    lines.push(Line::styled(" esc or any key closes", dim));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, width, height);
    clear(frame, popup);
    frame.render_widget(
        Paragraph::new(lines).block(frame_block(title.to_owned(), border)),
        popup,
    );
}

/// One session in full (a history row, or an active session): every field DescribeSessions
/// gave, the owner's whole ARN, both times in the UI's zone and why it ended.
pub fn session(frame: &mut Frame<'_>, area: Rect, session: &SessionInfo, model: &Model) {
    let width = area.width.saturating_sub(4).min(110);
    let inner = usize::from(width.saturating_sub(4)).max(1);
    let zone = &model.settings.time_zone;
    let mut lines = Vec::new();
    let mut fact = |name: &str, value: &str| push_fact(&mut lines, inner, name, value);
    fact("session", &session.session_id);
    let target = match model.instance_name(&session.target) {
        Some(name) => format!("{name} ({})", session.target),
        None => session.target.clone(),
    };
    fact("target", &target);
    fact("owner", &session.owner);
    fact("status", session.status.label());
    fact("started", &format_time(session.start, zone));
    if session.end.is_some() {
        let lasted = match (session.start, session.end) {
            (Some(start), Some(end)) => end
                .duration_since(start)
                .map(|d| format!(" (after {})", human_duration(d.as_secs())))
                .unwrap_or_default(),
            _ => String::new(),
        };
        fact(
            "ended",
            &format!("{}{lasted}", format_time(session.end, zone)),
        );
        fact(
            "ended because",
            session
                .end_reason
                .as_deref()
                .unwrap_or("not given (AWS does not say why a session ended)"),
        );
    }
    fact("reason", session.reason.as_deref().unwrap_or("-"));
    fact("document", session.document_name.as_deref().unwrap_or("-"));
    fact("region", &session.region);
    closing(frame, area, width, (" Session ", Color::Cyan), lines);
}

/// The whole last message: the status line's text with its advice and AWS's (or the shell's)
/// own words, the banner and the config warning, each wrapped, nothing cut but what the screen
/// cannot hold (issue 16, bug 3).
pub fn message(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let width = area.width.saturating_sub(4).min(100);
    let inner = usize::from(width.saturating_sub(4)).max(1);
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut push = |text: &str, style: Style| {
        for part in wrap(text, inner) {
            lines.push(Line::styled(format!(" {part}"), style));
        }
    };
    let dim = Style::new().fg(Color::DarkGray);
    if let Some(status) = &model.status {
        push(&status.text, Style::new().fg(Color::White));
        if let Some(hint) = &status.hint {
            push(
                &format!("what to do: {hint}"),
                Style::new().fg(Color::Green),
            );
        }
        if let Some(detail) = status.detail_beyond_text() {
            push("", dim);
            push("in full:", dim);
            for line in detail.lines() {
                push(line, Style::new());
            }
        }
    }
    if let Some(banner) = &model.banner {
        push("", dim);
        push(&banner.message, Style::new().fg(Color::Red));
        if let Some(hint) = &banner.hint {
            push(&format!("fix: {hint}"), Style::new().fg(Color::Green));
        }
    }
    if let Some(warning) = &model.config_warning {
        push("", dim);
        push(warning, Style::new().fg(Color::Yellow));
    }
    while lines.first().is_some_and(|l| l.width() <= 1) {
        lines.remove(0);
    }
    closing(
        frame,
        area,
        width,
        (" Whole message ", Color::Yellow),
        lines,
    );
}

/// The form that starts a tunnel: local port (empty or 0: a free one), remote port, and an
/// optional host behind the instance.
pub fn tunnel_form(frame: &mut Frame<'_>, area: Rect, form: &TunnelForm) {
    let width = area.width.saturating_sub(4).min(72);
    let popup = centered(area, width, 8);
    let inner = usize::from(width.saturating_sub(4)).max(1);
    let target = form
        .target
        .name
        .as_deref()
        .unwrap_or(form.target.instance_id.as_str());
    let dim = Style::new().fg(Color::DarkGray);
    let mut lines = Vec::new();
    for field in FormField::ALL {
        let active = field == form.field;
        let label_style = if active {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let room = inner.saturating_sub(18).max(1);
        let mut spans = vec![
            Span::styled(format!(" {:<13}", field.label()), label_style),
            Span::raw("> "),
            Span::styled(fit(form.text(field), room), Style::new().fg(Color::White)),
        ];
        if active {
            spans.push(Span::styled("█", Style::new().fg(Color::Yellow)));
        } else if form.text(field).is_empty() {
            let placeholder = match field {
                FormField::Local => "empty: a free port",
                FormField::Remote => "required",
                FormField::Host => "empty: the instance itself",
            };
            spans.push(Span::styled(placeholder, dim));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    lines.push(match &form.error {
        Some(error) => Line::styled(
            format!(" {}", fit(error, inner.saturating_sub(1))),
            Style::new().fg(Color::Red),
        ),
        None => Line::styled(
            fit(
                " A host is reached from the instance (AWS-StartPortForwardingSessionToRemoteHost).",
                inner,
            ),
            dim,
        ),
    });
    lines.push(Line::styled(
        " tab next field   enter start   esc cancel",
        dim,
    ));
    clear(frame, popup);
    let title = format!(" Forward a port to {} ", fit(target, 40));
    frame.render_widget(
        Paragraph::new(lines).block(frame_block(title, Color::Cyan)),
        popup,
    );
}
