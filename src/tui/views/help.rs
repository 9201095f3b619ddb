//! `?`: generated from the keymap table, so it always shows the keys actually bound (including
//! the config file's), and hides dangerous actions in read-only mode. When the list is taller
//! than the screen it flows into side-by-side columns.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::model::Model;

fn lines(model: &Model) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut scope = None;
    for (row_scope, keys, help, dangerous) in model.keymap.help_rows() {
        if scope != Some(row_scope) {
            scope = Some(row_scope);
            let title = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
            lines.push(Line::styled(row_scope.label().to_owned(), title));
        }
        let mut spans = vec![
            Span::styled(format!("  {keys:<12}"), Style::new().fg(Color::Cyan)),
            Span::raw(help),
        ];
        if dangerous {
            spans.push(Span::styled(" (dangerous)", Style::new().fg(Color::Red)));
        }
        lines.push(Line::from(spans));
    }
    lines
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let footer = [
        "commands: :fleet :sessions :history [target=ID owner=NAME since=2h after=… before=…]",
        "          :prefs :help :q — keys are set in ~/.config/gangway/config.toml, [keys]",
    ];
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(area);
    let lines = lines(model);
    let per_column = usize::from(body.height).max(1);
    let columns = lines.len().div_ceil(per_column).max(1);
    let areas = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(body);
    for (chunk, column) in lines.chunks(per_column).zip(areas.iter()) {
        frame.render_widget(Paragraph::new(chunk.to_vec()), *column);
    }
    let dim = Style::new().fg(Color::DarkGray);
    frame.render_widget(
        Paragraph::new(footer.map(|l| Line::styled(l, dim)).to_vec()),
        foot,
    );
}
