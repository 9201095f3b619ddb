//! `gangway connect TARGET`: resolve the target, check it can take a session, start it,
//! and pump the terminal (or pipes) until it ends.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use super::error::ConnectError;
use super::outcome::{ShellEnd, ShellOutcome};
use super::pump::{PumpMode, pump};
use super::shell::open_channel;
use super::terminal::{RawModeGuard, stdio_is_tty};
use crate::aws::{
    AccessScope, AwsClient, AwsOptions, Instance, InstanceId, StartSessionRequest, diagnose,
    resolve_target,
};
use crate::cli::{AwsArgs, ConnectArgs, split_key_value};

/// Entry point of `gangway connect`.
pub fn run_connect(aws: &AwsArgs, args: ConnectArgs) -> ExitCode {
    // Logs go to a file only: the terminal belongs to the remote shell.
    let _log_guard = crate::logging::init_file_logging("connect").ok();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gangway: cannot start the async runtime: {error}");
            return ExitCode::from(super::exit::OTHER);
        }
    };
    let tty = stdio_is_tty();
    let result = runtime.block_on(connect(aws, &args, tty));
    // Nothing may keep the process alive once the session is over.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(outcome) => {
            report(&outcome, tty);
            ExitCode::from(outcome.exit_status())
        }
        Err(error) => {
            tracing::warn!(%error, "connect failed");
            eprintln!("gangway: {error}");
            ExitCode::from(error.exit_status())
        }
    }
}

/// The last line, printed after the terminal was restored. A normal exit in pipe mode
/// stays quiet so that scripts' stderr holds only what the remote side wrote.
fn report(outcome: &ShellOutcome, tty: bool) {
    if tty {
        eprint!("\r\n{}\r\n", outcome.message());
    } else if outcome.end != ShellEnd::Exited {
        eprintln!("gangway: {}", outcome.message());
    }
}

async fn connect(
    aws: &AwsArgs,
    args: &ConnectArgs,
    tty: bool,
) -> Result<ShellOutcome, ConnectError> {
    let mut request = start_request(args)?;
    let clients = AwsClient::from_options(&AwsOptions::from(aws)).await?;
    let (client, instance) = find_target(&clients, &args.target, &scope_tags(aws)).await?;
    check_reachable(&instance)?;
    request.target = instance.id.to_string();
    let (channel, session_id) = open_channel(&client, &request).await?;
    if tty {
        let guard = RawModeGuard::enter()?;
        let outcome = pump(channel, session_id, PumpMode::Terminal).await;
        drop(guard);
        Ok(outcome?)
    } else {
        Ok(pump(channel, session_id, PumpMode::Pipe).await?)
    }
}

fn start_request(args: &ConnectArgs) -> Result<StartSessionRequest, ConnectError> {
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for text in &args.parameters {
        let (key, value) =
            split_key_value(text).ok_or_else(|| ConnectError::BadParameter(text.clone()))?;
        parameters
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    Ok(StartSessionRequest {
        target: String::new(),
        document_name: args.document.clone(),
        parameters,
        reason: args.reason.clone(),
    })
}

fn scope_tags(aws: &AwsArgs) -> Vec<(String, String)> {
    aws.tags
        .iter()
        .filter_map(|tag| split_key_value(tag))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Narrows the listing with EC2 filters where the target allows it (an id, a Name or a
/// tag), then resolves over every region asked for.
async fn find_target(
    clients: &[AwsClient],
    target: &str,
    scope: &[(String, String)],
) -> Result<(AwsClient, Instance), ConnectError> {
    let mut filters = scope.to_vec();
    let target = target.trim();
    let id = InstanceId::parse(target);
    if let Some((key, value)) = target.strip_prefix("tag:").and_then(split_key_value) {
        filters.push((key.to_owned(), value.to_owned()));
    } else if id.is_none() && !target.is_empty() {
        filters.push(("Name".to_owned(), target.to_owned()));
    }
    let mut instances = Vec::new();
    for client in clients {
        match (&id, scope.is_empty()) {
            // An id: ask about that one instance only, not the whole inventory.
            (Some(id), true) => {
                instances.extend(client.instances_by_id(std::slice::from_ref(id)).await?);
            }
            _ => instances.extend(client.list_instances(&filters).await?),
        }
    }
    let instance = resolve_target(&instances, target)?.clone();
    let client = clients
        .iter()
        .find(|c| c.region() == instance.region)
        .or_else(|| clients.first())
        .cloned()
        .ok_or_else(|| ConnectError::Unavailable("no AWS region to connect through".into()))?;
    Ok((client, instance))
}

/// Says why before starting anything when the instance cannot take a session (issue 5).
fn check_reachable(instance: &Instance) -> Result<(), ConnectError> {
    let diagnosis = diagnose(instance, None, &AccessScope::default());
    if diagnosis.can_connect() {
        return Ok(());
    }
    let name = instance
        .name
        .as_deref()
        .map(|n| format!(" ({})", crate::aws::escape_for_terminal(n)))
        .unwrap_or_default();
    let mut line = format!("{}{name}: {}", instance.id, diagnosis.summary);
    if let Some(fix) = diagnosis.fix {
        line.push_str(&format!(" ({fix})"));
    }
    Err(ConnectError::Unavailable(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_group_by_key() {
        let args = ConnectArgs {
            target: "web-1".into(),
            reason: Some("debug".into()),
            document: Some("AWS-StartInteractiveCommand".into()),
            parameters: vec!["command=stty raw; cat".into(), "x=1".into(), "x=2".into()],
        };
        let request = start_request(&args).expect("valid");
        assert_eq!(request.parameters["command"], ["stty raw; cat"]);
        assert_eq!(request.parameters["x"], ["1", "2"]);
        let bad = ConnectArgs {
            parameters: vec!["novalue".into()],
            ..args
        };
        assert!(matches!(
            start_request(&bad),
            Err(ConnectError::BadParameter(_))
        ));
    }
}
