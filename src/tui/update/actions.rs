//! What each keymap action does.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::aws::HistoryFilter;
use crate::tui::effect::Effect;
use crate::tui::keymap::Action;
use crate::tui::model::{
    Confirm, Confirmed, Connectivity, Level, Load, Mode, Model, ReasonMode, ReasonPrompt, Screen,
    SessionRef, ShellTarget, Status, TerminateBatch,
};
use crate::tui::update::keys::{Edit, edit};
use crate::tui::update::{navigate, run, tunnels};

pub fn is_movement(action: Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
    )
}

pub fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    if !model.keymap.available(action) {
        return Vec::new();
    }
    // A message is about the last thing done: the next command replaces it, even when it
    // succeeds silently (issue 16, bug 8). Moving around and reading it keep it.
    if !is_movement(action) && !matches!(action, Action::Message | Action::Command) {
        model.status = None;
    }
    match action {
        Action::Quit => ask_quit(model),
        Action::Back => on_back(model),
        Action::Help => show(model, Screen::Help),
        Action::Command => {
            model.mode = Mode::Command(String::new());
            Vec::new()
        }
        Action::Message => {
            if model.status.is_some() || model.banner.is_some() || model.config_warning.is_some() {
                model.mode = Mode::Message;
            }
            Vec::new()
        }
        a if is_movement(a) => navigate::on_move(model, a),
        Action::Refresh => refresh(model),
        Action::ShowFleet => show(model, Screen::Fleet),
        Action::ShowSessions => show(model, Screen::Sessions),
        Action::ShowHistory => {
            let query = model.history.query.clone();
            show_history(model, query)
        }
        Action::ShowPreferences => show(model, Screen::Preferences),
        Action::ShowCommands => run::show_commands(model),
        Action::Filter => {
            model.mode = Mode::Filter;
            Vec::new()
        }
        Action::SortNext | Action::SortReverse => {
            sort(model, action == Action::SortNext);
            Vec::new()
        }
        Action::MarkAll => mark_all(model),
        Action::GroupByImage => {
            model.fleet.toggle_group();
            Vec::new()
        }
        Action::ReachableOnly => {
            let scope = model.access_scope();
            model.fleet.toggle_reachable_only(scope);
            Vec::new()
        }
        Action::Detail => {
            model.fleet.show_detail = !model.fleet.show_detail;
            if model.fleet.show_detail {
                check_selected(model)
            } else {
                Vec::new()
            }
        }
        Action::OpenShell => open_shell(model),
        Action::Mark if model.screen == Screen::Fleet => run::toggle_mark(model),
        Action::Mark if model.screen == Screen::Sessions => toggle_mark(model),
        Action::SessionDetail => {
            if let Some(session) = model.selected_history() {
                model.mode = Mode::Session(Box::new(session.clone()));
            }
            Vec::new()
        }
        Action::Terminate => ask_terminate(model),
        Action::RunCommand => run::ask_command(model),
        Action::OpenCommand => run::open(model),
        Action::ShowTunnels => show(model, Screen::Tunnels),
        Action::ShowShells => super::panes::show(model),
        Action::Forward => tunnels::open_form(model),
        Action::StopTunnel => tunnels::ask_stop(model),
        _ => Vec::new(),
    }
}

/// Quits, after a confirmation when shell tabs hold live sessions: quitting ends them, as
/// closing their tab would (which asks too).
pub fn ask_quit(model: &mut Model) -> Vec<Effect> {
    let live = model.tabs.live_panes();
    if live == 0 {
        model.quit = true;
        return Vec::new();
    }
    let sessions = match live {
        1 => "1 live session".to_owned(),
        n => format!("{n} live sessions"),
    };
    let mut lines = vec![format!("{sessions} will end: quit?")];
    lines.extend(model.tabs.tabs.iter().flat_map(|tab| {
        tab.panes.iter().filter(|p| p.is_live()).map(|pane| {
            let session = pane.session_id.as_deref().unwrap_or("opening");
            format!("  {session} on {}", crate::text::fit(pane.label(), 40))
        })
    }));
    model.mode = Mode::Confirm(Confirm {
        title: "Quit gangway".into(),
        lines,
        action: Confirmed::Quit,
    });
    Vec::new()
}

