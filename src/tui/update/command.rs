//! `:` command mode: `:fleet`, `:sessions`, `:history [target=…] [owner=…] [since=2h]
//! [after=RFC3339] [before=RFC3339]`, `:tunnels`, `:prefs`, `:help`, `:info`, `:q`.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::aws::HistoryFilter;
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
        "q" | "quit" | "q!" => {
            model.quit = true;
            Vec::new()
        }
        "fleet" | "f" => actions::show(model, Screen::Fleet),
        "sessions" | "s" => actions::show(model, Screen::Sessions),
        "prefs" | "preferences" | "p" => actions::show(model, Screen::Preferences),
        "help" | "h" => actions::show(model, Screen::Help),
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
                    "unknown command :{shown} (try :sessions, :history, :tunnels, :prefs, :fleet, :info, :q)"
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

/// `30m`, `2h`, `7d`.
fn parse_span(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{}` is not a span like 30m, 2h or 7d",
            crate::text::fit(text, 20)
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = text.split_at(split);
    let count: u64 = digits.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(count.saturating_mul(unit_secs)))
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| {
            format!(
                "`{}` is not a time like 2026-11-29T08:00:00Z",
                crate::text::fit(text, 30)
            )
        })
}
