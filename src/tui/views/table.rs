//! The table every list screen uses: columns dropped by priority when the terminal is narrow,
//! cells escaped and cut to their width with `…` (counted in cells, so wide characters keep
//! the columns aligned), and only the visible window of rows built (10,000 instances must not
//! cost 10,000 rows per frame).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use crate::text::fit;
use crate::tui::model::Cursor;

pub struct Column {
    pub title: String,
    pub width: u16,
    /// Lower is more important; the highest numbers go first when space runs out.
    pub priority: u8,
}

impl Column {
    pub fn new(title: impl Into<String>, width: u16, priority: u8) -> Self {
        Self {
            title: title.into(),
            width,
            priority,
        }
    }
}

/// Indices of the columns that fit in `available` cells (one cell between columns).
pub fn choose(columns: &[Column], available: u16) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let total = |keep: &[usize]| -> u32 {
        keep.iter()
            .map(|at| u32::from(columns[*at].width) + 1)
            .sum::<u32>()
    };
    while keep.len() > 1 && total(&keep) > u32::from(available) + 1 {
        let drop = keep
            .iter()
            .enumerate()
            .max_by_key(|(pos, at)| (columns[**at].priority, *pos))
            .map(|(pos, _)| pos)
            .unwrap_or(0);
        keep.remove(drop);
    }
    keep
}

/// One cell: text plus an optional colour.
pub struct Value {
    pub text: String,
    pub style: Style,
}

impl Value {
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style::new(),
        }
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

pub struct RowData {
    pub cells: Vec<Value>,
    pub style: Style,
}

/// Draws the header and the rows `cursor.offset..` that fit; `row(i)` builds row `i` of `len`.
pub fn draw(
    frame: &mut Frame<'_>,
    area: Rect,
    columns: &[Column],
    len: usize,
    cursor: &Cursor,
    mut row: impl FnMut(usize) -> RowData,
) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let keep = choose(columns, area.width);
    let widths: Vec<u16> = keep.iter().map(|at| columns[*at].width).collect();
    let header = Row::new(
        keep.iter()
            .map(|at| Cell::from(fit(&columns[*at].title, usize::from(columns[*at].width)))),
    )
    .style(Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD));
    let visible = usize::from(area.height.saturating_sub(1));
    let end = (cursor.offset + visible).min(len);
    let rows: Vec<Row<'_>> = (cursor.offset.min(end)..end)
        .map(|at| {
            let data = row(at);
            let cells = keep
                .iter()
                .zip(&widths)
                .map(|(col, width)| match data.cells.get(*col) {
                    Some(v) => Cell::from(Line::from(Span::styled(
                        fit(&v.text, usize::from(*width)),
                        v.style,
                    ))),
                    None => Cell::from(""),
                });
            Row::new(cells.collect::<Vec<_>>()).style(data.style)
        })
        .collect();
    let mut constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    if let Some(last) = constraints.last_mut() {
        *last = Constraint::Min(widths.last().copied().unwrap_or(0));
    }
    let table = Table::new(rows, constraints)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let selected =
        (len > 0 && cursor.selected >= cursor.offset).then(|| cursor.selected - cursor.offset);
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_the_least_important_columns() {
        let columns = [
            Column::new("a", 10, 0),
            Column::new("b", 10, 2),
            Column::new("c", 10, 1),
        ];
        assert_eq!(choose(&columns, 40), [0, 1, 2]);
        assert_eq!(choose(&columns, 25), [0, 2]);
        assert_eq!(choose(&columns, 3), [0]);
        assert_eq!(choose(&columns, 0), [0]);
    }
}
