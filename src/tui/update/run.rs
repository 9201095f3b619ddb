//! Run Command from the UI (issue 14): marking instances, the command prompt, its
//! confirmation, the commands list, one command followed live and an instance's output.
//! Which instances can take a command and which document fits them is decided by
//! `aws::run_targets`, as `gangway run` decides it.

use std::time::SystemTime;

use crate::aws::commands::{MAX_INSTANCE_IDS, pause_after_round};
use crate::aws::run_targets::{classify, document, label};
use crate::aws::types::{CommandInfo, InvocationInfo, InvocationOutput, SendCommandRequest};
use crate::text::escape_and_fit;
use crate::tui::effect::Effect;
use crate::tui::model::{
    CommandView, Confirm, Confirmed, Level, Load, LoadError, Mode, Model, OutputPane, PendingRun,
    RunPrompt, Screen, Status,
};
use crate::tui::update::actions;
use crate::tui::update::keys::{Edit, edit};

/// How many instances the confirmation names; the popup says how many more.
const MAX_NAMED: usize = 50;
/// The longest command the prompt takes (one line; a script belongs to `gangway run`).
const MAX_COMMAND_CHARS: usize = 4_000;

/// `space` on the fleet: marks or unmarks the selected instance, then moves down.
pub fn toggle_mark(model: &mut Model) -> Vec<Effect> {
    let Some(id) = model.fleet.selected().map(|i| i.id.clone()) else {
        return Vec::new();
    };
    if !model.fleet.marked.remove(&id) {
        model.fleet.marked.insert(id);
    }
    actions::on_action(model, crate::tui::keymap::Action::Down)
}

/// `!` on the fleet: the prompt, for the marked instances or everything the filter shows.
pub fn ask_command(model: &mut Model) -> Vec<Effect> {
    let targets = model.fleet.run_targets();
    if targets.is_empty() {
        model.set_status(Level::Warn, "no instance to run a command on");
        return Vec::new();
    }
    model.mode = Mode::Run(RunPrompt {
        targets,
        text: String::new(),
        error: None,
    });
    Vec::new()
}

pub fn on_prompt_key(
    model: &mut Model,
    mut prompt: RunPrompt,
    key: &ratatui::crossterm::event::KeyEvent,
) -> Vec<Effect> {
    match edit(prompt.text.clone(), key) {
        Edit::Changed(text) => {
            if text.chars().count() <= MAX_COMMAND_CHARS {
                prompt.text = text;
            }
            prompt.error = None;
            model.mode = Mode::Run(prompt);
        }
        Edit::Cancel => model.mode = Mode::Normal,
        Edit::Submit(text) => match plan(&prompt, text.trim()) {
            Ok(confirm) => model.mode = Mode::Confirm(confirm),
            Err(problem) => {
                prompt.error = Some(problem);
                model.mode = Mode::Run(prompt);
            }
        },
        Edit::Other => {}
    }
    Vec::new()
}

