//! The lines around every screen: title with tabs, banner, status or input line, key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::text::{display_width, escape_for_terminal, fit, wrap};
use crate::tui::keymap::Action;
use crate::tui::model::{Level, Load, Mode, Model, Screen, Status};

const TABS: [(Screen, &str); 4] = [
    (Screen::Fleet, "fleet"),
    (Screen::Sessions, "sessions"),
    (Screen::History, "history"),
    (Screen::Preferences, "prefs"),
];

/// The rows a screen lists, for its tab: `12`, `2/12` while the fleet is filtered, `30+` when
/// history has more pages. Nothing before the first answer.
fn row_count(model: &Model, screen: Screen) -> Option<String> {
    let started = |load: &Load| !matches!(load, Load::Idle | Load::Loading);
    match screen {
        Screen::Fleet => {
            let fleet = &model.fleet;
            if fleet.instances.is_empty() && !started(&fleet.load) {
                None
            } else if fleet.filter.is_empty() && fleet.reachable_only.is_none() {
                Some(fleet.instances.len().to_string())
            } else {
                Some(format!("{}/{}", fleet.shown, fleet.instances.len()))
            }
        }
        Screen::Sessions => {
            let sessions = &model.sessions;
            let total = sessions.items.len();
            (!sessions.by_region.is_empty()).then(|| match sessions.view.filter.is_empty() {
                true => total.to_string(),
                false => format!("{}/{total}", sessions.view.rows.len()),
            })
        }
        Screen::History => {
            let history = &model.history;
            let more = if history.next_tokens.is_empty() {
                ""
            } else {
                "+"
            };
            let total = history.items.len();
            let shown = match history.view.filter.is_empty() {
                true => String::new(),
                false => format!("{}/", history.view.rows.len()),
            };
            (!history.items.is_empty() || started(&history.load))
                .then(|| format!("{shown}{total}{more}"))
        }
        Screen::Audit => (!model.audit.is_empty()).then(|| {
            model
                .audit
                .values()
                .map(Vec::len)
                .sum::<usize>()
                .to_string()
        }),
        Screen::Commands => {
            let commands = &model.commands;
            (!commands.by_region.is_empty()).then(|| commands.items.len().to_string())
        }
        Screen::Command => model
            .command
            .as_ref()
            .map(|v| v.invocations.len().to_string()),
        Screen::Tunnels => {
            let tunnels = &model.tunnels;
            Some(format!("{}/{}", tunnels.running(), tunnels.items.len()))
        }
        Screen::Preferences | Screen::Help => None,
    }
}

/// How fresh the current screen's data is: `refreshing…` while `r` (or the timer) is at work,
/// then `refreshed 12s ago`.
fn freshness(model: &Model) -> Option<String> {
    let load = match model.screen {
        Screen::Fleet => &model.fleet.load,
        Screen::Sessions => &model.sessions.load,
        Screen::History => &model.history.load,
        Screen::Preferences => &model.preferences_load,
        Screen::Audit => &model.audit_load,
        Screen::Commands => &model.commands.load,
        Screen::Command => &model.command.as_ref()?.load,
        Screen::Help | Screen::Tunnels => return None,
    };
    let ago = |at: &std::time::SystemTime| {
        let secs = model.now.duration_since(*at).map_or(0, |d| d.as_secs());
        crate::tui::duration::human_duration(secs)
    };
    match load {
        Load::Idle => None,
        Load::Loading => Some("refreshing…".to_owned()),
        Load::Loaded(at) => Some(format!("refreshed {} ago", ago(at))),
        Load::Failed(at) => Some(format!("refresh failed {} ago", ago(at))),
    }
}

