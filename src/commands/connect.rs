//! `gangway connect TARGET`: resolve the target, check it can take a session, start it,
//! and pump the terminal (or pipes) until it ends.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::exit;
use crate::aws::types::parse_key_value;
use crate::aws::{
    AccessScope, AwsClient, AwsError, AwsOptions, Instance, InstanceId, ResolveError,
    StartSessionRequest, account_clients, diagnose, resolve_target,
};
use crate::cli::ConnectArgs;
use crate::shell::terminal::stdio_is_tty;
use crate::shell::{Platform, PumpMode, SessionRecords, ShellEnd, ShellError, ShellOutcome};

/// Why `connect` stopped before or while running the session; one line each.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectError {
    #[error("{}", .0.to_line())]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Target(#[from] ResolveError),
    /// The instance cannot take a session; the text is the diagnosis and its fix.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Shell(#[from] ShellError),
}

impl ConnectError {
    pub(super) fn exit_status(&self) -> u8 {
        match self {
            Self::Aws(error) => exit::for_aws(error),
            Self::Target(_) => exit::USAGE,
            Self::Unavailable(_) => exit::TARGET_UNAVAILABLE,
            Self::Shell(error) => exit::for_shell_error(error),
        }
    }
}

/// Entry point of `gangway connect`.
pub fn run(args: ConnectArgs) -> ExitCode {
    let args = &args;
    let tty = stdio_is_tty();
    super::run_session(
        "connect",
        || super::settings::session_settings(args.config.as_deref(), &args.aws.tags),
        async |(scope, records)| connect(args, &scope, &records, tty).await,
        |result| match result {
            Ok(outcome) => {
                report(&outcome, tty);
                ExitCode::from(exit::for_outcome(&outcome))
            }
            Err(error) => super::failed("connect", &error, error.exit_status()),
        },
    )
}

/// The last line, printed after the terminal was restored. A normal exit in pipe mode
/// stays quiet so that scripts' stderr holds only what the remote side wrote, and so does a
/// closed output pipe, as for any program a `| head` cuts short (the status says it).
pub(super) fn report(outcome: &ShellOutcome, tty: bool) {
    if tty {
        eprint!("\r\n{}\r\n", outcome.message());
    } else if !matches!(outcome.end, ShellEnd::Exited | ShellEnd::OutputClosed) {
        eprintln!("gangway: {}", outcome.message());
    }
}

async fn connect(
    args: &ConnectArgs,
    scope: &[(String, String)],
    records: &SessionRecords,
    tty: bool,
) -> Result<ShellOutcome, ConnectError> {
    let clients = target_clients(&args.aws.options()).await?;
    let (client, instance) = find_target(&clients, &args.target, scope).await?;
    check_reachable(&instance)?;
    let request = start_request(args, &instance.id);
    let mode = if tty {
        PumpMode::Terminal
    } else {
        // What stdin needs depends on the remote shell: PowerShell on Windows (issue 11).
        PumpMode::Pipe {
            target: Platform::from_listing(instance.platform.as_deref()),
        }
    };
    Ok(crate::shell::run(&client, &request, mode, records).await?)
}

fn start_request(args: &ConnectArgs, target: &InstanceId) -> StartSessionRequest {
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in &args.parameters {
        parameters
            .entry(key.clone())
            .or_default()
            .push(value.clone());
    }
    StartSessionRequest {
        target: target.to_string(),
        document_name: args.document.clone(),
        parameters,
        reason: args.reason.clone(),
    }
}

/// The clients `connect`, `exec`, `cp`, `forward` and `ssh-proxy` look for their target
/// with. Across several accounts (`--profile a,b`) an account that cannot build its clients
/// (a profile that does not exist, no region) is named in one line on stderr and the target
/// is looked for in the others; only when no account has clients is it the error.
pub(super) async fn target_clients(opts: &AwsOptions) -> Result<Vec<AwsClient>, AwsError> {
    if opts.accounts.is_empty() {
        return AwsClient::from_options(opts).await;
    }
    let mut clients = Vec::new();
    let mut failed = Vec::new();
    for account in account_clients(opts).await {
        match account.clients {
            Ok(found) => clients.extend(found),
            Err(error) => failed.push((account.label, error)),
        }
    }
    let mut failed = failed.into_iter();
    if clients.is_empty()
        && let Some((_, first)) = failed.next()
    {
        for (label, error) in failed {
            not_searched(&label, &error);
        }
        return Err(first);
    }
    for (label, error) in failed {
        not_searched(&label, &error);
    }
    Ok(clients)
}

/// One line on stderr for an account or region the target was not looked for in.
fn not_searched(place: &str, error: &AwsError) {
    tracing::warn!(place, error = %error.to_line(), "not searched for the target");
    eprintln!(
        "gangway: {}: {} (not searched for the target)",
        crate::text::escape_for_terminal(place),
        error.to_line()
    );
}

