//! The screen's regions, shared by the views and by `Model::page_rows` so that scrolling in
//! `update` agrees with what is drawn.
//!
//! ```text
//! title bar (1)
//! banner (0 or 2: the problem, then the fix)
//! body: table header (1) + rows, and the detail pane below when open
//! status / input line (1, or 2 for a long message)
//! hint bar (1)
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

use crate::tui::model::{Mode, Model, Screen};

pub struct Areas {
    pub title: Rect,
    pub banner: Rect,
    pub body: Rect,
    pub detail: Rect,
    pub status: Rect,
    pub hints: Rect,
}

const BANNER_ROWS: u16 = 2;

/// What, besides the body, takes rows on the current screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chrome {
    pub banner: bool,
    pub detail: bool,
    /// 2 when the status message is wider than the terminal: the fix at the end of a long
    /// message is the part worth reading.
    pub status_rows: u16,
}

impl Chrome {
    pub fn of(model: &Model) -> Self {
        let message = match (&model.status, &model.config_warning) {
            (Some(status), _) => Some(status.text.as_str()),
            (None, warning) => warning.as_deref(),
        };
        let width = message.map_or(0, |m| {
            crate::text::display_width(&crate::text::escape_for_terminal(m))
        });
        let long = model.mode == Mode::Normal && width > usize::from(model.size.0);
        Self {
            banner: model.banner.is_some(),
            detail: model.screen == Screen::Fleet && model.fleet.show_detail,
            status_rows: if long { 2 } else { 1 },
        }
    }
}

fn banner_rows(banner: bool) -> u16 {
    if banner { BANNER_ROWS } else { 0 }
}

fn body_height(height: u16, chrome: Chrome) -> u16 {
    height.saturating_sub(2 + chrome.status_rows + banner_rows(chrome.banner))
}

/// Height of the detail pane under the fleet table: about half the body.
pub fn detail_height(body: u16) -> u16 {
    body / 2
}

/// Data rows the body table can show.
pub fn table_rows(height: u16, chrome: Chrome) -> usize {
    let body = body_height(height, chrome);
    let table = if chrome.detail {
        body - detail_height(body)
    } else {
        body
    };
    usize::from(table.saturating_sub(1))
}

pub fn split(area: Rect, chrome: Chrome) -> Areas {
    let body = body_height(area.height, chrome);
    let detail_rows = if chrome.detail {
        detail_height(body)
    } else {
        0
    };
    let [title, banner_area, table, detail_area, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows(chrome.banner)),
        Constraint::Length(body - detail_rows),
        Constraint::Length(detail_rows),
        Constraint::Length(chrome.status_rows),
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
