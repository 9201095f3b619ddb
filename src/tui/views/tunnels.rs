//! `:tunnels`: every tunnel this UI runs, with its target, ports, open connections, bytes/s
//! each way and its state. Names, hosts and reasons come from AWS or the user: the table
//! escapes every cell (`table::draw` through `crate::text`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Paragraph;

use crate::tui::model::Model;
use crate::tui::tunnel_list::{TunnelRow, TunnelState, rate};
use crate::tui::views::table::{self, Column, RowData, Value};

fn columns() -> Vec<Column> {
    vec![
        Column::new("TARGET", 14, 0).shrinks_to(8),
        Column::new("INSTANCE", 19, 4),
        Column::new("LOCAL", 21, 0),
        Column::new("REMOTE", 16, 1).shrinks_to(8),
        Column::new("CONNS", 5, 1),
        Column::new("UP", 11, 2),
        Column::new("DOWN", 11, 2),
        Column::new("STATE", 24, 0).shrinks_to(10),
    ]
}

fn cells(row: &TunnelRow) -> Vec<Value> {
    let running = row.is_running();
    let local = row.local.map_or_else(|| "-".to_owned(), |l| l.to_string());
    let state_style = match row.state {
        TunnelState::Listening => Style::new().fg(Color::Green),
        TunnelState::Resuming | TunnelState::Reopening | TunnelState::Starting => {
            Style::new().fg(Color::Yellow)
        }
        TunnelState::Stopping => Style::new().fg(Color::DarkGray),
        TunnelState::Ended(_) => Style::new().fg(Color::Red),
    };
    let traffic = |bytes_per_second: u64| {
        if running {
            Value::plain(rate(bytes_per_second))
        } else {
            Value::plain("-")
        }
    };
    vec![
        Value::plain(
            row.target
                .name
                .clone()
                .unwrap_or_else(|| row.target.instance_id.to_string()),
        ),
        Value::plain(row.target.instance_id.to_string()),
        Value::plain(local),
        Value::plain(row.request.remote()),
        Value::plain(row.connections.to_string()),
        traffic(row.rate_up),
        traffic(row.rate_down),
        Value::styled(row.state_text(), state_style),
    ]
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let tunnels = &model.tunnels;
    if tunnels.items.is_empty() {
        let key = model
            .keymap
            .keys_for(crate::tui::keymap::Action::Forward)
            .first()
            .map_or_else(|| "forward".to_owned(), ToString::to_string);
        frame.render_widget(
            Paragraph::new(format!(
                "no tunnels: select an instance in the fleet and press {key}"
            ))
            .style(Style::new().fg(Color::DarkGray)),
            area,
        );
        return;
    }
    table::draw(
        frame,
        area,
        &columns(),
        tunnels.items.len(),
        &tunnels.cursor,
        |at| {
            let row = &tunnels.items[at];
            let style = if row.is_running() {
                Style::new()
            } else {
                Style::new().fg(Color::DarkGray)
            };
            RowData::new(cells(row), style)
        },
    );
}
