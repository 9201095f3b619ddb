//! Where panes go: the screen less the status line, cut into one to four columns side by
//! side with a one-column rule between them. Pure, shared by the views and by `update`
//! (which tells each session its size).

use ratatui::layout::Rect;

/// Rows the status line takes at the bottom.
pub const STATUS_ROWS: u16 = 1;

/// The smallest screen a tab is drawn on: the status line and one row and some columns of
/// shell per pane. Below it the view says so instead of drawing.
pub const MIN_COLS_PER_PANE: u16 = 10;
pub const MIN_ROWS: u16 = STATUS_ROWS + 2;

/// The shell area and the status line of a `width`×`height` screen.
pub fn split(area: Rect) -> (Rect, Rect) {
    let body_height = area.height.saturating_sub(STATUS_ROWS);
    let body = Rect {
        height: body_height,
        ..area
    };
    let status = Rect {
        y: area.y + body_height,
        height: area.height - body_height,
        ..area
    };
    (body, status)
}

/// `count` panes side by side in `body`; the first ones get the spare columns.
pub fn panes(body: Rect, count: usize) -> Vec<Rect> {
    let count = u16::try_from(count.max(1)).unwrap_or(1);
    let rules = count - 1;
    let usable = body.width.saturating_sub(rules);
    let (each, spare) = (usable / count, usable % count);
    let mut x = body.x;
    (0..count)
        .map(|i| {
            let width = each + u16::from(i < spare);
            let rect = Rect { x, width, ..body };
            x += width + 1;
            rect
        })
        .collect()
}

/// Whether a screen of `size` can show `count` panes and the status line.
pub fn fits(size: (u16, u16), count: usize) -> bool {
    let count = u16::try_from(count.max(1)).unwrap_or(u16::MAX);
    size.1 >= MIN_ROWS && size.0 >= count.saturating_mul(MIN_COLS_PER_PANE + 1)
}

/// The size (columns, rows) each of `count` panes gets on a screen of `size`, at least 1×1.
pub fn pane_sizes(size: (u16, u16), count: usize) -> Vec<(u16, u16)> {
    let (body, _) = split(Rect::new(0, 0, size.0, size.1));
    panes(body, count)
        .into_iter()
        .map(|r| (r.width.max(1), r.height.max(1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_share_the_width_with_rules_between() {
        let body = Rect::new(0, 0, 120, 39);
        let two = panes(body, 2);
        assert_eq!(two, vec![Rect::new(0, 0, 60, 39), Rect::new(61, 0, 59, 39)]);
        let four = panes(Rect::new(0, 0, 80, 23), 4);
        assert_eq!(
            four.iter().map(|r| r.width).collect::<Vec<_>>(),
            [20, 19, 19, 19]
        );
        assert_eq!(four[3].x + four[3].width, 80);
        assert_eq!(panes(body, 1), vec![body]);
    }

    #[test]
    fn the_status_line_is_the_last_row() {
        let (body, status) = split(Rect::new(0, 0, 80, 24));
        assert_eq!((body.height, status.y, status.height), (23, 23, 1));
        let (body, status) = split(Rect::new(0, 0, 80, 0));
        assert_eq!((body.height, status.height), (0, 0));
    }

    #[test]
    fn too_small_screens_are_refused_and_sizes_stay_positive() {
        assert!(fits((80, 24), 4));
        assert!(!fits((80, 2), 1));
        assert!(!fits((30, 24), 3));
        assert_eq!(pane_sizes((3, 1), 2), vec![(1, 1), (1, 1)]);
        assert_eq!(pane_sizes((120, 40), 2), vec![(60, 39), (59, 39)]);
    }
}
