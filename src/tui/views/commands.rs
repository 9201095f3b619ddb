//! Run Command screens: the recent commands with their counts, and one command with each
//! instance's status (re-read while it runs) and, on Enter, that instance's output. Every
//! text from AWS is escaped: table cells by `table`, the output line by line here.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::aws::types::{CommandInfo, InvocationInfo, InvocationOutput};
use crate::text::{escape_and_fit, escape_for_terminal, fit};
use crate::tui::clock::format_time;
use crate::tui::model::{CommandView, Load, Model};
use crate::tui::views::layout::command_split;
use crate::tui::views::table::{self, Column, RowData, Value};

/// The colour of a command's or an invocation's status.
fn status_style(status: &str) -> Style {
    Style::new().fg(match status {
        "Success" => Color::Green,
        "Pending" | "InProgress" | "Delayed" | "Cancelling" => Color::Yellow,
        _ => Color::Red,
    })
}

fn grey(text: impl Into<String>) -> Paragraph<'static> {
    Paragraph::new(text.into()).style(Style::new().fg(Color::DarkGray))
}

fn list_columns(multi_region: bool) -> Vec<Column> {
    let mut columns = vec![
        Column::new("COMMAND", 36, 0),
        Column::new("REQUESTED", 20, 2),
        Column::new("STATUS", 10, 0),
        Column::new("TARGETS", 7, 1),
        Column::new("DONE", 5, 1),
        Column::new("ERRORS", 6, 1),
        Column::new("TIMED OUT", 9, 3),
        Column::new("DOCUMENT", 22, 4),
        Column::new("COMMENT", 20, 5).shrinks_to(8),
    ];
    if multi_region {
        columns.push(Column::new("REGION", 14, 3));
    }
    columns
}

fn list_cells(model: &Model, region: &str, c: &CommandInfo) -> Vec<Value> {
    let mut cells = vec![
        Value::plain(c.command_id.clone()),
        Value::plain(format_time(c.requested, &model.settings.time_zone)),
        Value::styled(c.status.clone(), status_style(&c.status)),
        Value::plain(c.target_count.to_string()),
        Value::plain(c.completed_count.to_string()),
        Value::plain(c.error_count.to_string()),
        Value::plain(c.delivery_timed_out_count.to_string()),
        Value::plain(c.document_name.clone()),
        Value::plain(c.comment.clone()),
    ];
    if model.multi_region() {
        cells.push(Value::plain(region.to_owned()));
    }
    cells
}

pub fn draw_list(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let commands = &model.commands;
    if commands.items.is_empty() {
        let text = match commands.load {
            Load::Loading | Load::Idle => "loading the commands…",
            Load::Failed(_) => "no commands loaded (see the message below)",
            Load::Loaded(_) => "no commands yet (`!` on the fleet runs one)",
        };
        frame.render_widget(grey(text), area);
        return;
    }
    let columns = list_columns(model.multi_region());
    table::draw(
        frame,
        area,
        &columns,
        commands.items.len(),
        &commands.cursor,
        |at| {
            let (region, command) = &commands.items[at];
            RowData::new(list_cells(model, region, command), Style::new())
        },
    );
}