/// `s` (next column) or `S` (reverse) on the screen's list.
fn sort(model: &mut Model, next: bool) {
    match model.screen {
        Screen::Fleet if next => model.fleet.set_sort(model.fleet.sort.next(), false),
        Screen::Fleet => model
            .fleet
            .set_sort(model.fleet.sort, !model.fleet.descending),
        Screen::Sessions | Screen::History => {
            let view = if model.screen == Screen::Sessions {
                &mut model.sessions.view
            } else {
                &mut model.history.view
            };
            if next {
                view.sort_next();
            } else {
                view.descending = !view.descending;
            }
            model.rebuild_session_rows();
        }
        Screen::Preferences
        | Screen::Audit
        | Screen::Help
        | Screen::Commands
        | Screen::Command
        | Screen::Tunnels => {}
    }
}

/// Sets the filter of the list on screen; the selection goes to the first row shown.
pub fn set_filter(model: &mut Model, text: String) {
    match model.screen {
        Screen::Fleet => model.fleet.set_filter(text),
        Screen::Sessions | Screen::History => {
            let (view, cursor) = if model.screen == Screen::Sessions {
                (&mut model.sessions.view, &mut model.sessions.cursor)
            } else {
                (&mut model.history.view, &mut model.history.cursor)
            };
            view.filter = text;
            *cursor = Default::default();
            model.rebuild_session_rows();
        }
        Screen::Preferences
        | Screen::Audit
        | Screen::Help
        | Screen::Commands
        | Screen::Command
        | Screen::Tunnels => {}
    }
}

/// `a`: marks every session shown (all of them, or those the filter leaves), to clean up
/// stale sessions at once; when they all are marked already, unmarks them.
fn mark_all(model: &mut Model) -> Vec<Effect> {
    let sessions = &mut model.sessions;
    let shown: Vec<String> = sessions
        .view
        .rows
        .iter()
        .map(|at| sessions.items[*at].session_id.clone())
        .collect();
    if shown.is_empty() {
        return Vec::new();
    }
    if shown.iter().all(|id| sessions.marked.contains(id)) {
        for id in &shown {
            sessions.marked.remove(id);
        }
        model.set_status(Level::Info, format!("unmarked {} sessions", shown.len()));
    } else {
        let count = shown.len();
        sessions.marked.extend(shown);
        let terminate = model
            .keymap
            .keys_for(Action::Terminate)
            .first()
            .map(|key| format!("; {key} terminates them after a confirmation"))
            .unwrap_or_default();
        model.set_status(Level::Info, format!("marked {count} sessions{terminate}"));
    }
    Vec::new()
}

/// esc: clear the filter, close the detail pane, or go back to the previous screen.
fn on_back(model: &mut Model) -> Vec<Effect> {
    if model.screen == Screen::Fleet {
        if model.fleet.show_detail {
            model.fleet.show_detail = false;
        } else if !model.fleet.filter.is_empty() {
            model.fleet.set_filter(String::new());
        }
        return Vec::new();
    }
    if run::close_output(model) {
        return Vec::new();
    }
    if model.list_filter().is_some_and(|f| !f.is_empty()) {
        set_filter(model, String::new());
        return Vec::new();
    }
    model.screen = model.back_stack.pop().unwrap_or(Screen::Fleet);
    model.status = None;
    Vec::new()
}

pub fn show(model: &mut Model, screen: Screen) -> Vec<Effect> {
    if model.screen == screen {
        return Vec::new();
    }
    // A message belongs to the screen it was about.
    model.status = None;
    if screen == Screen::Fleet {
        model.back_stack.clear();
    } else {
        model.back_stack.push(model.screen);
    }
    model.screen = screen;
    model.help_scroll = 0;
    match screen {
        Screen::Sessions if model.sessions.load != Load::Loading => {
            model.sessions.load = Load::Loading;
            vec![Effect::LoadSessions]
        }
        Screen::Preferences if model.preferences_load != Load::Loading => {
            model.preferences_load = Load::Loading;
            vec![Effect::LoadPreferences]
        }
        Screen::Audit if model.audit_load != Load::Loading => {
            model.audit_load = Load::Loading;
            vec![Effect::LoadAudit]
        }
        _ => Vec::new(),
    }
}

