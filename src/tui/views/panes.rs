//! A shell tab: its panes side by side, each drawn from its terminal state cell by cell
//! (colours, bold, wide characters, the cursor), and the status line (`panes::status`).
//! An ended pane keeps its last screen with its end over the bottom line; the last two
//! minutes before a limit put a notice over the focused pane's bottom line.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::model::{Mode, Model};
use crate::tui::panes::status::{self, Tone};
use crate::tui::panes::{Pane, layout};

pub fn draw(frame: &mut Frame<'_>, model: &Model) {
    let area = frame.area();
    let Some(tab) = model.tabs.current_tab() else {
        return;
    };
    if !layout::fits((area.width, area.height), tab.panes.len()) {
        let need = layout::MIN_COLS_PER_PANE * u16::try_from(tab.panes.len()).unwrap_or(1);
        let text = format!(
            "window too small for this tab: {}x{} needed ({}x{} now); {} f: the fleet",
            need + 1,
            layout::MIN_ROWS,
            area.width,
            area.height,
            model.settings.prefix
        );
        frame.render_widget(
            Paragraph::new(text)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .style(Style::new().fg(Color::Yellow)),
            area,
        );
        return;
    }
    let (body, status_area) = layout::split(area);
    let rects = layout::panes(body, tab.panes.len());
    let line = status::line(model, status_area.width);
    for (at, (pane, rect)) in tab.panes.iter().zip(&rects).enumerate() {
        let focused = at == tab.focused;
        draw_screen(frame.buffer_mut(), *rect, pane);
        if let Some(end) = &pane.end {
            let text = format!(
                " ended: {} · enter closes, {} f: the fleet",
                end.summary, model.settings.prefix
            );
            overlay(frame.buffer_mut(), *rect, &text, ended_style());
        } else if focused && let Some(notice) = &line.notice {
            overlay(
                frame.buffer_mut(),
                *rect,
                &format!(" {notice}"),
                warning_style(),
            );
        }
        if focused && pane.is_live() && model.tabs.scrollback == 0 && model.mode == Mode::Normal {
            let (row, col, hidden) = pane.screen.with_screen(|s| {
                let (row, col) = s.cursor_position();
                (row, col, s.hide_cursor())
            });
            if !hidden && row < rect.height && col < rect.width {
                frame.set_cursor_position(Position::new(rect.x + col, rect.y + row));
            }
        }
        if tab.panes.len() > 1 {
            let mark = if pane.marked { "●" } else { " " };
            let label = format!("{}{mark}", at + 1);
            let style = if focused {
                Style::new().fg(Color::Black).bg(Color::Cyan)
            } else {
                Style::new().fg(Color::Gray).bg(Color::DarkGray)
            };
            frame.buffer_mut().set_stringn(
                rect.x + rect.width.saturating_sub(2),
                rect.y,
                label,
                2,
                style,
            );
        }
    }
    for pair in rects.windows(2) {
        let x = pair[0].x + pair[0].width;
        for y in body.y..body.y + body.height {
            if let Some(cell) = frame.buffer_mut().cell_mut(Position::new(x, y)) {
                cell.set_symbol("│")
                    .set_style(Style::new().fg(Color::DarkGray));
            }
        }
    }
    draw_status(frame, status_area, &line);
}

fn warning_style() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

fn ended_style() -> Style {
    Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD)
}

/// One line over the bottom row of `rect`.
fn overlay(buffer: &mut Buffer, rect: Rect, text: &str, style: Style) {
    if rect.height == 0 {
        return;
    }
    let y = rect.y + rect.height - 1;
    let text = crate::text::fit(text, usize::from(rect.width));
    for x in rect.x..rect.x + rect.width {
        if let Some(cell) = buffer.cell_mut(Position::new(x, y)) {
            cell.reset();
            cell.set_style(style);
        }
    }
    buffer.set_stringn(rect.x, y, text, usize::from(rect.width), style);
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, line: &status::StatusLine) {
    let base = if line.warning {
        warning_style()
    } else {
        Style::new().fg(Color::White).bg(Color::DarkGray)
    };
    let mut spans = Vec::new();
    for (at, part) in line.parts.iter().enumerate() {
        if at > 0 {
            spans.push(Span::raw(" "));
        }
        let style = match part.tone {
            Tone::Plain => base,
            Tone::Current => base.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Tone::Dim => base.fg(if line.warning {
                Color::Black
            } else {
                Color::Gray
            }),
            Tone::Alarm => Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        };
        spans.push(Span::styled(part.text.clone(), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

fn color(c: vt100::Color) -> Option<Color> {
    match c {
        vt100::Color::Default => None,
        vt100::Color::Idx(i) => Some(Color::Indexed(i)),
        vt100::Color::Rgb(r, g, b) => Some(Color::Rgb(r, g, b)),
    }
}

/// The pane's screen into `rect`, cell by cell. Text from the remote side is only ever
/// cell contents: control characters never reach the real terminal this way.
fn draw_screen(buffer: &mut Buffer, rect: Rect, pane: &Pane) {
    pane.screen.with_screen(|screen| {
        for row in 0..rect.height {
            for col in 0..rect.width {
                let Some(cell) = screen.cell(row, col) else {
                    continue;
                };
                if cell.is_wide_continuation() {
                    continue;
                }
                let Some(target) = buffer.cell_mut(Position::new(rect.x + col, rect.y + row))
                else {
                    continue;
                };
                let mut style = Style::new();
                if let Some(fg) = color(cell.fgcolor()) {
                    style = style.fg(fg);
                }
                if let Some(bg) = color(cell.bgcolor()) {
                    style = style.bg(bg);
                }
                let mut modifier = Modifier::empty();
                for (on, m) in [
                    (cell.bold(), Modifier::BOLD),
                    (cell.dim(), Modifier::DIM),
                    (cell.italic(), Modifier::ITALIC),
                    (cell.underline(), Modifier::UNDERLINED),
                    (cell.inverse(), Modifier::REVERSED),
                ] {
                    if on {
                        modifier |= m;
                    }
                }
                style = style.add_modifier(modifier);
                let text = cell.contents();
                // A wide character in the last column has no room: a blank instead.
                let fits = !cell.is_wide() || col + 1 < rect.width;
                let symbol = if text.is_empty() || !fits { " " } else { text };
                // Cells hold printable text only (the parser acts on control characters).
                if symbol.chars().any(char::is_control) {
                    target.set_symbol(" ");
                } else {
                    target.set_symbol(symbol);
                }
                target.set_style(style);
            }
        }
    });
}
