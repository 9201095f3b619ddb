//! `gangway run`: a script on many instances through Run Command (issue 14). The targets
//! are resolved as `list` and `connect` resolve them, instances that cannot take it are
//! named with the reason, the user confirms, SendCommand goes out once (by tag, or by id),
//! and the command is followed until every instance it can reach has finished; then each
//! instance's output, what AWS cut and where the whole is, and an exit status that is 0
//! only when every instance succeeded. `run list` and `run show` read the history.

mod follow;
mod history;
mod input;
mod live;
mod report;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use super::exit;
use crate::aws::retry::{Patience, with_patience};
use crate::aws::run_targets::{self as select, Selection, label};
use crate::aws::types::SendCommandRequest;
use crate::aws::{AwsClient, AwsError, Instance, ResolveError, resolve_target};
use crate::cli::{OutputFormat, RunArgs, RunHistory};
use crate::text::escape_for_terminal;
use follow::{Followed, Follower, Interrupt, Sink};

/// How many instances the confirmation names before "and N more".
const MAX_LISTED: usize = 20;

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("{0}")]
    Input(String),
    #[error("{}", .0.to_line())]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Target(#[from] ResolveError),
    #[error("{0}")]
    Unavailable(String),
    #[error("nothing was sent")]
    Declined,
    #[error("{0}")]
    Io(String),
}

impl RunError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Input(_) | Self::Target(_) => exit::USAGE,
            Self::Aws(error) => exit::for_aws(error),
            Self::Unavailable(_) => exit::TARGET_UNAVAILABLE,
            Self::Declined | Self::Io(_) => exit::OTHER,
        }
    }
}

/// Entry point of `gangway run` (and `run list`, `run show`).
pub fn run(args: RunArgs) -> ExitCode {
    let _log_guard = crate::logging::init_file_logging("run").ok();
    let runtime = match super::command_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let status = match &args.history {
        Some(RunHistory::List(list)) => match runtime.block_on(history::list(list)) {
            Ok(()) => exit::OK,
            Err(error) => aws_failure(&error),
        },
        Some(RunHistory::Show(show)) => runtime
            .block_on(history::show(show))
            .unwrap_or_else(|error| aws_failure(&error)),
        None => {
            let scope = match super::settings::scope(args.config.as_deref(), &args.aws.tags) {
                Ok(scope) => scope,
                Err(status) => return status,
            };
            match runtime.block_on(send_and_follow(&args, &scope)) {
                Ok(status) => status,
                Err(error) => {
                    tracing::warn!(%error, "run failed");
                    eprintln!("gangway run: {error}");
                    error.exit_status()
                }
            }
        }
    };
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(status)
}

fn aws_failure(error: &AwsError) -> u8 {
    eprintln!("gangway run: {}", error.to_line());
    exit::for_aws(error)
}

/// The instances the arguments name: each positional target (a `tag:` one may match many),
/// or everything the tag scope selects.
fn chosen(
    args: &RunArgs,
    listed: &[Instance],
    scope: &[(String, String)],
) -> Result<Vec<Instance>, RunError> {
    if args.targets.is_empty() {
        if listed.is_empty() {
            let tags: Vec<String> = scope
                .iter()
                .map(|(k, v)| escape_for_terminal(&format!("{k}={v}")).into_owned())
                .collect();
            return Err(RunError::Input(format!(
                "no instance matches {}",
                tags.join(" and ")
            )));
        }
        return Ok(listed.to_vec());
    }
    let mut chosen: Vec<Instance> = Vec::new();
    for target in &args.targets {
        let matches: Vec<&Instance> = match target
            .strip_prefix("tag:")
            .map(crate::aws::types::parse_key_value)
        {
            Some(Ok((key, value))) => listed
                .iter()
                .filter(|i| i.tags.get(&key) == Some(&value))
                .collect(),
            _ => vec![resolve_target(listed, target)?],
        };
        if matches.is_empty() {
            return Err(RunError::Input(format!(
                "no instance matches `{}`",
                escape_for_terminal(target)
            )));
        }
        for instance in matches {
            if !chosen.iter().any(|c| c.id == instance.id) {
                chosen.push(instance.clone());
            }
        }
    }
    if chosen.len() > crate::aws::commands::MAX_INSTANCE_IDS {
        return Err(RunError::Input(format!(
            "{} instances named; AWS takes at most {} by id in one command: select them with --tag KEY=VALUE instead",
            chosen.len(),
            crate::aws::commands::MAX_INSTANCE_IDS
        )));
    }
    Ok(chosen)
}