/// The history screen, starting over from the first page of every region.
pub fn show_history(model: &mut Model, query: HistoryFilter) -> Vec<Effect> {
    show(model, Screen::History);
    let history = &mut model.history;
    history.query = query.clone();
    history.items.clear();
    history.view.rows.clear();
    history.next_tokens.clear();
    history.pending_regions = model.regions.iter().cloned().collect();
    history.cursor = Default::default();
    history.load = Load::Loading;
    vec![Effect::LoadHistory {
        region: None,
        query,
        next_token: None,
    }]
}

fn refresh(model: &mut Model) -> Vec<Effect> {
    match model.screen {
        Screen::Fleet | Screen::Help => {
            model.fleet.load = Load::Loading;
            let mut effects = vec![Effect::LoadFleet];
            if model.fleet.show_detail {
                // `r` asks again; moving through the list reuses what is known.
                if let Some(id) = model.fleet.selected().map(|i| i.id.clone()) {
                    model.fleet.connectivity.remove(&id);
                }
                effects.extend(check_selected(model));
            }
            effects
        }
        Screen::Sessions => {
            model.sessions.load = Load::Loading;
            vec![Effect::LoadSessions]
        }
        Screen::History => {
            let query = model.history.query.clone();
            show_history(model, query)
        }
        Screen::Preferences => {
            model.preferences_load = Load::Loading;
            vec![Effect::LoadPreferences]
        }
        Screen::Audit => {
            model.audit_load = Load::Loading;
            vec![Effect::LoadAudit]
        }
        Screen::Commands | Screen::Command => run::refresh(model),
        // Tunnels report by themselves; nothing to ask AWS.
        Screen::Tunnels => Vec::new(),
    }
}

/// Starts the connectivity check of the selected instance unless its result is known or a
/// check is running (scrolling with the pane open must not flood GetConnectionStatus).
pub fn check_selected(model: &mut Model) -> Vec<Effect> {
    let Some(instance) = model.fleet.selected().cloned() else {
        return Vec::new();
    };
    if matches!(
        model.fleet.connectivity.get(&instance.id),
        Some(Connectivity::Checking | Connectivity::Known(_))
    ) {
        return Vec::new();
    }
    model
        .fleet
        .connectivity
        .insert(instance.id.clone(), Connectivity::Checking);
    vec![Effect::CheckConnectivity(Box::new(instance))]
}

/// The selected instance, as the target of a session, when it can take one now; else the
/// status line says why, after `refusal` ("no shell on"): a stopped, offline or unmanaged
/// instance is explained here instead of failing once the terminal has been handed over.
pub(super) fn session_target(model: &mut Model, refusal: &str) -> Option<ShellTarget> {
    let instance = model.fleet.selected()?;
    let diagnosis = crate::aws::diagnose(instance, None, &model.access_scope());
    if !diagnosis.can_connect() {
        let name = crate::text::fit(instance.name.as_deref().unwrap_or(instance.id.as_str()), 40);
        model.status = Some(Status::because(
            Level::Error,
            &format!("{refusal} {name}"),
            &diagnosis.line(),
        ));
        return None;
    }
    Some(ShellTarget {
        instance_id: instance.id.clone(),
        name: instance.name.as_deref().map(str::to_owned),
        // The row's own account and region: the client that listed it opens the shell.
        region: instance.location(),
    })
}

fn open_shell(model: &mut Model) -> Vec<Effect> {
    let Some(target) = session_target(model, "no shell on") else {
        return Vec::new();
    };
    if model.settings.reason_mode == ReasonMode::Off {
        return super::panes::open(model, target, None);
    }
    model.mode = Mode::Reason(ReasonPrompt {
        target,
        text: String::new(),
        error: None,
    });
    Vec::new()
}

pub fn on_reason_key(model: &mut Model, mut prompt: ReasonPrompt, key: &KeyEvent) -> Vec<Effect> {
    match edit(prompt.text.clone(), key) {
        Edit::Changed(text) => {
            prompt.text = text;
            prompt.error = None;
            model.mode = Mode::Reason(prompt);
            Vec::new()
        }
        Edit::Cancel => {
            model.mode = Mode::Normal;
            Vec::new()
        }
        Edit::Submit(text) => match check_reason(model, text.trim()) {
            Ok(reason) => {
                model.mode = Mode::Normal;
                super::panes::open(model, prompt.target, reason)
            }
            Err(problem) => {
                prompt.error = Some(problem);
                model.mode = Mode::Reason(prompt);
                Vec::new()
            }
        },
        Edit::Other => Vec::new(),
    }
}