/// The confirmation for `command` on the prompt's instances, or why it cannot be sent.
fn plan(prompt: &RunPrompt, command: &str) -> Result<Confirm, String> {
    if command.is_empty() {
        return Err("type the command to run (esc: cancel)".to_owned());
    }
    let selection = classify(prompt.targets.clone());
    if selection.runnable.is_empty() {
        return Err(format!(
            "none of the {} instance(s) can run it: {}",
            selection.skipped.len(),
            selection
                .skipped
                .first()
                .map(|(i, why)| format!("{}: {why}", label(i)))
                .unwrap_or_default()
        ));
    }
    // By location: a command runs with one account's credentials in one region.
    let mut regions: Vec<String> = selection
        .runnable
        .iter()
        .map(crate::aws::Instance::location)
        .collect();
    regions.sort_unstable();
    regions.dedup();
    let [region] = regions.as_slice() else {
        return Err(format!(
            "the instances are in {} accounts or regions: a command runs in one region of one account (filter by region or account)",
            regions.len()
        ));
    };
    if selection.runnable.len() > MAX_INSTANCE_IDS {
        return Err(format!(
            "{} instances: AWS takes at most {MAX_INSTANCE_IDS} by id in one command (mark or filter fewer, or use `gangway run --tag`)",
            selection.runnable.len()
        ));
    }
    let document = document(None, &selection.runnable)?;
    let n = selection.runnable.len();
    let mut lines = vec![
        format!("$ {}", escape_and_fit(command, 80)),
        format!("{document} on {n} instance(s):"),
    ];
    lines.extend(
        selection
            .runnable
            .iter()
            .take(MAX_NAMED)
            .map(|i| format!("  {}", label(i))),
    );
    if n > MAX_NAMED {
        lines.push(format!("  … and {} more", n - MAX_NAMED));
    }
    if !selection.skipped.is_empty() {
        lines.push(format!(
            "{} cannot run it and are left out:",
            selection.skipped.len()
        ));
        lines.extend(
            selection
                .skipped
                .iter()
                .map(|(i, why)| format!("  {}: {why}", label(i))),
        );
    }
    Ok(Confirm {
        title: format!("Run on these {n} instance(s)?"),
        lines,
        action: Confirmed::Run(Box::new(PendingRun {
            region: (*region).to_owned(),
            request: SendCommandRequest {
                document_name: document,
                instance_ids: selection
                    .runnable
                    .iter()
                    .map(|i| i.id.to_string())
                    .collect(),
                commands: vec![command.to_owned()],
                comment: Some("gangway tui".to_owned()),
                ..SendCommandRequest::default()
            },
        })),
    })
}

/// `y` on the run confirmation.
pub fn send(model: &mut Model, run: Box<PendingRun>) -> Vec<Effect> {
    let run = *run;
    let n = run.request.instance_ids.len();
    model.set_status(
        Level::Info,
        format!("sending the command to {n} instance(s)…"),
    );
    vec![Effect::SendCommand {
        region: run.region,
        request: run.request,
    }]
}

/// SendCommand's answer: the command's view opens and starts following it.
pub fn on_sent(
    model: &mut Model,
    region: &str,
    result: Result<CommandInfo, LoadError>,
) -> Vec<Effect> {
    match result {
        Ok(info) => {
            model.fleet.marked.clear();
            model.set_status(
                Level::Info,
                format!(
                    "command {} sent to {} instance(s)",
                    escape_and_fit(&info.command_id, 40),
                    info.target_count
                ),
            );
            let view = CommandView::new(info.command_id.clone(), region.to_owned(), Some(info));
            open_command(model, view)
        }
        Err(error) => {
            model.status = Some(Status::failure(
                "the command was not sent",
                &error.message,
                error.hint.as_deref(),
            ));
            Vec::new()
        }
    }
}

/// The commands list: the first page of ListCommands in every region.
pub fn show_commands(model: &mut Model) -> Vec<Effect> {
    actions::show(model, Screen::Commands);
    load_commands(model)
}

pub fn load_commands(model: &mut Model) -> Vec<Effect> {
    if model.commands.load == Load::Loading {
        return Vec::new();
    }
    model.commands.load = Load::Loading;
    vec![Effect::LoadCommands]
}

pub fn on_commands(
    model: &mut Model,
    region: &str,
    result: Result<Vec<CommandInfo>, LoadError>,
) -> Vec<Effect> {
    match result {
        Ok(commands) => {
            let state = &mut model.commands;
            state.by_region.insert(region.to_owned(), commands);
            let mut items: Vec<(String, CommandInfo)> = state
                .by_region
                .iter()
                .flat_map(|(r, cs)| cs.iter().map(move |c| (r.clone(), c.clone())))
                .collect();
            items.sort_by_key(|(_, c)| std::cmp::Reverse(c.requested));
            state.items = items;
            state.load = Load::Loaded(model.now);
        }
        Err(error) => {
            model.commands.load = Load::Failed(model.now);
            model.status = Some(Status::failure(
                &format!("commands ({region})"),
                &error.message,
                error.hint.as_deref(),
            ));
        }
    }
    Vec::new()
}

