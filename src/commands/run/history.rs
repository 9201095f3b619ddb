//! `gangway run list` (ListCommands) and `gangway run show COMMAND-ID` (the invocations with
//! their output), as a table or JSON.

use std::io::{self, Write};
use std::time::SystemTime;

use serde_json::json;

use super::follow::Tracked;
use super::report;
use crate::aws::types::CommandInfo;
use crate::aws::{AwsClient, AwsError};
use crate::cli::{OutputFormat, RunListArgs, RunShowArgs};
use crate::text::{escape_and_fit, escape_for_terminal};

/// `2026-01-02 03:04:05Z`.
fn when(at: Option<SystemTime>) -> String {
    at.map(|at| {
        let t = time::OffsetDateTime::from(at);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    })
    .unwrap_or_else(|| "-".to_owned())
}

fn command_json(command: &CommandInfo) -> serde_json::Value {
    let mut value = serde_json::to_value(command).unwrap_or_default();
    value["requested"] = json!(when(command.requested));
    value
}

async fn client_for(aws: &crate::cli::AwsArgs) -> Result<AwsClient, AwsError> {
    let clients = AwsClient::from_options(&aws.options()).await?;
    clients.into_iter().next().ok_or(AwsError::NoRegion)
}

pub async fn list(args: &RunListArgs) -> Result<(), AwsError> {
    let client = client_for(&args.aws).await?;
    let mut commands = Vec::new();
    let mut token = None;
    while commands.len() < args.limit {
        let want = i32::try_from(args.limit - commands.len()).unwrap_or(50);
        let (page, next) = client.commands_page(token, want).await?;
        commands.extend(page);
        token = next;
        if token.is_none() {
            break;
        }
    }
    commands.truncate(args.limit);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = match args.output {
        OutputFormat::Json => {
            let rows: Vec<serde_json::Value> = commands.iter().map(command_json).collect();
            crate::text::write_json_pretty(&mut out, &rows)
                .map_err(io::Error::other)
                .and_then(|()| writeln!(out))
        }
        OutputFormat::Table => write_list_table(&mut out, &commands),
    };
    written
        .and_then(|()| out.flush())
        .or_else(ignore_broken_pipe)
}

fn ignore_broken_pipe(err: io::Error) -> Result<(), AwsError> {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(AwsError::Config(format!("cannot write the output: {err}")))
    }
}

fn write_list_table(out: &mut impl Write, commands: &[CommandInfo]) -> io::Result<()> {
    writeln!(
        out,
        "{:<36}  {:<20}  {:<11}  {:>7}  {:>6}  {:<20}  COMMENT",
        "COMMAND ID", "REQUESTED", "STATUS", "DONE", "ERRORS", "DOCUMENT"
    )?;
    for command in commands {
        writeln!(
            out,
            "{:<36}  {:<20}  {:<11}  {:>7}  {:>6}  {:<20}  {}",
            escape_and_fit(&command.command_id, 36),
            when(command.requested),
            escape_and_fit(&command.status_details, 11),
            format!("{}/{}", command.completed_count, command.target_count),
            command.error_count,
            escape_and_fit(&command.document_name, 20),
            escape_and_fit(&command.comment, 40),
        )?;
    }
    Ok(())
}

pub async fn show(args: &RunShowArgs) -> Result<u8, AwsError> {
    let client = client_for(&args.aws).await?;
    let command = client.command(&args.command_id).await?.ok_or_else(|| {
        AwsError::NotFound(format!(
            "no command {} in {}",
            escape_for_terminal(&args.command_id),
            client.region()
        ))
    })?;
    let (invocations, _) = client.command_invocations(&command.command_id).await?;
    let mut tracked: Vec<Tracked> = invocations
        .into_iter()
        .filter(|i| {
            args.instance
                .as_ref()
                .is_none_or(|wanted| &i.instance_id == wanted)
        })
        .map(|info| Tracked {
            info,
            name: None,
            output: None,
        })
        .collect();
    if let Some(wanted) = &args.instance {
        let Some(one) = tracked.first_mut() else {
            return Err(AwsError::NotFound(format!(
                "command {} did not run on {}",
                escape_for_terminal(&command.command_id),
                escape_for_terminal(wanted)
            )));
        };
        one.output = Some(client.command_output(&command.command_id, wanted).await?);
    }
    let all: Vec<&Tracked> = tracked.iter().collect();
    let written = match args.output {
        OutputFormat::Json => {
            let invocations: Vec<serde_json::Value> = all
                .iter()
                .map(|t| {
                    let mut value = super::live::invocation_json(t);
                    if let Some(object) = value.as_object_mut() {
                        object.remove("event");
                    }
                    value["output"] = json!(t.info.output);
                    value
                })
                .collect();
            let body = json!({ "command": command_json(&command), "invocations": invocations });
            let mut out = io::stdout().lock();
            crate::text::write_json_pretty(&mut out, &body)
                .map_err(io::Error::other)
                .and_then(|()| writeln!(out))
        }
        OutputFormat::Table => write_show(&command, &all),
    };
    written.or_else(ignore_broken_pipe)?;
    Ok(report::exit_status(&all, 0, 0))
}

fn write_show(command: &CommandInfo, all: &[&Tracked]) -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "command {}  {}  {}  requested {}",
        escape_for_terminal(&command.command_id),
        escape_for_terminal(&command.document_name),
        escape_for_terminal(&command.status_details),
        when(command.requested)
    )?;
    if !command.comment.is_empty() {
        writeln!(out, "comment: {}", escape_for_terminal(&command.comment))?;
    }
    writeln!(out, "{}", super::live::counts_line(all))?;
    out.flush()?;
    drop(out);
    if all.iter().any(|t| t.output.is_some()) {
        report::print_outputs(all)?;
        for note in report::cut_notes(all, command.output_s3.as_ref()) {
            eprintln!("gangway run: {note}");
        }
        return Ok(());
    }
    // The list's own output: stdout and stderr within 2,500 characters, as AWS gives it.
    let mut out = io::BufWriter::new(io::stdout().lock());
    for tracked in all {
        report::write_heading(&mut out, tracked)?;
        for line in tracked.info.output.lines() {
            writeln!(out, "{}", escape_for_terminal(line))?;
        }
    }
    writeln!(
        out,
        "(each output is AWS's 2,500-character summary; `gangway run show {} --instance ID` gives stdout and stderr apart)",
        escape_for_terminal(&command.command_id)
    )?;
    out.flush()
}
