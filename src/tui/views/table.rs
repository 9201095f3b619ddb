//! The table every list screen uses: columns that are empty in every row on screen give their
//! room away, the rest are dropped by priority when the terminal is narrow (a free-text column
//! shrinks first when it may), and the last column takes whatever room is left, so text is
//! only cut where the screen really ends. Cells are escaped and cut to their width with `…`
//! (counted in cells, so wide characters keep the columns aligned), and only the visible window
//! of rows is built (10,000 instances must not cost 10,000 rows per frame).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::text::fit;
use crate::tui::model::Cursor;

pub struct Column {
    pub title: String,
    pub width: u16,
    /// Lower is more important; the highest numbers go first when space runs out. Priority 0
    /// columns are always shown, even when empty (the sessions' mark column).
    pub priority: u8,
    /// Free text may be shown narrower than `width`, down to this, before it is dropped.
    pub min_width: u16,
}

impl Column {
    pub fn new(title: impl Into<String>, width: u16, priority: u8) -> Self {
        Self {
            title: title.into(),
            width,
            priority,
            min_width: width,
        }
    }

    /// Lets the column shrink to `min_width` cells instead of disappearing.
    pub fn shrinks_to(mut self, min_width: u16) -> Self {
        self.min_width = min_width.min(self.width);
        self
    }
}

/// The columns shown in `available` cells (one cell between columns) and their widths.
/// `empty[i]` says column `i` has nothing to show in any row on screen: it gives its room away
/// unless its priority is 0. Leftover room goes to the last column shown.
pub fn choose(columns: &[Column], available: u16, empty: &[bool]) -> Vec<(usize, u16)> {
    let mut keep: Vec<(usize, u16)> = columns
        .iter()
        .enumerate()
        .filter(|(at, c)| c.priority == 0 || !empty.get(*at).copied().unwrap_or(false))
        .map(|(at, c)| (at, c.width))
        .collect();
    let total =
        |keep: &[(usize, u16)]| -> u32 { keep.iter().map(|(_, w)| u32::from(*w) + 1).sum::<u32>() };
    // `total` counts a gap after the last column too.
    let room = u32::from(available) + 1;
    while keep.len() > 1 && total(&keep) > room {
        let pos = keep
            .iter()
            .enumerate()
            .max_by_key(|(pos, (at, _))| (columns[*at].priority, *pos))
            .map(|(pos, _)| pos)
            .unwrap_or(0);
        let (at, width) = keep[pos];
        let overflow = total(&keep) - room;
        let shrunk = u32::from(width).saturating_sub(overflow);
        if shrunk >= u32::from(columns[at].min_width) && columns[at].min_width < width {
            keep[pos].1 = u16::try_from(shrunk).unwrap_or(width);
        } else {
            keep.remove(pos);
        }
    }
    let spare = room.saturating_sub(total(&keep));
    if let Some(last) = keep.last_mut() {
        last.1 = last
            .1
            .saturating_add(u16::try_from(spare).unwrap_or(u16::MAX));
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

    /// Nothing worth a column: no text, or the `-` placeholder.
    fn is_empty(&self) -> bool {
        matches!(self.text.trim(), "" | "-")
    }
}

pub struct RowData {
    pub cells: Vec<Value>,
    pub style: Style,
    /// A line drawn across the whole row instead of the cells (a group header), already
    /// escaped and fitted to the width it is given by [`RowData::spanning`]'s caller.
    pub span: Option<Line<'static>>,
}

impl RowData {
    pub fn new(cells: Vec<Value>, style: Style) -> Self {
        Self {
            cells,
            style,
            span: None,
        }
    }

    pub fn spanning(line: Line<'static>) -> Self {
        Self {
            cells: Vec::new(),
            style: Style::new(),
            span: Some(line),
        }
    }
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
    let visible = usize::from(area.height.saturating_sub(1));
    let start = cursor.offset.min(len);
    let end = (cursor.offset + visible).min(len);
    let data: Vec<RowData> = (start..end).map(&mut row).collect();
    let empty: Vec<bool> = (0..columns.len())
        .map(|col| {
            data.iter()
                .filter(|d| d.span.is_none())
                .all(|d| d.cells.get(col).is_none_or(Value::is_empty))
        })
        .collect();
    let keep = choose(columns, area.width, &empty);
    let header = Row::new(
        keep.iter()
            .map(|(at, width)| Cell::from(fit(&columns[*at].title, usize::from(*width)))),
    )
    .style(Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD));
    let rows: Vec<Row<'_>> = data
        .iter()
        .map(|data| {
            let cells = keep.iter().map(|(col, width)| match data.cells.get(*col) {
                Some(v) => Cell::from(Line::from(Span::styled(
                    fit(&v.text, usize::from(*width)),
                    v.style,
                ))),
                None => Cell::from(""),
            });
            Row::new(cells.collect::<Vec<_>>()).style(data.style)
        })
        .collect();
    let constraints: Vec<Constraint> = keep.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let table = Table::new(rows, constraints)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let selected =
        (len > 0 && cursor.selected >= cursor.offset).then(|| cursor.selected - cursor.offset);
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
    // Spanning rows are drawn over their (empty) cells, on the same screen line.
    for (at, data) in data.into_iter().enumerate() {
        let Some(line) = data.span else { continue };
        let Ok(at) = u16::try_from(at + 1) else { break };
        let line_area = Rect {
            y: area.y + at,
            height: 1,
            ..area
        };
        if line_area.y < area.bottom() {
            frame.render_widget(Paragraph::new(line), line_area);
        }
    }
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
        let none = [false; 3];
        assert_eq!(choose(&columns, 40, &none), [(0, 10), (1, 10), (2, 18)]);
        assert_eq!(choose(&columns, 25, &none), [(0, 10), (2, 14)]);
        assert_eq!(choose(&columns, 3, &none), [(0, 10)]);
        assert_eq!(choose(&columns, 0, &none), [(0, 10)]);
    }

    #[test]
    fn empty_columns_give_their_room_and_free_text_shrinks_before_it_goes() {
        let columns = [
            Column::new("", 2, 0),
            Column::new("id", 10, 0),
            Column::new("idle", 8, 2),
            Column::new("reason", 16, 3).shrinks_to(8),
        ];
        // Empty, but priority 0: kept; the empty idle column goes and the reason gets its room.
        let empty = [true, false, true, false];
        assert_eq!(choose(&columns, 40, &empty), [(0, 2), (1, 10), (3, 26)]);
        // Too narrow for everything: the reason shrinks rather than disappearing...
        let full = [false; 4];
        assert_eq!(
            choose(&columns, 35, &full),
            [(0, 2), (1, 10), (2, 8), (3, 12)]
        );
        // ...until it would be narrower than its minimum.
        assert_eq!(choose(&columns, 28, &full), [(0, 2), (1, 10), (2, 14)]);
    }
}