/// Enter: on the list, the selected command's view; on a command, the selected output.
pub fn open(model: &mut Model) -> Vec<Effect> {
    match model.screen {
        Screen::Commands => {
            let Some((region, info)) = model.commands.items.get(model.commands.cursor.selected)
            else {
                return Vec::new();
            };
            let view =
                CommandView::new(info.command_id.clone(), region.clone(), Some(info.clone()));
            open_command(model, view)
        }
        Screen::Command => open_output(model),
        _ => Vec::new(),
    }
}

fn open_command(model: &mut Model, mut view: CommandView) -> Vec<Effect> {
    view.load = Load::Loading;
    let effect = Effect::LoadInvocations {
        region: view.region.clone(),
        command_id: view.command_id.clone(),
    };
    let status = model.status.take();
    model.command = Some(view);
    if model.screen == Screen::Command {
        // Another command replaces the one shown; back still leads to where it came from.
        model.screen = Screen::Fleet;
        model.back_stack.pop();
    }
    actions::show(model, Screen::Command);
    model.status = status;
    vec![effect]
}

fn open_output(model: &mut Model) -> Vec<Effect> {
    let Some(view) = model.command.as_mut() else {
        return Vec::new();
    };
    let Some(invocation) = view.invocations.get(view.cursor.selected) else {
        return Vec::new();
    };
    let instance_id = invocation.instance_id.clone();
    view.output = Some(OutputPane {
        instance_id: instance_id.clone(),
        result: None,
    });
    vec![Effect::LoadOutput {
        region: view.region.clone(),
        command_id: view.command_id.clone(),
        instance_id,
    }]
}

/// esc on the command view closes the output first.
pub fn close_output(model: &mut Model) -> bool {
    if model.screen != Screen::Command {
        return false;
    }
    model
        .command
        .as_mut()
        .and_then(|view| view.output.take())
        .is_some()
}

pub fn on_invocations(
    model: &mut Model,
    command_id: &str,
    result: Result<(Vec<InvocationInfo>, usize), LoadError>,
) -> Vec<Effect> {
    let now = model.now;
    let Some(view) = model
        .command
        .as_mut()
        .filter(|v| v.command_id == command_id)
    else {
        return Vec::new();
    };
    match result {
        Ok((invocations, pages)) => {
            view.invocations = invocations;
            view.pages = pages;
            view.load = Load::Loaded(now);
        }
        Err(error) => {
            view.load = Load::Failed(now);
            model.status = Some(Status::failure(
                "following the command",
                &error.message,
                error.hint.as_deref(),
            ));
        }
    }
    Vec::new()
}

pub fn on_output(
    model: &mut Model,
    command_id: &str,
    instance_id: &str,
    result: Result<InvocationOutput, LoadError>,
) -> Vec<Effect> {
    let Some(pane) = model
        .command
        .as_mut()
        .filter(|v| v.command_id == command_id)
        .and_then(|v| v.output.as_mut())
        .filter(|p| p.instance_id == instance_id)
    else {
        return Vec::new();
    };
    pane.result = Some(result.map_err(|e| e.message));
    Vec::new()
}

/// `r` on the command screens.
pub fn refresh(model: &mut Model) -> Vec<Effect> {
    if model.screen == Screen::Commands {
        return load_commands(model);
    }
    match model.command.as_mut() {
        Some(view) if view.load != Load::Loading => {
            view.load = Load::Loading;
            vec![Effect::LoadInvocations {
                region: view.region.clone(),
                command_id: view.command_id.clone(),
            }]
        }
        _ => Vec::new(),
    }
}

/// The next round of a command on screen that is still running, paced as `gangway run`
/// paces it (a few pages a round, never a call per instance).
pub fn on_tick(model: &mut Model, now: SystemTime) -> Vec<Effect> {
    if model.screen != Screen::Command {
        return Vec::new();
    }
    let Some(view) = model.command.as_mut() else {
        return Vec::new();
    };
    let (Load::Loaded(at) | Load::Failed(at)) = view.load else {
        return Vec::new();
    };
    let due = now
        .duration_since(at)
        .is_ok_and(|age| age >= pause_after_round(view.pages));
    if view.finished() || !due {
        return Vec::new();
    }
    view.load = Load::Loading;
    vec![Effect::LoadInvocations {
        region: view.region.clone(),
        command_id: view.command_id.clone(),
    }]
}
