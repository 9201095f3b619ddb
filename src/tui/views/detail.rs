//! The detail pane under the fleet table: every fact and tag of the selected instance and the
//! connectivity check in plain words.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::aws::types::Instance;
use crate::text::{fit, safe};
use crate::tui::duration::human_duration;
use crate::tui::model::{Connectivity, Model};
use crate::tui::views::fleet::{ping_style, state_style};

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let Some(instance) = model.fleet.selected() else {
        let block = Block::new().borders(Borders::TOP).title(" detail ");
        frame.render_widget(Paragraph::new("no instance selected").block(block), area);
        return;
    };
    let title = format!(
        " {} ({}) ",
        fit(instance.name.as_deref().unwrap_or("no Name"), 40),
        instance.id
    );
    let block = Block::new()
        .borders(Borders::TOP)
        .title(title)
        .title_style(Style::new().bold());
    // The answer to "can I get on it?" first: the pane may be short.
    let mut lines = facts(model, instance);
    lines.push(connectivity_line(
        model.fleet.connectivity.get(&instance.id),
    ));
    lines.push(sessions_line(model, instance));
    lines.extend(machine(model, instance));
    lines.push(Line::styled(
        format!("tags ({})", instance.tags.len()),
        Style::new().fg(Color::Yellow),
    ));
    let key_width = instance
        .tags
        .iter()
        .map(|(k, _)| crate::text::display_width(&safe(k)))
        .max()
        .unwrap_or(0)
        .min(24);
    for (key, value) in instance.tags.iter() {
        let key = fit(key, key_width);
        let pad = " ".repeat(key_width.saturating_sub(crate::text::display_width(&key)));
        lines.push(Line::from(vec![
            Span::styled(format!("  {key}{pad}"), Style::new().fg(Color::Cyan)),
            Span::raw(format!(" = {}", safe(value))),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn facts(model: &Model, instance: &Instance) -> Vec<Line<'static>> {
    let last_ping = instance
        .last_ping
        .and_then(|at| model.now.duration_since(at).ok())
        .map(|age| {
            format!(
                " ({} ago)",
                crate::tui::duration::human_duration(age.as_secs())
            )
        })
        .unwrap_or_default();
    let dim = Style::new().fg(Color::DarkGray);
    let or_dash = |v: &Option<Arc<str>>| safe(v.as_deref().unwrap_or("-"));
    vec![
        Line::from(vec![
            Span::styled("state ", dim),
            Span::styled(
                instance.state.label().to_owned(),
                state_style(&instance.state),
            ),
            Span::styled("  ping ", dim),
            Span::styled(
                format!("{}{last_ping}", instance.ping_status.label()),
                ping_style(instance.ping_status),
            ),
            Span::styled("  agent ", dim),
            Span::raw(or_dash(&instance.agent_version)),
            Span::styled("  ip ", dim),
            Span::raw(or_dash(&instance.private_ip)),
        ]),
        Line::from(vec![
            Span::styled("platform ", dim),
            Span::raw(or_dash(&instance.platform_name)),
            Span::styled("  image ", dim),
            Span::raw(format!(
                "{} ({})",
                or_dash(&instance.image_id),
                or_dash(&instance.image_name)
            )),
            Span::styled("  region ", dim),
            Span::raw(safe(&instance.region)),
        ]),
    ]
}

/// The machine as EC2 describes it: type, zone, launch time, network, profile, public IP.
/// Facts EC2 did not give are left out; a hybrid node has none.
fn machine(model: &Model, instance: &Instance) -> Vec<Line<'static>> {
    let facts = &instance.ec2;
    let dim = Style::new().fg(Color::DarkGray);
    let mut spans = Vec::new();
    let fact = |spans: &mut Vec<Span<'static>>, name: &str, value: Option<String>| {
        if let Some(value) = value {
            let lead = if spans.is_empty() { "" } else { "  " };
            spans.push(Span::styled(format!("{lead}{name} "), dim));
            spans.push(Span::raw(value));
        }
    };
    let launched = facts.launch_time.map(|at| {
        let age = model
            .now
            .duration_since(at)
            .map(|d| format!(" ({} ago)", human_duration(d.as_secs())))
            .unwrap_or_default();
        format!(
            "{}{age}",
            crate::tui::clock::format_time(Some(at), &model.settings.time_zone)
        )
    });
    let text = |v: &Option<Arc<str>>| v.as_deref().map(safe);
    fact(&mut spans, "type", text(&facts.instance_type));
    fact(&mut spans, "az", text(&facts.availability_zone));
    fact(&mut spans, "launched", launched);
    let mut lines = Vec::new();
    if !spans.is_empty() {
        lines.push(Line::from(std::mem::take(&mut spans)));
    }
    fact(&mut spans, "vpc", text(&facts.vpc_id));
    fact(&mut spans, "subnet", text(&facts.subnet_id));
    fact(&mut spans, "public ip", text(&facts.public_ip));
    if !spans.is_empty() {
        lines.push(Line::from(std::mem::take(&mut spans)));
    }
    fact(&mut spans, "profile", text(&facts.instance_profile));
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

/// The instance's active sessions: who is on it now, and for how long.
fn sessions_line(model: &Model, instance: &Instance) -> Line<'static> {
    let dim = Style::new().fg(Color::DarkGray);
    let on_it: Vec<String> = model
        .sessions
        .items
        .iter()
        .filter(|s| s.target == instance.id.as_str())
        .map(|s| {
            let owner = s.owner.rsplit('/').next().unwrap_or(&s.owner);
            let since = s
                .start
                .and_then(|at| model.now.duration_since(at).ok())
                .map(|d| format!(" {}", human_duration(d.as_secs())))
                .unwrap_or_default();
            let mine = if model.is_own(s) { "*" } else { "" };
            format!("{mine}{}{since}", safe(owner))
        })
        .collect();
    let text = match on_it.len() {
        0 => "none".to_owned(),
        n => format!("{n}: {}", on_it.join(", ")),
    };
    Line::from(vec![Span::styled("active sessions ", dim), Span::raw(text)])
}

fn connectivity_line(state: Option<&Connectivity>) -> Line<'static> {
    let label = Span::styled("connectivity ", Style::new().fg(Color::DarkGray));
    match state {
        None => Line::from(vec![label, Span::raw("not checked")]),
        Some(Connectivity::Checking) => Line::from(vec![label, Span::raw("checking…")]),
        Some(Connectivity::Failed(error)) => Line::from(vec![
            label,
            Span::styled(
                format!("check failed: {}", safe(error)),
                Style::new().fg(Color::Red),
            ),
        ]),
        Some(Connectivity::Known(diagnosis)) => {
            let (mark, colour) = if diagnosis.can_connect() {
                ("✔ reachable", Color::Green)
            } else {
                ("✖ not reachable", Color::Red)
            };
            let mut spans = vec![
                label,
                Span::styled(mark, Style::new().fg(colour).add_modifier(Modifier::BOLD)),
                Span::raw(format!(" — {}", safe(&diagnosis.headline()))),
            ];
            if let Some(fix) = &diagnosis.fix {
                spans.push(Span::styled(
                    format!(" → {}", safe(fix)),
                    Style::new().fg(Color::Yellow),
                ));
            }
            Line::from(spans)
        }
    }
}