fn check_reason(model: &Model, text: &str) -> Result<Option<String>, String> {
    let settings = &model.settings;
    if text.is_empty() {
        return match settings.reason_mode {
            ReasonMode::Required => Err("a reason is required".to_owned()),
            _ => Ok(None),
        };
    }
    if let Some(pattern) = &settings.reason_pattern
        && !pattern.is_match(text)
    {
        // The pattern is on the prompt already; say it once, with the example.
        return Err(match &settings.reason_example {
            Some(example) => format!(
                "`{}` does not fit the pattern; a reason like `{}` does",
                crate::text::fit(text, 30),
                crate::text::fit(example, 30)
            ),
            None => format!(
                "`{}` does not fit the pattern above",
                crate::text::fit(text, 30)
            ),
        });
    }
    Ok(Some(text.to_owned()))
}

fn toggle_mark(model: &mut Model) -> Vec<Effect> {
    if let Some(id) = model.selected_session().map(|s| s.session_id.clone()) {
        let sessions = &mut model.sessions;
        if !sessions.marked.remove(&id) {
            sessions.marked.insert(id);
        }
        sessions.cursor.selected += 1;
    }
    Vec::new()
}

/// ctrl-d: the marked sessions, or the selected one, behind a confirmation.
fn ask_terminate(model: &mut Model) -> Vec<Effect> {
    let sessions = &model.sessions;
    let chosen: Vec<_> = if sessions.marked.is_empty() {
        model.selected_session().into_iter().collect()
    } else {
        sessions
            .items
            .iter()
            .filter(|s| sessions.marked.contains(&s.session_id))
            .collect()
    };
    if chosen.is_empty() {
        return Vec::new();
    }
    let lines = chosen
        .iter()
        .map(|s| {
            let name = model.instance_name(&s.target).unwrap_or("");
            let owner = s.owner.rsplit('/').next().unwrap_or(&s.owner);
            format!("{}  {} {}  ({owner})", s.session_id, s.target, name)
        })
        .collect();
    let refs = chosen
        .iter()
        .map(|s| SessionRef {
            session_id: s.session_id.clone(),
            region: s.region.clone(),
        })
        .collect::<Vec<_>>();
    let title = match refs.len() {
        1 => "Terminate this session?".to_owned(),
        n => format!("Terminate these {n} sessions?"),
    };
    model.mode = Mode::Confirm(Confirm {
        title,
        lines,
        action: Confirmed::Terminate(refs),
    });
    Vec::new()
}

pub fn on_confirm_key(model: &mut Model, confirm: Confirm, key: &KeyEvent) -> Vec<Effect> {
    // One answer for every confirmation: `y` does it, `n`/`q`/Esc leaves it, any other key
    // keeps the popup open.
    let yes = match key.code {
        KeyCode::Char('y' | 'Y') => true,
        KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => false,
        _ => return Vec::new(),
    };
    model.mode = Mode::Normal;
    if !yes {
        match confirm.action {
            Confirmed::Terminate(_) => model.set_status(Level::Info, "nothing terminated"),
            Confirmed::Run(_) => model.set_status(Level::Info, "nothing was run"),
            Confirmed::StopTunnel(_) => model.set_status(Level::Info, "the tunnel keeps running"),
            Confirmed::Quit => model.set_status(Level::Info, "the shells keep running"),
            Confirmed::ClosePane(_) | Confirmed::Broadcast => {}
        }
        return Vec::new();
    }
    match confirm.action {
        Confirmed::Quit => {
            model.quit = true;
            Vec::new()
        }
        Confirmed::Run(pending) => run::send(model, pending),
        Confirmed::StopTunnel(id) => tunnels::stop(model, id),
        Confirmed::ClosePane(id) => super::panes::close(model, id),
        Confirmed::Broadcast => {
            super::panes::broadcast_on(model);
            Vec::new()
        }
        Confirmed::Terminate(sessions) => {
            model.sessions.marked.clear();
            let count = sessions.len();
            model.set_status(Level::Info, format!("terminating {count} session(s)…"));
            model.terminating = Some(TerminateBatch::new(
                sessions.iter().map(|s| s.session_id.clone()).collect(),
            ));
            sessions.into_iter().map(Effect::Terminate).collect()
        }
    }
}
