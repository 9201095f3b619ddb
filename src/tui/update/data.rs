//! Answers from AWS. A failure never throws data away: the last good data stays on screen and
//! credentials or reachability problems raise a banner with the fix (issue 6).

use crate::aws::HistoryFilter;
use crate::aws::types::{Instance, InstanceId, SessionEvent, SessionInfo, SessionPreferences};
use crate::text;
use crate::tui::effect::Effect;
use crate::tui::model::{
    Banner, Connectivity, Level, Load, LoadError, Model, OpenedSession, ShellTarget, Status,
    TerminateBatch, reason_of,
};
use crate::tui::msg::{HistoryPage, ShellReport};

/// Records a failure: a banner for credentials/reachability, otherwise the status line.
fn report(model: &mut Model, what: &str, error: &LoadError) {
    if error.kind.wants_banner() {
        model.banner = Some(Banner {
            message: error.message.clone(),
            hint: error.hint.clone(),
        });
    } else {
        model.status = Some(Status {
            source: Some(what.to_owned()),
            ..Status::failure(what, &error.message, error.hint.as_deref())
        });
    }
}

/// A load worked: its banner and its own earlier failure are gone (issue 16, bug 8).
fn loaded(model: &mut Model, what: &str) -> Load {
    model.banner = None;
    if model
        .status
        .as_ref()
        .is_some_and(|s| s.source.as_deref() == Some(what))
    {
        model.status = None;
    }
    Load::Loaded(model.now)
}

pub fn on_fleet(
    model: &mut Model,
    region: &str,
    result: Result<Vec<Instance>, LoadError>,
) -> Vec<Effect> {
    if model.multi_account() {
        return on_account_fleet(model, region, result);
    }
    match result {
        Ok(instances) => {
            model.fleet.set_region(region, instances);
            // The sessions' targets are searched and sorted by the fleet's names.
            model.rebuild_session_rows();
            model.fleet.load = loaded(model, &format!("fleet ({region})"));
        }
        Err(error) => {
            model.fleet.load = Load::Failed(model.now);
            report(model, &format!("fleet ({region})"), &error);
        }
    }
    Vec::new()
}

/// One account × region's fleet, of several accounts (issue 13): its rows join the others'
/// as it answers; a failure is kept per location and the banner names every location that
/// failed, while the rows of the others stay. A later success clears only its own.
fn on_account_fleet(
    model: &mut Model,
    location: &str,
    result: Result<Vec<Instance>, LoadError>,
) -> Vec<Effect> {
    match result {
        Ok(instances) => {
            model.fleet.set_region(location, instances);
            model.rebuild_session_rows();
            model.fleet.failures.remove(location);
            model.fleet.load = loaded(model, &format!("fleet ({location})"));
        }
        Err(error) => {
            model.fleet.failures.insert(location.to_owned(), error);
            if model.fleet.instances.is_empty() {
                model.fleet.load = Load::Failed(model.now);
            }
        }
    }
    model.banner = failures_banner(&model.fleet.failures).or(model.banner.take());
    Vec::new()
}

/// "ops/eu-west-1: AccessDenied: …" for the first failed location, and how many more.
pub fn failures_banner(failures: &std::collections::BTreeMap<String, LoadError>) -> Option<Banner> {
    let (location, first) = failures.iter().next()?;
    let more = match failures.len() {
        1 => String::new(),
        n => {
            let others: Vec<&str> = failures
                .keys()
                .skip(1)
                .take(3)
                .map(String::as_str)
                .collect();
            format!(" (and {} more: {})", n - 1, others.join(", "))
        }
    };
    Some(Banner {
        message: format!("fleet of {location}: {}{more}", first.message),
        hint: first.hint.clone(),
    })
}

pub fn on_connectivity(
    model: &mut Model,
    id: InstanceId,
    result: Result<crate::aws::Diagnosis, LoadError>,
) -> Vec<Effect> {
    let state = match result {
        Ok(diagnosis) => Connectivity::Known(diagnosis),
        Err(error) => {
            if error.kind.wants_banner() {
                report(model, "connectivity", &error);
            }
            Connectivity::Failed(error.message)
        }
    };
    model.fleet.connectivity.insert(id, state);
    Vec::new()
}

