//! Tunnels: the form opened from the fleet, its keys, stopping one from the tunnels view
//! (behind a confirmation), and what the running tunnels report.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::text::fit;
use crate::tui::effect::Effect;
use crate::tui::model::{Confirm, Confirmed, Level, Mode, Model, ShellTarget, Status};
use crate::tui::tunnel_list::{TunnelForm, TunnelState};
use crate::tui::update::keys::{Edit, edit};
use crate::tunnel::TunnelEvent;

/// `f` on the fleet: the form for the selected instance, unless it cannot take a session now
/// (said why, as for a shell).
pub fn open_form(model: &mut Model) -> Vec<Effect> {
    let Some(instance) = model.fleet.selected() else {
        return Vec::new();
    };
    let diagnosis = crate::aws::diagnose(instance, None, &model.access_scope());
    if !diagnosis.can_connect() {
        let name = fit(instance.name.as_deref().unwrap_or(instance.id.as_str()), 40);
        model.status = Some(Status::because(
            Level::Error,
            &format!("no tunnel to {name}"),
            &diagnosis.line(),
        ));
        return Vec::new();
    }
    let target = ShellTarget {
        instance_id: instance.id.clone(),
        name: instance.name.clone(),
        // The row's own account and region: the client that listed it opens the shell.
        region: instance.location(),
    };
    model.mode = Mode::TunnelForm(TunnelForm::new(target));
    Vec::new()
}

/// Keys in the form: tab / shift-tab / up / down move between fields, enter starts the
/// tunnel, esc cancels; typing edits the field (ports take digits only).
pub fn on_form_key(model: &mut Model, mut form: TunnelForm, key: &KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Tab | KeyCode::Down => {
            form.cycle(true);
            model.mode = Mode::TunnelForm(form);
            return Vec::new();
        }
        KeyCode::BackTab | KeyCode::Up => {
            form.cycle(false);
            model.mode = Mode::TunnelForm(form);
            return Vec::new();
        }
        KeyCode::Char(ch) if !form.accepts(ch) && key.modifiers.is_empty() => {
            form.error = Some(match form.field {
                crate::tui::tunnel_list::FormField::Host => {
                    "a host name: letters, digits, . - _ :".to_owned()
                }
                _ => "a port: digits only (0-65535)".to_owned(),
            });
            model.mode = Mode::TunnelForm(form);
            return Vec::new();
        }
        _ => {}
    }
    match edit(form.text(form.field).to_owned(), key) {
        Edit::Changed(text) => {
            *form.text_mut(form.field) = text;
            form.error = None;
            model.mode = Mode::TunnelForm(form);
            Vec::new()
        }
        Edit::Cancel => {
            model.mode = Mode::Normal;
            Vec::new()
        }
        Edit::Submit(_) => match form.request() {
            Ok(request) => {
                model.mode = Mode::Normal;
                let id = model.tunnels.add(form.target.clone(), request.clone());
                let name = form
                    .target
                    .name
                    .as_deref()
                    .unwrap_or(form.target.instance_id.as_str());
                model.set_status(
                    Level::Info,
                    format!(
                        "starting a tunnel to {}:{} (5 or :tunnels lists it)",
                        fit(name, 40),
                        fit(&request.remote(), 60)
                    ),
                );
                vec![Effect::StartTunnel {
                    id,
                    target: form.target,
                    request,
                }]
            }
            Err(problem) => {
                form.error = Some(problem);
                model.mode = Mode::TunnelForm(form);
                Vec::new()
            }
        },
        Edit::Other => {
            model.mode = Mode::TunnelForm(form);
            Vec::new()
        }
    }
}

/// ctrl-d in the tunnels view: the selected running tunnel, behind a confirmation.
pub fn ask_stop(model: &mut Model) -> Vec<Effect> {
    let Some(row) = model.tunnels.selected() else {
        return Vec::new();
    };
    if !row.is_running() {
        model.set_status(Level::Info, "this tunnel has ended already");
        return Vec::new();
    }
    let name = row
        .target
        .name
        .as_deref()
        .unwrap_or(row.target.instance_id.as_str());
    let local = row
        .local
        .map_or_else(|| "(not listening yet)".to_owned(), |l| l.to_string());
    let line = format!(
        "{local} -> {name} ({}):{}  {} open connection(s)",
        row.target.instance_id,
        row.request.remote(),
        row.connections
    );
    model.mode = Mode::Confirm(Confirm {
        title: "Stop this tunnel?".to_owned(),
        lines: vec![line],
        action: Confirmed::StopTunnel(row.id),
    });
    Vec::new()
}

/// `y` on the stop confirmation.
pub fn stop(model: &mut Model, id: u64) -> Vec<Effect> {
    match model.tunnels.get_mut(id) {
        Some(row) if row.is_running() => {
            row.state = TunnelState::Stopping;
            model.set_status(Level::Info, "stopping the tunnel…");
            vec![Effect::StopTunnel(id)]
        }
        _ => Vec::new(),
    }
}

pub fn on_event(model: &mut Model, id: u64, event: &TunnelEvent) -> Vec<Effect> {
    let Some(row) = model.tunnels.get_mut(id) else {
        return Vec::new();
    };
    row.apply(event);
    // What needs the user's attention even while another screen is shown.
    let name = fit(
        row.target
            .name
            .as_deref()
            .unwrap_or(row.target.instance_id.as_str()),
        40,
    );
    match event {
        TunnelEvent::Listening { local, remote, .. } => model.set_status(
            Level::Info,
            format!("tunnel {local} -> {name}:{} is up", fit(remote, 60)),
        ),
        TunnelEvent::RemoteRefused { .. } => {
            model.status = Some(Status::because(
                Level::Warn,
                &format!("tunnel to {name}"),
                "the instance could not connect to the remote port (is anything listening there?); the tunnel stays up",
            ))
        }
        _ => {}
    }
    Vec::new()
}

pub fn on_ended(model: &mut Model, id: u64, reason: String) -> Vec<Effect> {
    let Some(row) = model.tunnels.get_mut(id) else {
        return Vec::new();
    };
    let stopped_by_user = row.state == TunnelState::Stopping;
    let name = fit(
        row.target
            .name
            .as_deref()
            .unwrap_or(row.target.instance_id.as_str()),
        40,
    );
    row.end(reason.clone());
    model.status = Some(if stopped_by_user {
        Status::new(Level::Info, format!("tunnel to {name} stopped"))
    } else {
        Status::failure(&format!("tunnel to {name} ended"), &reason, None)
    });
    Vec::new()
}

#[cfg(test)]
#[path = "tunnels_tests.rs"]
mod tests;
