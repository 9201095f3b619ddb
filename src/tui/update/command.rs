//! `:` command mode: `:fleet`, `:sessions`, `:history [target=…] [owner=…] [since=2h]
//! [after=RFC3339] [before=RFC3339]`, `:commands`, `:tunnels`, `:prefs`, `:audit`, `:help`, `:info`, `:q`.

use std::time::SystemTime;

use crate::aws::HistoryFilter;
use crate::tui::duration::{parse_span, parse_time};
use crate::tui::effect::Effect;
use crate::tui::model::{Level, Model, Screen};
use crate::tui::update::actions;

pub fn run(model: &mut Model, text: &str) -> Vec<Effect> {
    // The last message was about the last command (issue 16, bug 8).
    model.status = None;
    let mut words = text.split_whitespace();
    let Some(name) = words.next() else {
        return Vec::new();
    };
    let args: Vec<&str> = words.collect();
    match name {
        "q" | "quit" => actions::ask_quit(model),
        // As in vi: quit without asking, whatever is open.
        "q!" => {
            model.quit = true;
            Vec::new()
        }
        "fleet" | "f" => actions::show(model, Screen::Fleet),
        "sessions" | "s" => actions::show(model, Screen::Sessions),
        "commands" | "cmd" | "c" => crate::tui::update::run::show_commands(model),
        "prefs" | "preferences" | "p" => actions::show(model, Screen::Preferences),
        "help" | "h" => actions::show(model, Screen::Help),
        "audit" | "a" => actions::show(model, Screen::Audit),
        "tunnels" | "t" => actions::show(model, Screen::Tunnels),
        "info" | "i" => {
            model.mode = crate::tui::model::Mode::Info;
            Vec::new()
        }
        "history" | "hist" => match parse_history_query(&args, model.now)
            .and_then(|query| target_by_name(model, query))
        {
            Ok(query) => actions::show_history(model, query),
            Err(problem) => {
                model.set_status(Level::Error, problem);
                Vec::new()
            }
        },
        other => {
            let shown = crate::text::fit(other, 40);
            model.set_status(
                Level::Error,
                format!(
                    "unknown command :{shown} (try :sessions, :history, :commands, :tunnels, :prefs, :audit, :fleet, :info, :q)"
                ),
            );
            Vec::new()
        }
    }
}

/// DescribeSessions filters by instance id; a Name from the fleet is turned into its id.
fn target_by_name(model: &Model, mut query: HistoryFilter) -> Result<HistoryFilter, String> {
    let Some(target) = query.target.as_deref() else {
        return Ok(query);
    };
    let id = crate::aws::InstanceId::from_aws(target);
    if crate::aws::InstanceId::parse(target).is_some() || model.fleet.get(&id).is_some() {
        return Ok(query);
    }
    let named: Vec<_> = model
        .fleet
        .instances
        .iter()
        .filter(|i| i.name.as_deref() == Some(target))
        .collect();
    match named.as_slice() {
        [one] => {
            query.target = Some(one.id.to_string());
            Ok(query)
        }
        [] => Err(format!(
            "no instance named `{}` in the fleet",
            crate::text::fit(target, 40)
        )),
        many => Err(format!(
            "{} instances are named `{}`: use the instance id",
            many.len(),
            crate::text::fit(target, 40)
        )),
    }
}

/// `target=ID owner=NAME since=90m after=… before=…`; an empty list means no filter.
pub fn parse_history_query(args: &[&str], now: SystemTime) -> Result<HistoryFilter, String> {
    let mut query = HistoryFilter::default();
    for arg in args {
        let Some((key, value)) = arg.split_once('=').filter(|(_, v)| !v.is_empty()) else {
            return Err(format!(
                "expected key=value, got `{}`",
                crate::text::fit(arg, 40)
            ));
        };
        match key {
            "target" => query.target = Some(value.to_owned()),
            "owner" => query.owner = Some(value.to_owned()),
            "since" => query.after = Some(now - parse_span(value)?),
            "after" => query.after = Some(parse_time(value)?),
            "before" => query.before = Some(parse_time(value)?),
            other => {
                return Err(format!(
                    "unknown history filter `{}` (target, owner, since, after, before)",
                    crate::text::fit(other, 20)
                ));
            }
        }
    }
    Ok(query)
}
