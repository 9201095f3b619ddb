//! `gangway setup`: creates the session document `gangway exec` runs through, in every region
//! asked for. Idempotent, and never destructive: a document of that name that is already there
//! is left as it is (same content: "already set up"; other content that exec can use: said so;
//! other content exec cannot use: an error, and the user decides what to do with it).

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::exit;
use crate::aws::documents::{Created, check_exec_document, exec_document_content};
use crate::aws::{AwsClient, AwsError};
use crate::cli::SetupArgs;
use crate::text::escape_for_terminal;

/// Why setup failed in a region; one line each.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("{}", .0.to_line())]
    Aws(AwsError),
    /// AWS refused an action: the IAM action is named, then AWS's own words.
    #[error("{what} needs the IAM permission {action}: {}", .error.to_line())]
    Denied {
        what: &'static str,
        action: &'static str,
        error: AwsError,
    },
    #[error(
        "the session document {name} in {region} differs from gangway's and cannot run `gangway exec`: {problem}; gangway does not replace it: delete it, or choose another name with --document"
    )]
    Unusable {
        name: String,
        region: String,
        problem: String,
    },
}

impl SetupError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Aws(error) | Self::Denied { error, .. } => exit::for_aws(error),
            Self::Unusable { .. } => exit::DOCUMENT_UNUSABLE,
        }
    }

    fn from_aws(what: &'static str, action: &'static str, error: AwsError) -> Self {
        match error {
            AwsError::AccessDenied(_) => Self::Denied {
                what,
                action,
                error,
            },
            other => Self::Aws(other),
        }
    }
}

/// Entry point of `gangway setup`.
pub fn run(args: &SetupArgs) -> ExitCode {
    let _log_guard = crate::logging::init_file_logging("setup").ok();
    let content = match serde_json::to_string_pretty(&exec_document_content()) {
        Ok(content) => content,
        Err(error) => {
            eprintln!("gangway: cannot write the document: {error}");
            return ExitCode::from(exit::OTHER);
        }
    };
    let name = escape_for_terminal(&args.document).into_owned();
    if args.dry_run {
        println!("Would create the session document {name} (DocumentType Session, JSON):");
        println!("{content}");
        println!("(dry run: nothing was created)");
        return ExitCode::from(exit::OK);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gangway: cannot start the async runtime: {error}");
            return ExitCode::from(exit::OTHER);
        }
    };
    let result = runtime.block_on(setup(args, &content));
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            tracing::warn!(%error, "setup failed");
            eprintln!("gangway: {error}");
            ExitCode::from(error.exit_status())
        }
    }
}

async fn setup(args: &SetupArgs, content: &str) -> Result<(), SetupError> {
    let clients = AwsClient::from_options(&args.aws.options())
        .await
        .map_err(SetupError::Aws)?;
    for client in &clients {
        setup_region(client, &args.document, content).await?;
    }
    Ok(())
}

async fn setup_region(client: &AwsClient, name: &str, content: &str) -> Result<(), SetupError> {
    let region = client.region();
    let shown = escape_for_terminal(name);
    let existing = client
        .document_content(name)
        .await
        .map_err(|e| SetupError::from_aws("reading the document", "ssm:GetDocument", e))?;
    if let Some(existing) = existing {
        return judge_existing(name, region, &existing, content);
    }
    println!("Creating the session document {shown} in {region} (DocumentType Session, JSON):");
    println!("{content}");
    let created = client
        .create_session_document(name, content)
        .await
        .map_err(|e| SetupError::from_aws("creating the document", "ssm:CreateDocument", e))?;
    match created {
        Created::Created => {
            println!("Created {shown} in {region}: `gangway exec` uses it.");
            Ok(())
        }
        // Another run made it between our two calls: judge what it made.
        Created::AlreadyExists => match client.document_content(name).await {
            Ok(Some(existing)) => judge_existing(name, region, &existing, content),
            Ok(None) => Err(SetupError::Aws(AwsError::BadResponse(format!(
                "CreateDocument said {shown} exists, GetDocument that it does not"
            )))),
            Err(e) => Err(SetupError::from_aws(
                "reading the document",
                "ssm:GetDocument",
                e,
            )),
        },
    }
}

/// A document of that name is there: fine if it is gangway's or if exec can use it.
fn judge_existing(name: &str, region: &str, existing: &str, ours: &str) -> Result<(), SetupError> {
    let shown = escape_for_terminal(name);
    let parsed = |text: &str| serde_json::from_str::<Value>(text).ok();
    if parsed(existing).is_some_and(|value| Some(value) == parsed(ours)) {
        println!("{shown} is already set up in {region}: nothing to do.");
        return Ok(());
    }
    match check_exec_document(existing) {
        Ok(_) => {
            println!(
                "{shown} already exists in {region} with other content that `gangway exec` can use; left unchanged."
            );
            Ok(())
        }
        Err(problem) => Err(SetupError::Unusable {
            name: shown.into_owned(),
            region: region.to_owned(),
            problem: problem.to_string(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_document_is_judged_never_replaced() {
        let ours = exec_document_content().to_string();
        let reformatted =
            serde_json::to_string_pretty(&exec_document_content()).unwrap_or_default();
        assert!(judge_existing("gangway-exec", "us-east-1", &reformatted, &ours).is_ok());
        let merged = ours.replace(
            "\"separateOutputStream\":true",
            "\"separateOutputStream\":false",
        );
        assert_ne!(merged, ours, "the replacement applied");
        let error = judge_existing("gangway-exec", "us-east-1", &merged, &ours).unwrap_err();
        assert_eq!(error.exit_status(), exit::DOCUMENT_UNUSABLE);
        assert!(
            error.to_string().contains("separateOutputStream"),
            "{error}"
        );
    }
}