pub fn title(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let mut spans = vec![Span::styled(" gangway ", Style::new().bold().reversed())];
    // The tunnels tab appears once the UI runs a tunnel (or shows the empty view).
    let tab = |screen: Screen, label: &str, key: usize| {
        let style = if model.screen == screen {
            Style::new()
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
                .fg(Color::Cyan)
        } else {
            Style::new().fg(Color::Gray)
        };
        let count = row_count(model, screen)
            .map(|c| format!("({c})"))
            .unwrap_or_default();
        Span::styled(format!(" {key}:{label}{count}"), style)
    };
    for (n, (screen, label)) in TABS.iter().enumerate() {
        spans.push(tab(*screen, label, n + 1));
    }
    // The Run Command screens have a tab only while shown (`5` or `:commands` opens them).
    if matches!(model.screen, Screen::Commands | Screen::Command) {
        spans.push(tab(model.screen, model.screen.title(), 5));
    }
    // The tunnels tab once this UI runs a tunnel (`6` or `:tunnels`).
    if !model.tunnels.items.is_empty() || model.screen == Screen::Tunnels {
        spans.push(tab(Screen::Tunnels, "tunnels", 6));
    }
    // The right-hand facts in display order, each with the rank it keeps when the line is too
    // short (higher stays longer): read-only always, then freshness, the user, the regions.
    // With several accounts the ACCOUNT and REGION columns say where each row is: the
    // summary is the first to go.
    let where_rank = if model.multi_account() { 0 } else { 1 };
    let mut right: Vec<(u8, String)> = vec![(where_rank, fit(&model.where_label(), 40))];
    // The demo's emulator (or --endpoint-url): what a second terminal needs; `:info` has more.
    if let Some(endpoint) = &model.settings.endpoint {
        let short = endpoint
            .strip_prefix("http://")
            .or_else(|| endpoint.strip_prefix("https://"))
            .unwrap_or(endpoint);
        right.insert(0, (1 - where_rank, fit(short, 40)));
    }
    if let Some(me) = &model.settings.identity {
        right.push((2, format!("user {}", fit(me, 20))));
    }
    if model.keymap.is_readonly() {
        right.push((4, "[read-only]".to_owned()));
    }
    if let Some(fresh) = freshness(model) {
        right.push((3, fresh));
    }
    let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
    let room = usize::from(area.width).saturating_sub(used);
    let cost = |items: &[(u8, String)]| -> usize {
        items.iter().map(|(_, text)| display_width(text) + 2).sum()
    };
    while cost(&right) > room {
        let Some(at) = right
            .iter()
            .enumerate()
            .filter(|(_, (rank, _))| *rank < 4)
            .min_by_key(|(_, (rank, _))| *rank)
            .map(|(at, _)| at)
        else {
            break;
        };
        right.remove(at);
    }
    let right: String = right.iter().map(|(_, text)| format!("  {text}")).collect();
    spans.push(Span::styled(right, Style::new().fg(Color::DarkGray)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Most rows the banner takes; the popup (`m`) has the rest.
const MAX_BANNER_ROWS: usize = 4;
/// Most rows the status line takes.
const MAX_STATUS_ROWS: usize = 2;

/// `first` before the first line of `rows`, `rest` (as wide) before the others.
fn indented(rows: Vec<String>, first: &str, rest: &str) -> Vec<String> {
    rows.into_iter()
        .enumerate()
        .map(|(at, row)| format!("{}{row}", if at == 0 { first } else { rest }))
        .collect()
}

/// Keeps `max` rows; the last one says that more follows.
fn truncated(mut rows: Vec<String>, max: usize, width: usize, marker: &str) -> Vec<String> {
    if rows.len() > max {
        rows.truncate(max);
        if let Some(last) = rows.last_mut() {
            let room = width.saturating_sub(display_width(marker));
            *last = format!("{}{marker}", fit(&format!("{last} …"), room));
        }
    }
    rows
}

/// " · m: whole message", with the key the keymap binds.
fn more_marker(model: &Model) -> String {
    model
        .keymap
        .keys_for(Action::Message)
        .first()
        .map(|key| format!("  · {key}: whole message"))
        .unwrap_or_default()
}

/// The banner's rows: the problem, then the fix, wrapped at spaces so no word is cut.
pub fn banner_rows(model: &Model) -> Vec<String> {
    let Some(banner) = &model.banner else {
        return Vec::new();
    };
    let width = usize::from(model.size.0).max(1);
    let message = format!("{} (showing the last data)", banner.message);
    let mut rows = indented(wrap(&message, width.saturating_sub(3)), " ✖ ", "   ");
    if let Some(hint) = &banner.hint {
        rows.extend(indented(
            wrap(hint, width.saturating_sub(8)),
            "   fix: ",
            "        ",
        ));
    }
    truncated(rows, MAX_BANNER_ROWS, width, &more_marker(model))
}

pub fn banner(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let style = Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    let lines: Vec<Line<'_>> = banner_rows(model).into_iter().map(Line::raw).collect();
    frame.render_widget(Paragraph::new(lines).style(style), area);
}

/// The status message (or the config warning) as the rows the status line shows, and its
/// colour. The reason is never cut (issue 16, bug 3): the advice goes first when room runs
/// out, then what came before the reason; the popup always has the whole message.
pub fn message_rows(model: &Model) -> Option<(Vec<String>, Color)> {
    let width = usize::from(model.size.0).max(1);
    let more = more_marker(model);
    match (&model.status, &model.config_warning) {
        (Some(status), _) => {
            let colour = match status.level {
                Level::Info => Color::Green,
                Level::Warn => Color::Yellow,
                Level::Error => Color::Red,
            };
            Some((status_rows(status, width, &more), colour))
        }
        (None, Some(warning)) => {
            let rows = wrap(warning, width);
            Some((
                truncated(rows, MAX_STATUS_ROWS, width, &more),
                Color::Yellow,
            ))
        }
        (None, None) => None,
    }
}

fn status_rows(status: &Status, width: usize, more: &str) -> Vec<String> {
    let fits = |line: &str| {
        let rows = wrap(line, width);
        (rows.len() <= MAX_STATUS_ROWS).then_some(rows)
    };
    let marker = if status.has_more() { more } else { "" };
    let text = &status.text;
    if let Some(hint) = &status.hint
        && let Some(rows) = fits(&format!("{text} ({hint}){marker}"))
    {
        return rows;
    }
    if let Some(rows) = fits(&format!("{text}{marker}")) {
        return rows;
    }
    // Something is cut from here on: the popup has it.
    let at = status.reason_at.min(text.len());
    let (lead, reason) = text.split_at(if text.is_char_boundary(at) { at } else { 0 });
    let lead = lead.trim_end();
    for budget in (1..display_width(lead)).rev() {
        if let Some(rows) = fits(&format!("{} {reason}{more}", fit(lead, budget))) {
            return rows;
        }
    }
    if let Some(rows) = fits(&format!("{reason}{more}")) {
        return rows;
    }
    truncated(wrap(reason, width), MAX_STATUS_ROWS, width, more)
}

pub fn status(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let line = match &model.mode {
        Mode::Filter => Line::from(vec![
            Span::styled("/", Style::new().fg(Color::Yellow).bold()),
            Span::raw(escape_for_terminal(model.list_filter().unwrap_or("")).into_owned()),
            Span::styled("█", Style::new().fg(Color::Yellow)),
        ]),
        Mode::Command(text) => Line::from(vec![
            Span::styled(":", Style::new().fg(Color::Yellow).bold()),
            Span::raw(escape_for_terminal(text).into_owned()),
            Span::styled("█", Style::new().fg(Color::Yellow)),
        ]),
        _ => match message_rows(model) {
            Some((rows, colour)) => {
                let style = Style::new().fg(colour);
                let lines: Vec<Line<'_>> = rows
                    .into_iter()
                    .map(|row| Line::styled(row, style))
                    .collect();
                frame.render_widget(Paragraph::new(lines), area);
                return;
            }
            None => {
                let mut parts = Vec::new();
                if model.screen == Screen::Fleet && model.fleet.reachable_only.is_some() {
                    parts.push("reachable only".to_owned());
                }
                if let Some(filter) = model.list_filter()
                    && !filter.is_empty()
                {
                    parts.push(format!("filter: {}", escape_for_terminal(filter)));
                }
                Line::styled(parts.join("  "), Style::new().fg(Color::Yellow))
            }
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn hint_actions(screen: Screen) -> &'static [Action] {
    use Action as A;
    match screen {
        Screen::Fleet => &[
            A::OpenShell,
            A::Mark,
            A::RunCommand,
            A::Filter,
            A::Detail,
            A::SortNext,
            A::ReachableOnly,
            A::GroupByImage,
            A::Refresh,
            A::ShowSessions,
            A::Command,
            A::Help,
            A::Quit,
        ],
        Screen::Sessions => &[
            A::Terminate,
            A::Mark,
            A::MarkAll,
            A::Filter,
            A::SortNext,
            A::Refresh,
            A::ShowHistory,
            A::Back,
            A::Help,
            A::Quit,
        ],
        Screen::History => &[
            A::SessionDetail,
            A::Filter,
            A::SortNext,
            A::Refresh,
            A::Command,
            A::Back,
            A::Help,
            A::Quit,
        ],
        Screen::Preferences | Screen::Audit => &[A::Refresh, A::Back, A::Help, A::Quit],
        Screen::Commands | Screen::Command => {
            &[A::OpenCommand, A::Refresh, A::Back, A::Help, A::Quit]
        }
        Screen::Tunnels => &[A::StopTunnel, A::ShowFleet, A::Back, A::Help, A::Quit],
        Screen::Help => &[A::Back, A::Quit],
    }
}

/// A key and what it does, as the hint bar shows it.
type Hint = (String, &'static str);

/// The hint bar. `?` and `q` are always on it (issue 16, bug 7): the other hints are shown in
/// the table's order while they fit before them.
pub fn hints(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let keep_last = [Action::Help, Action::Quit];
    let (pairs, last): (Vec<Hint>, Vec<Hint>) = match &model.mode {
        Mode::Filter => (
            vec![("enter".into(), "keep filter"), ("esc".into(), "clear")],
            Vec::new(),
        ),
        Mode::Command(_) => (
            vec![("enter".into(), "run"), ("esc".into(), "cancel")],
            Vec::new(),
        ),
        Mode::Confirm(_) => (vec![("y".into(), "yes"), ("n".into(), "no")], Vec::new()),
        Mode::Reason(_) => (
            vec![("enter".into(), "open shell"), ("esc".into(), "cancel")],
            Vec::new(),
        ),
        Mode::Run(_) => (
            vec![("enter".into(), "review"), ("esc".into(), "cancel")],
            Vec::new(),
        ),
        Mode::Message | Mode::Info | Mode::Session(_) => {
            (vec![("esc".into(), "close")], Vec::new())
        }
        Mode::TunnelForm(_) => (
            vec![
                ("tab".into(), "next field"),
                ("enter".into(), "start tunnel"),
                ("esc".into(), "cancel"),
            ],
            Vec::new(),
        ),
        Mode::Normal => {
            let scope = model.screen.scope();
            let actions = hint_actions(model.screen);
            let (first, last): (Vec<Action>, Vec<Action>) =
                actions.iter().partition(|a| !keep_last.contains(a));
            (
                model.keymap.hints(scope, &first),
                model.keymap.hints(scope, &last),
            )
        }
    };
    let cells = |(key, name): &Hint| display_width(key) + display_width(name) + 3;
    let mut room = usize::from(area.width).saturating_sub(last.iter().map(cells).sum());
    let mut shown = Vec::new();
    for pair in pairs {
        if cells(&pair) > room {
            break;
        }
        room -= cells(&pair);
        shown.push(pair);
    }
    shown.extend(last);
    let mut spans = Vec::with_capacity(shown.len() * 2);
    for (key, name) in shown {
        spans.push(Span::styled(
            format!(" {key}"),
            Style::new().fg(Color::Cyan).bold(),
        ));
        spans.push(Span::styled(
            format!(" {name} "),
            Style::new().fg(Color::Gray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
