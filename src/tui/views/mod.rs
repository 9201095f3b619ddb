//! Drawing: pure functions of the `Model` into a ratatui `Frame`. One file per screen, in the
//! style of k9s' renderers: a header, a row function and a health colouring.

mod audit;
mod chrome;
mod commands;
mod detail;
mod fleet;
mod help;
mod history;
pub mod layout;
mod panes;
mod popup;
mod prefs;
mod sessions;
pub mod table;
mod tunnels;

use ratatui::Frame;

use crate::tui::model::{Mode, Model, Screen};

pub fn draw(frame: &mut Frame<'_>, model: &Model) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    if model.tabs.showing && model.tabs.current_tab().is_some() {
        panes::draw(frame, model);
        if let Mode::Confirm(confirm) = &model.mode {
            popup::confirm(frame, area, confirm);
        }
        return;
    }
    let chrome = layout::Chrome::of(model);
    let areas = layout::split(area, chrome);
    chrome::title(frame, areas.title, model);
    chrome::banner(frame, areas.banner, model);
    match model.screen {
        Screen::Fleet => {
            fleet::draw(frame, areas.body, model);
            if chrome.detail {
                detail::draw(frame, areas.detail, model);
            }
        }
        Screen::Sessions => sessions::draw(frame, areas.body, model),
        Screen::History => history::draw(frame, areas.body, model),
        Screen::Preferences => prefs::draw(frame, areas.body, model),
        Screen::Audit => audit::draw(frame, areas.body, model),
        Screen::Help => help::draw(frame, areas.body, model),
        Screen::Commands => commands::draw_list(frame, areas.body, model),
        Screen::Command => commands::draw_command(frame, areas.body, model),
        Screen::Tunnels => tunnels::draw(frame, areas.body, model),
    }
    chrome::status(frame, areas.status, model);
    chrome::hints(frame, areas.hints, model);
    match &model.mode {
        Mode::Confirm(confirm) => popup::confirm(frame, area, confirm),
        Mode::Reason(prompt) => popup::reason(frame, area, prompt, model),
        Mode::Run(prompt) => popup::run(frame, area, prompt),
        Mode::Message => popup::message(frame, area, model),
        Mode::Info => popup::info(frame, area, model),
        Mode::Session(session) => popup::session(frame, area, session, model),
        Mode::TunnelForm(form) => popup::tunnel_form(frame, area, form),
        _ => {}
    }
}

/// How far the help screen scrolls at the current size (`update` keeps the offset in range).
pub fn help_scroll_limit(model: &Model) -> usize {
    help::scroll_limit(model)
}

#[cfg(test)]
mod panes_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod accounts_tests;
