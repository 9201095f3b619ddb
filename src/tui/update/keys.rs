//! Keys, by mode: a popup or an input line takes every key first; otherwise the keymap turns
//! the key into an action for the current screen.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::tui::effect::Effect;
use crate::tui::model::{Level, Mode, Model};
use crate::tui::update::{actions, command, run, tunnels};

pub fn on_key(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if model.tabs.showing && model.mode == Mode::Normal {
        return super::panes::on_key(model, key);
    }
    match model.mode.clone() {
        Mode::Normal => match model.keymap.resolve(model.screen.scope(), key) {
            Some(action) => actions::on_action(model, action),
            None => {
                explain_readonly(model, key);
                Vec::new()
            }
        },
        Mode::Filter => on_filter_key(model, key),
        Mode::Command(text) => on_command_key(model, text, key),
        Mode::Confirm(confirm) => actions::on_confirm_key(model, confirm, key),
        Mode::Reason(prompt) => actions::on_reason_key(model, prompt, key),
        Mode::Run(prompt) => run::on_prompt_key(model, prompt, key),
        Mode::TunnelForm(form) => tunnels::on_form_key(model, form, key),
        Mode::Message | Mode::Info | Mode::Session(_) => {
            model.mode = Mode::Normal;
            Vec::new()
        }
    }
}

/// A key that would open a shell or terminate sessions does nothing in `--readonly`; say so
/// instead of leaving the user to guess.
fn explain_readonly(model: &mut Model, key: &KeyEvent) {
    let Some(action) = model.keymap.refused(model.screen.scope(), key) else {
        return;
    };
    let spec = crate::tui::keymap::spec_of(action);
    let chord = crate::tui::keymap::Chord::from_event(key);
    model.set_status(
        Level::Warn,
        format!(
            "read-only: {} ({chord}) is off because gangway was started with --readonly",
            spec.help
        ),
    );
}

/// What a key does to a one-line text input.
pub enum Edit {
    Changed(String),
    Submit(String),
    Cancel,
    /// Not an editing key (arrows keep moving the list while filtering).
    Other,
}

pub fn edit(mut text: String, key: &KeyEvent) -> Edit {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => Edit::Cancel,
        KeyCode::Enter => Edit::Submit(text),
        KeyCode::Backspace => {
            text.pop();
            Edit::Changed(text)
        }
        KeyCode::Char('u') if ctrl => Edit::Changed(String::new()),
        KeyCode::Char('c') if ctrl => Edit::Cancel,
        KeyCode::Char(ch) if !ctrl && !ch.is_control() => {
            text.push(ch);
            Edit::Changed(text)
        }
        _ => Edit::Other,
    }
}

fn on_filter_key(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    let Some(filter) = model.list_filter().map(str::to_owned) else {
        model.mode = Mode::Normal;
        return Vec::new();
    };
    match edit(filter, key) {
        Edit::Changed(text) => {
            actions::set_filter(model, text);
            Vec::new()
        }
        Edit::Submit(_) => {
            model.mode = Mode::Normal;
            Vec::new()
        }
        Edit::Cancel => {
            actions::set_filter(model, String::new());
            model.mode = Mode::Normal;
            Vec::new()
        }
        Edit::Other => match model.keymap.resolve(model.screen.scope(), key) {
            Some(action) if actions::is_movement(action) => actions::on_action(model, action),
            _ => Vec::new(),
        },
    }
}

fn on_command_key(model: &mut Model, text: String, key: &KeyEvent) -> Vec<Effect> {
    match edit(text, key) {
        Edit::Changed(text) => {
            model.mode = Mode::Command(text);
            Vec::new()
        }
        Edit::Submit(text) => {
            model.mode = Mode::Normal;
            command::run(model, &text)
        }
        Edit::Cancel => {
            model.mode = Mode::Normal;
            Vec::new()
        }
        Edit::Other => Vec::new(),
    }
}
