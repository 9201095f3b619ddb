//! The screen's regions, shared by the views and by `Model::page_rows` so that scrolling in
//! `update` agrees with what is drawn.
//!
//! ```text
//! title bar (1)
//! banner (0, or up to 4: the problem, then the fix, wrapped at spaces)
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

/// What, besides the body, takes rows on the current screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chrome {
    pub banner_rows: u16,
    pub detail: bool,
    /// 2 when the status message is wider than the terminal: the reason in a long message
    /// is the part worth reading.
    pub status_rows: u16,
}

impl Chrome {
    pub fn of(model: &Model) -> Self {
        let typing = matches!(model.mode, Mode::Filter | Mode::Command(_));
        let status_rows = if typing {
            1
        } else {
            crate::tui::views::chrome::message_rows(model).map_or(1, |(rows, _)| rows.len())
        };
        let banner_rows = crate::tui::views::chrome::banner_rows(model).len();
        Self {
            banner_rows: u16::try_from(banner_rows).unwrap_or(0),
            detail: model.screen == Screen::Fleet && model.fleet.show_detail,
            status_rows: u16::try_from(status_rows.max(1)).unwrap_or(1),
        }
    }
}

fn body_height(height: u16, chrome: Chrome) -> u16 {
    height.saturating_sub(2 + chrome.status_rows + chrome.banner_rows)
}

/// Rows of the body (below the title and banner, above the status line).
pub fn body_rows(model: &Model) -> u16 {
    body_height(model.size.1, Chrome::of(model))
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
        Constraint::Length(chrome.banner_rows),
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

/// The command view's table height (header included) out of `rest` rows under its summary
/// line: all of them, or a third (at least 3) when an instance's output is open below.
fn command_table_height(rest: u16, output: bool) -> u16 {
    if output {
        (rest / 3).max(3).min(rest)
    } else {
        rest
    }
}

/// Data rows of the command view's table, from the rows a plain table would have.
pub fn command_table_rows(rows: usize, output: bool) -> usize {
    let rest = u16::try_from(rows).unwrap_or(u16::MAX);
    usize::from(command_table_height(rest, output).saturating_sub(1))
}

/// The command view's body: summary line, invocations table, output pane.
pub fn command_split(body: Rect, output: bool) -> [Rect; 3] {
    let rest = body.height.saturating_sub(1);
    let table = command_table_height(rest, output);
    Layout::vertical([
        Constraint::Length(1.min(body.height)),
        Constraint::Length(table),
        Constraint::Length(rest - table),
    ])
    .areas(body)
}
