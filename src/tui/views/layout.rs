//! The screen's regions, shared by the views and by `Model::page_rows` so that scrolling in
//! `update` agrees with what is drawn.
//!
//! ```text
//! title bar (1)
//! banner (0 or 2: the problem, then the fix)
//! body: table header (1) + rows, and the detail pane below when open
//! status / input line (1)
//! hint bar (1)
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

pub struct Areas {
    pub title: Rect,
    pub banner: Rect,
    pub body: Rect,
    pub detail: Rect,
    pub status: Rect,
    pub hints: Rect,
}

const BANNER_ROWS: u16 = 2;

fn banner_rows(banner: bool) -> u16 {
    if banner { BANNER_ROWS } else { 0 }
}

fn body_height(height: u16, banner: bool) -> u16 {
    height.saturating_sub(3 + banner_rows(banner))
}

/// Height of the detail pane under the fleet table: about half the body.
pub fn detail_height(body: u16) -> u16 {
    body / 2
}

/// Data rows the body table can show.
pub fn table_rows(height: u16, banner: bool, detail: bool) -> usize {
    let body = body_height(height, banner);
    let table = if detail {
        body - detail_height(body)
    } else {
        body
    };
    usize::from(table.saturating_sub(1))
}

pub fn split(area: Rect, banner: bool, detail: bool) -> Areas {
    let body = body_height(area.height, banner);
    let detail_rows = if detail { detail_height(body) } else { 0 };
    let [title, banner_area, table, detail_area, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows(banner)),
        Constraint::Length(body - detail_rows),
        Constraint::Length(detail_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        title,
        banner: banner_area,
        body: table,
        detail: detail_area,
        status,
        hints,
    }
}
