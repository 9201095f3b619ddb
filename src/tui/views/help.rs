//! `?`: generated from the keymap table, so it always shows the keys actually bound (including
//! the config file's), and hides dangerous actions in read-only mode. Descriptions wrap under
//! their column instead of being cut, and a screen too short for the list scrolls with the
//! movement keys (issue 16, bug 7).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::text::wrap;
use crate::tui::keymap::Action;
use crate::tui::model::Model;

/// The keys column: two spaces, then the chords padded to 12.
const KEYS_WIDTH: usize = 14;

const COMMANDS: [&str; 3] = [
    ":fleet :sessions :commands :tunnels :prefs :info :audit :help :q",
    ":history [target=ID owner=NAME since=2h after=… before=…]",
    "keys are set in ~/.config/gangway/config.toml, [keys]",
];

fn lines(model: &Model, width: usize) -> Vec<Line<'static>> {
    let title = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let room = width.saturating_sub(KEYS_WIDTH).max(10);
    let mut lines = Vec::new();
    let mut scope = None;
    for (row_scope, keys, help, dangerous) in model.keymap.help_rows() {
        if scope != Some(row_scope) {
            scope = Some(row_scope);
            lines.push(Line::styled(row_scope.label().to_owned(), title));
        }
        let text = if dangerous {
            format!("{help} (dangerous)")
        } else {
            help.to_owned()
        };
        let keys = format!("  {keys:<12}");
        let pad = " ".repeat(crate::text::display_width(&keys));
        let style = if dangerous {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        for (at, part) in wrap(&text, room).into_iter().enumerate() {
            let lead = if at == 0 { keys.clone() } else { pad.clone() };
            lines.push(Line::from(vec![
                Span::styled(lead, Style::new().fg(Color::Cyan)),
                Span::styled(part, style),
            ]));
        }
    }
    lines.push(Line::styled("commands", title));
    let dim = Style::new().fg(Color::DarkGray);
    for command in COMMANDS {
        for part in wrap(command, width.saturating_sub(2).max(10)) {
            lines.push(Line::styled(format!("  {part}"), dim));
        }
    }
    lines
}

/// How far the help screen can scroll on the current terminal.
pub fn scroll_limit(model: &Model) -> usize {
    let rows = usize::from(crate::tui::views::layout::body_rows(model));
    let total = lines(model, usize::from(model.size.0)).len();
    if total <= rows {
        0
    } else {
        total - rows.saturating_sub(1).max(1)
    }
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let all = lines(model, usize::from(area.width));
    let rows = usize::from(area.height);
    if all.len() <= rows {
        frame.render_widget(Paragraph::new(all), area);
        return;
    }
    // The last row says where we are and how to move.
    let visible = rows.saturating_sub(1).max(1);
    let at = model.help_scroll.min(all.len() - visible);
    let shown: Vec<Line<'static>> = all.iter().skip(at).take(visible).cloned().collect();
    let key = |action| {
        model
            .keymap
            .keys_for(action)
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    let position = format!(
        "── {}-{} of {} · {}/{} {}/{} scroll",
        at + 1,
        at + shown.len(),
        all.len(),
        key(Action::Down),
        key(Action::Up),
        key(Action::PageDown),
        key(Action::PageUp),
    );
    let mut lines = shown;
    lines.resize(visible, Line::default());
    if rows > 1 {
        lines.push(Line::styled(position, Style::new().fg(Color::DarkGray)));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