/// Lists what will run where and what cannot; asks unless `--yes`. Refuses to guess when
/// there is no terminal to ask on.
fn confirm(
    args: &RunArgs,
    selection: &Selection,
    document: &str,
    interactive: bool,
) -> Result<(), RunError> {
    let n = selection.runnable.len();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "gangway run: {document} on {n} instance(s):");
    for instance in selection.runnable.iter().take(MAX_LISTED) {
        let _ = writeln!(err, "  {}", label(instance));
    }
    if n > MAX_LISTED {
        let _ = writeln!(err, "  … and {} more", n - MAX_LISTED);
    }
    if !selection.skipped.is_empty() {
        let _ = writeln!(
            err,
            "gangway run: {} instance(s) cannot run it:",
            selection.skipped.len()
        );
        for (instance, reason) in &selection.skipped {
            let _ = writeln!(err, "  {}: {reason}", label(instance));
        }
    }
    if args.yes {
        return Ok(());
    }
    if !interactive {
        return Err(RunError::Input(format!(
            "refusing to run on {n} instance(s) without --yes: there is no terminal to confirm on"
        )));
    }
    let _ = write!(err, "Run it on these {n} instance(s)? [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(RunError::Declined)
    }
}

/// On Ctrl-C: cancel on AWS, or stop following and leave it running.
fn ask_on_interrupt(interactive: bool) -> Interrupt {
    if !interactive {
        return Interrupt::Detach;
    }
    eprint!(
        "\ngangway run: cancel the command on AWS (c), or stop following and leave it running (d)? [c/d] "
    );
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim().eq_ignore_ascii_case("c") {
        Interrupt::Cancel
    } else {
        Interrupt::Detach
    }
}

/// `[fleet] tags` and `--tag` as Run Command targets: one target per key, its values OR'ed,
/// the same as the EC2 filters that listed the instances.
fn tag_targets(scope: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in scope {
        let values = targets.entry(key.clone()).or_default();
        if !values.contains(value) {
            values.push(value.clone());
        }
    }
    targets.into_iter().collect()
}

