//! The fleet table: Name, id, state, ping status, agent, platform, IP, image, the tag columns
//! chosen in the config, and the region when several are shown.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::aws::AccessScope;
use crate::aws::types::{Instance, InstanceState, PingStatus};
use crate::text::{display_width, fit};
use crate::tui::fleet_list::{FleetRow, SortKey};
use crate::tui::model::{Load, Model};
use crate::tui::views::table::{self, Column, RowData, Value};

pub fn ping_style(ping: PingStatus) -> Style {
    Style::new().fg(match ping {
        PingStatus::Online => Color::Green,
        PingStatus::ConnectionLost => Color::Red,
        PingStatus::Inactive => Color::Yellow,
        PingStatus::NotManaged => Color::DarkGray,
    })
}

pub fn state_style(state: &InstanceState) -> Style {
    Style::new().fg(match state {
        InstanceState::Running => Color::Green,
        InstanceState::Pending | InstanceState::Stopping | InstanceState::ShuttingDown => {
            Color::Yellow
        }
        InstanceState::Stopped | InstanceState::Terminated => Color::DarkGray,
        InstanceState::Hybrid | InstanceState::Other(_) => Color::Gray,
    })
}

fn columns(model: &Model) -> Vec<Column> {
    let fleet = &model.fleet;
    let mark = |key: SortKey, title: &str| {
        if fleet.sort == key {
            format!("{title}{}", if fleet.descending { "▼" } else { "▲" })
        } else {
            title.to_owned()
        }
    };
    let mut columns = vec![
        Column::new(mark(SortKey::Name, "NAME"), 18, 0),
        // ✓, or ✗ with the causes: what may I reach, at a glance (issue 16).
        Column::new("REACH", 18, 1).shrinks_to(5),
        Column::new(mark(SortKey::Id, "INSTANCE"), 20, 1),
        Column::new(mark(SortKey::State, "STATE"), 8, 3),
        Column::new(mark(SortKey::Ping, "PING"), 14, 2),
        Column::new(mark(SortKey::Agent, "AGENT"), 10, 6),
        Column::new(mark(SortKey::Platform, "PLATFORM"), 17, 7),
        Column::new(mark(SortKey::Ip, "IP"), 13, 4),
        Column::new(mark(SortKey::Image, "IMAGE"), 21, 8),
    ];
    columns.extend(
        fleet
            .tag_columns
            .iter()
            .map(|tag| Column::new(tag.to_uppercase(), 12, 5)),
    );
    if model.multi_region() {
        columns.push(Column::new(mark(SortKey::Region, "REGION"), 14, 3));
    }
    if model.multi_account() {
        // Right after the name: whose machine it is matters as much as what it is called.
        let title = if model.multi_region() {
            "ACCOUNT".to_owned()
        } else {
            mark(SortKey::Region, "ACCOUNT")
        };
        columns.insert(1, Column::new(title, 12, 2).shrinks_to(7));
    }
    columns
}

fn cells(model: &Model, scope: &AccessScope, instance: &Instance) -> Vec<Value> {
    let opt = |v: &Option<Arc<str>>| v.as_deref().unwrap_or("-").to_owned();
    let image = instance
        .image_name
        .as_deref()
        .or(instance.image_id.as_deref())
        .unwrap_or("-");
    let reach = model.fleet.reach(instance, scope);
    let reach_colour = if reach.can_connect() {
        Color::Green
    } else {
        Color::Red
    };
    // Marked for a command: a dot before the name (no column, so nothing moves).
    let name = if model.fleet.marked.contains(&instance.id) {
        Value::styled(
            format!("● {}", opt(&instance.name)),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )
    } else {
        Value::plain(opt(&instance.name))
    };
    let mut cells = vec![
        name,
        Value::styled(reach.reach_brief(), Style::new().fg(reach_colour)),
        Value::plain(instance.id.as_str()),
        Value::styled(instance.state.label(), state_style(&instance.state)),
        Value::styled(
            instance.ping_status.label(),
            ping_style(instance.ping_status),
        ),
        Value::plain(opt(&instance.agent_version)),
        Value::plain(opt(&instance.platform_name)),
        Value::plain(opt(&instance.private_ip)),
        Value::plain(image),
    ];
    cells.extend(
        model
            .fleet
            .tag_columns
            .iter()
            .map(|tag| Value::plain(instance.tags.get(tag).unwrap_or("-"))),
    );
    if model.multi_region() {
        cells.push(Value::plain(&*instance.region));
    }
    if model.multi_account() {
        let account = instance
            .account
            .as_deref()
            .or(instance.account_id.as_deref());
        cells.insert(1, Value::plain(account.unwrap_or("-")));
    }
    cells
}

/// A group header in group-by-image mode, across the whole row: the image name, its full id
/// (ids differ only at the end, so a cut id tells nothing) and the number of instances. Only
/// the name is cut when the line is too long.
fn group_row(model: &Model, first: usize, count: usize, width: usize) -> RowData {
    let instance = &model.fleet.instances[first];
    let id = fit(instance.image_id.as_deref().unwrap_or("no image"), 64);
    let counted = match count {
        1 => "1 instance".to_owned(),
        n => format!("{n} instances"),
    };
    let tail = format!("{id}  {counted}");
    let line = match instance.image_name.as_deref() {
        Some(name) => {
            let room = width.saturating_sub(2 + 2 + display_width(&tail));
            if room >= 4 {
                format!("▸ {}  {tail}", fit(name, room))
            } else {
                format!("▸ {tail}")
            }
        }
        None => format!("▸ {tail}"),
    };
    let style = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
    RowData::spanning(Line::styled(fit(&line, width), style))
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let fleet = &model.fleet;
    if fleet.instances.is_empty() {
        let text = match fleet.load {
            Load::Loading | Load::Idle => "loading the fleet…",
            Load::Failed(_) => "no instances loaded (see the message above)",
            Load::Loaded(_) => {
                "no instances in scope (check --tag and the [fleet] tags in your config)"
            }
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::DarkGray)),
            area,
        );
        return;
    }
    if fleet.shown == 0 {
        let text = match (fleet.filter.is_empty(), fleet.reachable_only.is_some()) {
            (true, _) => {
                let key = model
                    .keymap
                    .keys_for(crate::tui::keymap::Action::ReachableOnly)
                    .first()
                    .map(|k| format!(" ({k} shows them all)"))
                    .unwrap_or_default();
                format!("you cannot open a shell on any instance now{key}")
            }
            (false, reachable) => format!(
                "no {}instance matches `{}` (esc clears the filter)",
                if reachable { "reachable " } else { "" },
                fit(&fleet.filter, 40)
            ),
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::Yellow)),
            area,
        );
        return;
    }
    let columns = columns(model);
    let scope = model.access_scope();
    let width = usize::from(area.width);
    table::draw(
        frame,
        area,
        &columns,
        fleet.rows.len(),
        &fleet.cursor,
        |at| match fleet.rows[at] {
            FleetRow::Instance(i) => {
                RowData::new(cells(model, &scope, &fleet.instances[i]), Style::new())
            }
            FleetRow::Group { first, count } => group_row(model, first, count, width),
        },
    );
}