/// `Success 3  Failed 1`, counted from the invocations read last.
fn counts(invocations: &[InvocationInfo]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for invocation in invocations {
        *counts.entry(invocation.status.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(status, n)| format!("{} {n}", escape_for_terminal(status)))
        .collect::<Vec<_>>()
        .join("  ")
}

fn summary(view: &CommandView) -> String {
    let document = view.info.as_ref().map_or("", |i| i.document_name.as_str());
    let state = if view.finished() {
        "finished"
    } else {
        "running"
    };
    let counted = if view.invocations.is_empty() {
        "no invocations yet".to_owned()
    } else {
        counts(&view.invocations)
    };
    format!(
        "{}  {}  {state}  {counted}",
        escape_and_fit(&view.command_id, 40),
        escape_and_fit(document, 30),
    )
}

fn invocation_columns() -> Vec<Column> {
    vec![
        Column::new("NAME", 20, 0),
        Column::new("INSTANCE", 20, 1),
        Column::new("STATUS", 17, 0),
        Column::new("CODE", 4, 2),
        Column::new("OUTPUT", 30, 3).shrinks_to(10),
    ]
}

fn invocation_cells(model: &Model, invocation: &InvocationInfo) -> Vec<Value> {
    let name = model
        .instance_name(&invocation.instance_id)
        .map(str::to_owned)
        .or_else(|| Some(invocation.instance_name.clone()).filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "-".to_owned());
    // The first line of the output, as a glance; Enter shows all of it.
    let first_line = invocation.output.lines().next().unwrap_or("").to_owned();
    vec![
        Value::plain(name),
        Value::plain(invocation.instance_id.clone()),
        Value::styled(
            invocation.status_details.clone(),
            status_style(&invocation.status),
        ),
        Value::plain(
            invocation
                .response_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
        ),
        Value::plain(first_line),
    ]
}

pub fn draw_command(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let Some(view) = &model.command else {
        frame.render_widget(grey("no command chosen (:commands lists them)"), area);
        return;
    };
    let [top, body, below] = command_split(area, view.output.is_some());
    frame.render_widget(
        Paragraph::new(fit(&summary(view), usize::from(top.width)))
            .style(Style::new().add_modifier(Modifier::BOLD)),
        top,
    );
    if view.invocations.is_empty() {
        let text = match view.load {
            Load::Failed(_) => "the invocations could not be read (see the message below)",
            _ => "waiting for AWS to start the invocations…",
        };
        frame.render_widget(grey(text), body);
    } else {
        table::draw(
            frame,
            body,
            &invocation_columns(),
            view.invocations.len(),
            &view.cursor,
            |at| RowData::new(invocation_cells(model, &view.invocations[at]), Style::new()),
        );
    }
    if let Some(pane) = &view.output {
        draw_output(frame, below, model, &pane.instance_id, pane.result.as_ref());
    }
}

fn draw_output(
    frame: &mut Frame<'_>,
    area: Rect,
    model: &Model,
    instance_id: &str,
    result: Option<&Result<InvocationOutput, String>>,
) {
    let name = model.instance_name(instance_id).unwrap_or(instance_id);
    let width = usize::from(area.width);
    let mut lines: Vec<Line<'_>> = Vec::new();
    match result {
        None => lines.push(Line::styled(
            "loading the output…",
            Style::new().fg(Color::DarkGray),
        )),
        Some(Err(message)) => lines.push(Line::styled(
            fit(message, width),
            Style::new().fg(Color::Red),
        )),
        Some(Ok(output)) => {
            let code = output
                .response_code
                .map_or_else(String::new, |c| format!(", exit code {c}"));
            lines.push(Line::styled(
                fit(&format!("{}{code}", output.status_details), width),
                status_style(&output.status),
            ));
            lines.extend(output.stdout.lines().map(|l| Line::raw(fit(l, width))));
            if !output.stderr.is_empty() {
                lines.push(Line::styled("stderr:", Style::new().fg(Color::Yellow)));
                lines.extend(
                    output
                        .stderr
                        .lines()
                        .map(|l| Line::styled(fit(l, width), Style::new().fg(Color::Yellow))),
                );
            }
            // AWS hands back the first 24,000 characters; the rest is only in S3.
            if let Some(url) = &output.stdout_url {
                lines.push(Line::styled(
                    fit(&format!("whole output: {url}"), width),
                    Style::new().fg(Color::DarkGray),
                ));
            }
        }
    }
    let title = format!(" output of {} (esc closes) ", fit(name, 40));
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::new()
                .borders(Borders::TOP)
                .title(title)
                .border_style(Style::new().fg(Color::Cyan)),
        ),
        area,
    );
}
