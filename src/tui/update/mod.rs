//! `update(&mut Model, Msg) -> Vec<Effect>`: pure, no IO, no clock (style.md §3, the Elm
//! architecture). One small `on_*` function per kind of message.

mod actions;
mod command;
mod data;
mod keys;
mod navigate;
mod panes;
mod run;
mod tunnels;

use crate::tui::effect::Effect;
use crate::tui::model::{Load, Mode, Model, Screen};
use crate::tui::msg::Msg;

pub use command::parse_history_query;
pub use data::failures_banner;

/// The effects to run once at start: the fleet, the sessions and the preferences.
pub fn init(model: &mut Model) -> Vec<Effect> {
    model.fleet.load = Load::Loading;
    model.sessions.load = Load::Loading;
    model.preferences_load = Load::Loading;
    if model.regions.is_empty() && !model.fleet.failures.is_empty() {
        // Every account failed before it could load (issue 13): nothing is coming.
        model.fleet.load = Load::Failed(model.now);
    }
    vec![
        Effect::LoadFleet,
        Effect::LoadSessions,
        Effect::LoadPreferences,
    ]
}

pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let effects = match msg {
        Msg::Key(key) => keys::on_key(model, &key),
        Msg::Paste(text) if model.tabs.showing && model.mode == Mode::Normal => {
            panes::on_paste(model, &text)
        }
        Msg::Paste(_) => Vec::new(),
        Msg::Mouse(event) if model.tabs.showing && model.mode == Mode::Normal => {
            panes::on_mouse(model, &event)
        }
        Msg::Mouse(_) => Vec::new(),
        Msg::Pane { id, event } => panes::on_pane(model, id, event),
        Msg::Resize(cols, rows) => {
            model.size = (cols, rows);
            panes::resize_all(model)
        }
        Msg::Tick(now) => on_tick(model, now),
        Msg::FleetLoaded { region, result } => data::on_fleet(model, &region, result),
        Msg::Connectivity { id, result } => data::on_connectivity(model, id, result),
        Msg::SessionsLoaded { region, result } => data::on_sessions(model, &region, result),
        Msg::LocalActivity(activity) => {
            model.local_activity = activity;
            Vec::new()
        }
        Msg::HistoryLoaded {
            region,
            query,
            result,
        } => data::on_history(model, &region, query, result),
        Msg::PreferencesLoaded { region, result } => data::on_preferences(model, &region, result),
        Msg::AuditLoaded { region, result } => data::on_audit(model, &region, result),
        Msg::Terminated { session_id, result } => data::on_terminated(model, &session_id, result),
        Msg::ShellEnded { target, result } => data::on_shell_ended(model, &target, result),
        Msg::CommandSent { region, result } => run::on_sent(model, &region, result),
        Msg::CommandsLoaded { region, result } => run::on_commands(model, &region, result),
        Msg::InvocationsLoaded { command_id, result } => {
            run::on_invocations(model, &command_id, result)
        }
        Msg::OutputLoaded {
            command_id,
            instance_id,
            result,
        } => run::on_output(model, &command_id, &instance_id, result),
        Msg::Retrying(line) => {
            model.set_status(crate::tui::model::Level::Warn, line);
            Vec::new()
        }
        Msg::Tunnel { id, event } => tunnels::on_event(model, id, &event),
        Msg::TunnelTraffic {
            id,
            up,
            down,
            interval,
        } => {
            if let Some(row) = model.tunnels.get_mut(id) {
                row.sample(up, down, interval);
            }
            Vec::new()
        }
        Msg::TunnelEnded { id, reason } => tunnels::on_ended(model, id, reason),
    };
    navigate::settle_all(model);
    effects
}

/// Automatic refresh: the fleet at the configured interval, the sessions more often while they
/// are on screen (their countdowns matter).
fn on_tick(model: &mut Model, now: std::time::SystemTime) -> Vec<Effect> {
    model.now = now;
    let mut effects = Vec::new();
    let due = |load: &Load, every| match load {
        Load::Loaded(at) | Load::Failed(at) => {
            now.duration_since(*at).is_ok_and(|age| age >= every)
        }
        Load::Idle => true,
        Load::Loading => false,
    };
    if due(&model.fleet.load, model.settings.refresh_every) {
        model.fleet.load = Load::Loading;
        effects.push(Effect::LoadFleet);
    }
    if model.screen == Screen::Sessions
        && due(&model.sessions.load, model.settings.sessions_refresh_every)
    {
        model.sessions.load = Load::Loading;
        effects.push(Effect::LoadSessions);
    }
    effects.extend(run::on_tick(model, now));
    effects
}

#[cfg(test)]
pub(crate) mod panes_tests;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;
