//! Moving the selection in whichever list is on screen.

use crate::tui::effect::Effect;
use crate::tui::keymap::Action;
use crate::tui::model::{Cursor, Load, Model, Screen};

/// Up, down, page and jump keys. On the history screen, reaching the last rows asks for the
/// next page (pagination follows scrolling).
pub fn on_move(model: &mut Model, action: Action) -> Vec<Effect> {
    let page = model.page_rows().max(1);
    let screen = model.screen;
    if screen == Screen::Help {
        scroll_help(model, action, page);
        return Vec::new();
    }
    let Some((cursor, len)) = cursor_of(model, screen) else {
        return Vec::new();
    };
    let last = len.saturating_sub(1);
    let forward = !matches!(action, Action::Up | Action::PageUp | Action::Top);
    cursor.selected = match action {
        Action::Up => cursor.selected.saturating_sub(1),
        Action::Down => (cursor.selected + 1).min(last),
        Action::PageUp => cursor.selected.saturating_sub(page),
        Action::PageDown => (cursor.selected + page).min(last),
        Action::Top => 0,
        _ => last,
    };
    if screen == Screen::Fleet {
        let from = model.fleet.cursor.selected;
        let mut at = model.fleet.first_instance_row_from(from, forward);
        if !matches!(
            model.fleet.rows.get(at),
            Some(crate::tui::fleet_list::FleetRow::Instance(_))
        ) {
            at = model.fleet.first_instance_row_from(from, !forward);
        }
        model.fleet.cursor.selected = at;
    }
    settle_all(model);
    // The first instance of a group brings its header into view with it.
    let fleet = &mut model.fleet;
    let at = fleet.cursor.selected;
    if screen == Screen::Fleet
        && at > 0
        && fleet.cursor.offset == at
        && matches!(
            fleet.rows.get(at - 1),
            Some(crate::tui::fleet_list::FleetRow::Group { .. })
        )
    {
        fleet.cursor.offset = at - 1;
    }
    if screen == Screen::History {
        return more_history_if_near_end(model);
    }
    if screen == Screen::Fleet && model.fleet.show_detail {
        return crate::tui::update::actions::check_selected(model);
    }
    Vec::new()
}

/// The help screen is text, not a list: the keys scroll it (it is longer than 24 rows).
fn scroll_help(model: &mut Model, action: Action, page: usize) {
    let limit = crate::tui::views::help_scroll_limit(model);
    let at = model.help_scroll;
    model.help_scroll = match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => at + 1,
        Action::PageUp => at.saturating_sub(page),
        Action::PageDown => at + page,
        Action::Top => 0,
        _ => limit,
    }
    .min(limit);
}

fn cursor_of(model: &mut Model, screen: Screen) -> Option<(&mut Cursor, usize)> {
    match screen {
        Screen::Fleet => Some((&mut model.fleet.cursor, model.fleet.rows.len())),
        Screen::Sessions => Some((&mut model.sessions.cursor, model.sessions.view.rows.len())),
        Screen::History => Some((&mut model.history.cursor, model.history.view.rows.len())),
        Screen::Commands => Some((&mut model.commands.cursor, model.commands.items.len())),
        Screen::Command => model
            .command
            .as_mut()
            .map(|v| (&mut v.cursor, v.invocations.len())),
        Screen::Tunnels => Some((&mut model.tunnels.cursor, model.tunnels.items.len())),
        Screen::Preferences | Screen::Audit | Screen::Help => None,
    }
}

/// Keeps every cursor inside its list and its selection on screen.
pub fn settle_all(model: &mut Model) {
    let page = model.page_rows();
    model.fleet.cursor.settle(model.fleet.rows.len(), page);
    model
        .sessions
        .cursor
        .settle(model.sessions.view.rows.len(), page);
    model
        .history
        .cursor
        .settle(model.history.view.rows.len(), page);
    model
        .commands
        .cursor
        .settle(model.commands.items.len(), page);
    if let Some(view) = model.command.as_mut() {
        view.cursor.settle(view.invocations.len(), page);
    }
    model.tunnels.cursor.settle(model.tunnels.items.len(), page);
}

/// Next history pages once the selection is within a page of the end.
pub fn more_history_if_near_end(model: &mut Model) -> Vec<Effect> {
    let history = &mut model.history;
    let near_end = history.cursor.selected + model.size.1 as usize >= history.view.rows.len();
    if !near_end || history.load == Load::Loading || history.next_tokens.is_empty() {
        return Vec::new();
    }
    history.load = Load::Loading;
    let tokens = std::mem::take(&mut history.next_tokens);
    tokens
        .into_iter()
        .map(|(region, token)| {
            history.pending_regions.insert(region.clone());
            Effect::LoadHistory {
                region: Some(region),
                query: history.query.clone(),
                next_token: Some(token),
            }
        })
        .collect()
}