async fn send_and_follow(args: &RunArgs, scope: &[(String, String)]) -> Result<u8, RunError> {
    let stdin_terminal = std::io::stdin().is_terminal();
    let interactive = stdin_terminal && std::io::stderr().is_terminal();
    let json = args.output == OutputFormat::Json;
    let script = input::script(args, stdin_terminal).map_err(RunError::Input)?;
    let by_tag = args.targets.is_empty();
    if by_tag && scope.is_empty() {
        return Err(RunError::Input(
            "no targets: name instances (ids, Names, tag:KEY=VALUE) or select them with --tag KEY=VALUE"
                .into(),
        ));
    }
    let clients = AwsClient::from_options(&args.aws.options()).await?;
    let [client] = clients.as_slice() else {
        return Err(RunError::Input(
            "gangway run works in one region at a time: give one --region".into(),
        ));
    };
    let listed = client.list_instances(scope).await?;
    let selection = select::classify(chosen(args, &listed, scope)?);
    if selection.runnable.is_empty() {
        let reasons: Vec<String> = selection
            .skipped
            .iter()
            .map(|(instance, reason)| format!("\n  {}: {reason}", label(instance)))
            .collect();
        return Err(RunError::Unavailable(format!(
            "none of the {} instance(s) can run it:{}",
            selection.skipped.len(),
            reasons.concat()
        )));
    }
    let document =
        select::document(args.document.as_deref(), &selection.runnable).map_err(RunError::Input)?;
    confirm(args, &selection, &document, interactive)?;
    let request = SendCommandRequest {
        document_name: document.clone(),
        instance_ids: if by_tag {
            Vec::new()
        } else {
            selection
                .runnable
                .iter()
                .map(|i| i.id.to_string())
                .collect()
        },
        tag_targets: if by_tag {
            tag_targets(scope)
        } else {
            Vec::new()
        },
        commands: script,
        comment: args.comment.clone(),
        max_concurrency: args.max_concurrency.clone(),
        max_errors: args.max_errors.clone(),
        execution_timeout: args.timeout,
        output_s3: args.output_s3.clone(),
    };
    let notice = |line: String| eprintln!("gangway run: {line}");
    let command =
        with_patience(Patience::WRITES, &notice, || client.send_command(&request)).await?;
    let id = command.command_id.clone();
    if json {
        for (instance, reason) in &selection.skipped {
            live::JsonLines::emit(&json!({
                "event": "skipped",
                "instance_id": instance.id.as_str(),
                "name": instance.name.as_deref(),
                "reason": reason,
            }));
        }
        live::JsonLines::emit(&json!({
            "event": "sent",
            "command_id": id,
            "document": document,
            "instances": selection.runnable.len(),
            "output_s3": args.output_s3,
        }));
    } else {
        eprintln!(
            "gangway run: command {} sent (`gangway run show {}` shows it later)",
            escape_for_terminal(&id),
            escape_for_terminal(&id)
        );
    }
    let names: BTreeMap<String, String> = listed
        .iter()
        .filter_map(|i| i.name.as_deref().map(|n| (i.id.to_string(), n.to_owned())))
        .collect();
    let offline: HashSet<String> = selection
        .skipped
        .iter()
        .map(|(i, _)| i.id.to_string())
        .collect();
    let mut follower = Follower::new(client, &id, names, offline);
    let mut sink: Box<dyn Sink> = match (json, std::io::stderr().is_terminal()) {
        (true, _) => Box::new(live::JsonLines),
        (false, true) => Box::new(live::LiveTable::new(selection.runnable.len())),
        (false, false) => Box::new(live::Quiet),
    };
    let followed = follower
        .run(sink.as_mut(), &|| ask_on_interrupt(interactive))
        .await?;
    tracing::info!(calls = follower.calls + 1, "run of {id} followed");
    let all = follower.all();
    let still_pending = match followed {
        Followed::Detached => {
            eprintln!(
                "gangway run: stopped following; the command goes on on AWS (`gangway run show {}`)",
                escape_for_terminal(&id)
            );
            return Ok(exit::RUN_DETACHED);
        }
        Followed::Finished { still_pending } => still_pending,
    };
    if !json {
        report::print_outputs(&all).or_else(|err| {
            if err.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(RunError::Io(format!("cannot write the output: {err}")))
            }
        })?;
    }
    for note in report::cut_notes(&all, args.output_s3.as_ref()) {
        eprintln!("gangway run: {note}");
    }
    for pending in &still_pending {
        if let Some(tracked) = follower.tracked.get(pending) {
            eprintln!(
                "gangway run: {}: still {} on AWS (its agent cannot take the command; AWS ends it DeliveryTimedOut when the delivery timeout passes)",
                tracked.label(),
                escape_for_terminal(&tracked.info.status_details)
            );
        }
    }
    if let Some(dir) = &args.save {
        report::save(dir, &all, &selection.skipped).map_err(|err| {
            RunError::Io(format!(
                "cannot write to {}: {err}",
                escape_for_terminal(&dir.display().to_string())
            ))
        })?;
    }
    let status = report::exit_status(&all, selection.skipped.len(), still_pending.len());
    let counts = live::counts_line(&all);
    if json {
        live::JsonLines::emit(&json!({
            "event": "done",
            "command_id": id,
            "counts": counts,
            "not_run": selection.skipped.len(),
            "exit_status": status,
        }));
    } else {
        let not_run = if selection.skipped.is_empty() {
            String::new()
        } else {
            format!("; {} could not run it", selection.skipped.len())
        };
        eprintln!(
            "gangway run: {counts}{not_run} (command {})",
            escape_for_terminal(&id)
        );
    }
    Ok(status)
}