pub fn on_sessions(
    model: &mut Model,
    region: &str,
    result: Result<Vec<SessionInfo>, LoadError>,
) -> Vec<Effect> {
    match result {
        Ok(list) => {
            let selected = model.selected_session().map(|s| s.session_id.clone());
            let sessions = &mut model.sessions;
            sessions.by_region.insert(region.to_owned(), list);
            sessions.items = sessions.by_region.values().flatten().cloned().collect();
            sort_newest_first(&mut sessions.items);
            let live: std::collections::BTreeSet<_> = sessions
                .items
                .iter()
                .map(|s| s.session_id.clone())
                .collect();
            sessions.marked.retain(|id| live.contains(id));
            model.rebuild_session_rows();
            let sessions = &mut model.sessions;
            if let Some(at) = selected.and_then(|id| {
                sessions
                    .view
                    .rows
                    .iter()
                    .position(|i| sessions.items[*i].session_id == id)
            }) {
                sessions.cursor.selected = at;
            }
            model.sessions.load = loaded(model, &format!("sessions ({region})"));
        }
        Err(error) => {
            model.sessions.load = Load::Failed(model.now);
            report(model, &format!("sessions ({region})"), &error);
        }
    }
    Vec::new()
}

fn sort_newest_first(items: &mut [SessionInfo]) {
    items.sort_by(|a, b| {
        b.start
            .cmp(&a.start)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
}

pub fn on_history(
    model: &mut Model,
    region: &str,
    query: HistoryFilter,
    result: Result<HistoryPage, LoadError>,
) -> Vec<Effect> {
    if query != model.history.query {
        return Vec::new(); // an answer to a filter the user has since replaced
    }
    model.history.pending_regions.remove(region);
    match result {
        Ok(page) => {
            let history = &mut model.history;
            history.items.extend(page.sessions);
            sort_newest_first(&mut history.items);
            history.items.dedup_by(|a, b| a.session_id == b.session_id);
            if let Some(token) = page.next_token {
                history.next_tokens.insert(region.to_owned(), token);
            }
            model.rebuild_session_rows();
        }
        Err(error) => report(model, &format!("history ({region})"), &error),
    }
    if model.history.pending_regions.is_empty() {
        model.history.load = loaded(model, &format!("history ({region})"));
        return crate::tui::update::navigate::more_history_if_near_end(model);
    }
    Vec::new()
}

pub fn on_preferences(
    model: &mut Model,
    region: &str,
    result: Result<SessionPreferences, LoadError>,
) -> Vec<Effect> {
    match result {
        Ok(prefs) => {
            model.preferences.insert(region.to_owned(), prefs);
            model.preferences_load = loaded(model, &format!("preferences ({region})"));
        }
        Err(error) => {
            model.preferences_load = Load::Failed(model.now);
            report(model, &format!("preferences ({region})"), &error);
        }
    }
    Vec::new()
}

pub fn on_audit(
    model: &mut Model,
    region: &str,
    result: Result<Vec<SessionEvent>, LoadError>,
) -> Vec<Effect> {
    match result {
        Ok(events) => {
            model.audit.insert(region.to_owned(), events);
            model.audit_load = loaded(model, &format!("audit ({region})"));
        }
        Err(error) => {
            model.audit_load = Load::Failed(model.now);
            report(model, &format!("audit ({region})"), &error);
        }
    }
    Vec::new()
}

pub fn on_terminated(
    model: &mut Model,
    session_id: &str,
    result: Result<(), LoadError>,
) -> Vec<Effect> {
    let mut batch = match model.terminating.take() {
        Some(batch) if batch.asked.iter().any(|id| id == session_id) => batch,
        other => {
            model.terminating = other;
            TerminateBatch::new(vec![session_id.to_owned()])
        }
    };
    match result {
        Ok(()) => batch.done.push(session_id.to_owned()),
        Err(error) => batch.failed.push((session_id.to_owned(), error)),
    }
    if batch.answered() {
        model.status = Some(terminate_report(&batch));
    } else {
        model.terminating = Some(batch);
    }
    model.sessions.load = Load::Loading;
    vec![Effect::LoadSessions]
}

/// Session ids, the first few by name: "dev-…, dev-… and 3 more".
fn id_list(ids: &[String]) -> String {
    const NAMED: usize = 4;
    let mut out = ids
        .iter()
        .take(NAMED)
        .map(|id| text::fit(id, 40))
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > NAMED {
        out.push_str(&format!(" and {} more", ids.len() - NAMED));
    }
    out
}

/// One line for the whole terminate: every session ended and every one refused, with its
/// reason ("terminated 2 of 3: dev-…, dev-…; admin-… denied because the session belongs to
/// another user"). AWS's full answers go to the popup.
fn terminate_report(batch: &TerminateBatch) -> Status {
    let asked = batch.asked.len();
    if let ([], [(id, error)]) = (batch.done.as_slice(), batch.failed.as_slice()) {
        let what = format!("could not terminate {}", text::fit(id, 40));
        return Status::failure(&what, &error.message, error.hint.as_deref());
    }
    if batch.failed.is_empty() {
        let text = match batch.done.as_slice() {
            [one] => format!("terminated {}", text::fit(one, 40)),
            all => format!("terminated {} sessions: {}", all.len(), id_list(all)),
        };
        return Status::new(Level::Info, text);
    }
    // Sessions refused for the same reason are named together.
    let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
    for (id, error) in &batch.failed {
        let reason = reason_of(&error.message);
        match by_reason.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, ids)) => ids.push(id.clone()),
            None => by_reason.push((reason, vec![id.clone()])),
        }
    }
    let failures = by_reason
        .iter()
        .map(|(reason, ids)| {
            let sep = if reason.starts_with("denied") {
                " "
            } else {
                ": "
            };
            format!("{}{sep}{reason}", id_list(ids))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let what = match batch.done.as_slice() {
        [] => format!("terminated 0 of {asked}"),
        done => format!("terminated {} of {asked}: {}", done.len(), id_list(done)),
    };
    let sep = "; ";
    let detail = batch
        .failed
        .iter()
        .map(|(id, error)| format!("{id}: {}", error.message))
        .collect::<Vec<_>>()
        .join("\n");
    Status {
        level: Level::Error,
        reason_at: what.len() + sep.len(),
        text: format!("{what}{sep}{failures}"),
        hint: batch.failed.iter().find_map(|(_, e)| e.hint.clone()),
        detail: Some(detail),
        source: None,
    }
}

pub fn on_shell_ended(
    model: &mut Model,
    target: &ShellTarget,
    result: Result<ShellReport, String>,
) -> Vec<Effect> {
    let label = text::fit(
        target
            .name
            .as_deref()
            .unwrap_or(target.instance_id.as_str()),
        40,
    );
    match result {
        Ok(report) => {
            if let Some(id) = &report.session_id {
                model.opened.insert(
                    id.clone(),
                    OpenedSession {
                        last_activity: report.ended_at,
                    },
                );
                learn_identity(model, id);
            }
            model.set_status(
                Level::Info,
                format!(
                    "shell on {label} ended: {}",
                    text::fit(&report.summary, 200)
                ),
            );
        }
        Err(reason) => {
            // The whole text stays for the popup; the line leads with why.
            model.status = Some(Status::failure(
                &format!("no shell on {label}"),
                &reason,
                None,
            ));
        }
    }
    model.sessions.load = Load::Loading;
    vec![Effect::LoadSessions]
}

/// Session ids are `<caller name>-<17 hex>` (protocol.md §1.1): the first shell opened here
/// tells who the user is, so their sessions from other terminals are marked as their own too.
pub fn learn_identity(model: &mut Model, session_id: &str) {
    if model.settings.identity.is_some() {
        return;
    }
    if let Some((name, suffix)) = session_id.rsplit_once('-')
        && !name.is_empty()
        && suffix.len() == 17
        && suffix.bytes().all(|b| b.is_ascii_hexdigit())
    {
        model.settings.identity = Some(name.to_owned());
    }
}
