//! The detail pane under the fleet table: every fact and tag of the selected instance and the
//! connectivity check in plain words.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::aws::types::Instance;
use crate::text::{fit, safe};
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
    let mut lines = facts(model, instance);
    lines.push(connectivity_line(
        model.fleet.connectivity.get(&instance.id),
    ));
    lines.push(Line::styled(
        format!("tags ({})", instance.tags.len()),
        Style::new().fg(Color::Yellow),
    ));
    let key_width = instance
        .tags
        .keys()
        .map(|k| crate::text::display_width(&safe(k)))
        .max()
        .unwrap_or(0)
        .min(24);
    for (key, value) in &instance.tags {
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
    let or_dash = |v: &Option<String>| safe(v.as_deref().unwrap_or("-"));
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