/// Narrows the listing with EC2 filters where the target allows it (an id, a Name or a
/// tag), then resolves over every region asked for. With several accounts or regions, one
/// whose listing fails (a role that cannot be assumed, expired credentials) is named on
/// stderr and the target resolved among the others; when all fail, the first error is it.
pub(super) async fn find_target(
    clients: &[AwsClient],
    target: &str,
    scope: &[(String, String)],
) -> Result<(AwsClient, Instance), ConnectError> {
    let mut filters = scope.to_vec();
    let target = target.trim();
    let id = InstanceId::parse(target);
    if let Some(Ok(tag)) = target.strip_prefix("tag:").map(parse_key_value) {
        filters.push(tag);
    } else if id.is_none() && !target.is_empty() {
        filters.push(("Name".to_owned(), target.to_owned()));
    }
    let mut instances = Vec::new();
    let mut answered = Vec::new();
    let mut failed = Vec::new();
    for client in clients {
        let found = match (&id, scope.is_empty()) {
            // An id: ask about that one instance only, not the whole inventory.
            (Some(id), true) => client.instances_by_id(std::slice::from_ref(id)).await,
            _ => client.list_instances(&filters).await,
        };
        match found {
            Ok(found) => {
                // Each instance with the client that found it (its account's credentials).
                answered.extend(found.iter().map(|_| client));
                instances.extend(found);
            }
            Err(error) if clients.len() > 1 => failed.push((client.location(), error)),
            Err(error) => return Err(error.into()),
        }
    }
    let everything_failed = failed.len() == clients.len();
    let mut failed = failed.into_iter();
    if everything_failed && let Some((_, first)) = failed.next() {
        for (place, error) in failed {
            not_searched(&place, &error);
        }
        return Err(first.into());
    }
    for (place, error) in failed {
        not_searched(&place, &error);
    }
    let instance = resolve_target(&instances, target)?.clone();
    let client = instances
        .iter()
        .position(|i| i.id == instance.id && i.region == instance.region)
        .and_then(|at| answered.get(at).copied())
        .or_else(|| clients.iter().find(|c| c.region() == &*instance.region))
        .or_else(|| clients.first())
        .cloned()
        .ok_or_else(|| ConnectError::Unavailable("no AWS region to connect through".into()))?;
    Ok((client, instance))
}

/// Says why before starting anything when the instance cannot take a session (issue 5).
pub(super) fn check_reachable(instance: &Instance) -> Result<(), ConnectError> {
    let diagnosis = diagnose(instance, None, &AccessScope::default());
    if diagnosis.can_connect() {
        return Ok(());
    }
    Err(ConnectError::Unavailable(format!(
        "{}: {}",
        named(instance),
        diagnosis.line()
    )))
}

/// `ID (NAME)`, the name escaped for the terminal; the id alone when the instance has none.
fn named(instance: &Instance) -> String {
    let name = instance
        .name
        .as_deref()
        .map(|n| format!(" ({})", crate::text::escape_for_terminal(n)))
        .unwrap_or_default();
    format!("{}{name}", instance.id)
}

/// Refuses a port document the instance's SSM agent is too old for, before any session
/// starts: an agent older than the remote-host support would silently connect somewhere
/// else. An unknown or unparsable version is let through.
pub(super) fn check_agent_runs(
    instance: &Instance,
    destination: &crate::tunnel::Destination,
) -> Result<(), ConnectError> {
    let (minimum, older) = destination.minimum_agent();
    let Some(version) = instance.agent_version.as_deref() else {
        return Ok(());
    };
    if !crate::aws::diagnosis::version_older_than(version, minimum) {
        return Ok(());
    }
    Err(ConnectError::Unavailable(format!(
        "{}: its SSM agent {} is too old for {} (needs {minimum} or later; {older}). Update it with AWS-UpdateSSMAgent.",
        named(instance),
        crate::text::escape_for_terminal(version),
        destination.document(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_group_by_key() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let args = ConnectArgs {
            target: "web-1".into(),
            reason: Some("debug".into()),
            document: Some("AWS-StartInteractiveCommand".into()),
            parameters: vec![
                pair("command", "stty raw; cat"),
                pair("x", "1"),
                pair("x", "2"),
            ],
            aws: Default::default(),
            config: None,
            readonly: false,
        };
        let request = start_request(&args, &InstanceId::from_aws("i-0123456789abcdef0"));
        assert_eq!(request.parameters["command"], ["stty raw; cat"]);
        assert_eq!(request.parameters["x"], ["1", "2"]);
        assert_eq!(request.target, "i-0123456789abcdef0");
    }
}
