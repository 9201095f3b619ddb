//! `gangway exec TARGET -- COMMAND...`: one command through a NonInteractiveCommands session
//! document with separateOutputStream, so that stdout, stderr and the exit status come back
//! apart (PT 1, PT 11, PT 12; protocol.md §6.2.1). No other session type carries stderr or an
//! exit status on AWS, which is why exec needs such a document (`gangway setup` makes one)
//! instead of opening a shell.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::connect::{ConnectError, check_reachable, find_target, target_clients};
use super::exit;
use crate::aws::documents::{COMMAND_PARAMETER, DocumentProblem, check_exec_document};
use crate::aws::{AwsClient, AwsError, StartSessionRequest};
use crate::cli::ExecArgs;
use crate::shell::{PumpMode, SessionRecords, ShellEnd, ShellError, ShellOutcome};
use crate::text::escape_for_terminal;

/// Why `exec` stopped before or while running the command; one line each.
#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(
        "the session document {name} does not exist in {region}: run `gangway setup` once to create it (or pass --document)"
    )]
    NoDocument { name: String, region: String },
    #[error(
        "the session document {name} cannot run `gangway exec`: {problem} (`gangway setup --document NAME` creates one that can)"
    )]
    Unusable {
        name: String,
        problem: DocumentProblem,
    },
    #[error(transparent)]
    Shell(#[from] ShellError),
}

impl From<AwsError> for ExecError {
    fn from(error: AwsError) -> Self {
        Self::Connect(ConnectError::Aws(error))
    }
}

impl ExecError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Connect(error) => error.exit_status(),
            Self::NoDocument { .. } | Self::Unusable { .. } => exit::DOCUMENT_UNUSABLE,
            Self::Shell(error) => exit::for_shell_error(error),
        }
    }
}

/// Entry point of `gangway exec`.
pub fn run(args: ExecArgs) -> ExitCode {
    let args = &args;
    super::run_session(
        "exec",
        || super::settings::session_settings(args.config.as_deref(), &args.aws.tags),
        async |(scope, records)| exec(args, &scope, &records).await,
        |result| match result {
            Ok(outcome) => {
                let status = exit::for_command_outcome(&outcome);
                report(&outcome);
                ExitCode::from(status)
            }
            Err(error) => super::failed("exec", &error, error.exit_status()),
        },
    )
}

/// Says on stderr why there is no remote status; silent when the command's own came back,
/// so stderr holds only what the command wrote.
fn report(outcome: &ShellOutcome) {
    if outcome.remote_exit_code.is_some()
        && matches!(outcome.end, ShellEnd::Exited | ShellEnd::Terminated { .. })
    {
        return;
    }
    match outcome.end {
        // Whoever read our stdout has gone: nobody is waiting for a word (`| head -1`).
        ShellEnd::OutputClosed => {}
        ShellEnd::Exited => eprintln!(
            "gangway: session {} ended without the command's exit status",
            escape_for_terminal(&outcome.session_id)
        ),
        _ => eprintln!("gangway: {}", outcome.message()),
    }
}

async fn exec(
    args: &ExecArgs,
    scope: &[(String, String)],
    records: &SessionRecords,
) -> Result<ShellOutcome, ExecError> {
    let clients = target_clients(&args.aws.options()).await?;
    let (client, instance) = find_target(&clients, &args.target, scope).await?;
    check_reachable(&instance)?;
    let separate_parameter = document_use(&client, &args.document).await?;
    let mut parameters = BTreeMap::from([(
        COMMAND_PARAMETER.to_owned(),
        vec![quote_for_agent(&args.command)],
    )]);
    if let Some(name) = separate_parameter {
        parameters.insert(name, vec!["true".to_owned()]);
    }
    let request = StartSessionRequest {
        target: instance.id.to_string(),
        document_name: Some(args.document.clone()),
        parameters,
        reason: args.reason.clone(),
    };
    Ok(crate::shell::run(&client, &request, PumpMode::Command, records).await?)
}

/// Reads the document and checks it before starting anything, so a missing or unfit one gets
/// a clear error instead of a session that merges stderr and never says how it ended. Returns
/// the parameter that switches separateOutputStream on, if the document has one. A caller
/// without `ssm:GetDocument` runs unchecked: StartSession is what matters.
async fn document_use(client: &AwsClient, name: &str) -> Result<Option<String>, ExecError> {
    let content = match client.document_content(name).await {
        Ok(Some(content)) => content,
        Ok(None) => {
            return Err(ExecError::NoDocument {
                name: escape_for_terminal(name).into_owned(),
                region: client.region().to_owned(),
            });
        }
        Err(AwsError::AccessDenied(message)) => {
            tracing::warn!(%message, "GetDocument denied; running the document unchecked");
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    check_exec_document(&content)
        .map(|document| document.separate_parameter)
        .map_err(|problem| ExecError::Unusable {
            name: escape_for_terminal(name).into_owned(),
            problem,
        })
}

/// One command line that the agent's splitter (google/shlex, §6.2.1) turns back into exactly
/// `argv`: a word of plain characters goes as it is, any other in single quotes, where
/// everything is literal; a `'` closes the quote, goes escaped (`\'`) and the quote reopens.
/// An empty word is `''`. The document's `{{ command }}` template is filled with this text.
pub fn quote_for_agent(argv: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%^".contains(c);
    argv.iter()
        .map(|word| {
            if !word.is_empty() && word.chars().all(plain) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(argv: &[&str]) -> String {
        quote_for_agent(&argv.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn plain_words_stay_plain_and_the_rest_is_single_quoted() {
        assert_eq!(words(&["ls", "-l", "/tmp"]), "ls -l /tmp");
        assert_eq!(
            words(&["sh", "-c", "echo $HOME; exit 3"]),
            "sh -c 'echo $HOME; exit 3'"
        );
        assert_eq!(words(&["printf", "", "#x"]), "printf '' '#x'");
        assert_eq!(words(&["it's", "\"q\""]), r#"'it'\''s' '"q"'"#);
        assert_eq!(words(&["a\nb", "back\\slash"]), "'a\nb' 'back\\slash'");
    }
}
