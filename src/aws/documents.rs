//! Session documents for `gangway exec` and `gangway setup`: the one gangway creates
//! (`gangway-exec`), reading a document back (GetDocument), creating it (CreateDocument), and
//! checking that a document can give `exec` what it promises: stderr apart and the remote exit
//! code. Both come only from a NonInteractiveCommands document whose `properties` set
//! `separateOutputStream` (protocol.md §6.2.1); any other session sends neither.

use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde_json::{Value, json};

use super::client::AwsClient;
use super::error::AwsError;

/// The document `gangway setup` creates and `gangway exec` uses unless told otherwise.
pub const EXEC_DOCUMENT: &str = "gangway-exec";

/// AWS's own InteractiveCommands document (`sh -c {{ command }}` on a pty, §6.2): present in
/// every account and region, so `gangway cp` needs no setup.
pub const INTERACTIVE_COMMAND_DOCUMENT: &str = "AWS-StartInteractiveCommand";

/// The parameter of an exec document that carries the command line.
pub const COMMAND_PARAMETER: &str = "command";

/// The content of the document `gangway setup` creates: NonInteractiveCommands (the agent
/// execs the split command, no shell, no pty, §6.2.1), `separateOutputStream` on so stderr
/// travels apart (PT 11) and the exit code comes last (PT 12). The separator prefixes are left
/// empty: the agent writes a prefix before chunks of output (per read, not per line), which
/// would change the bytes a script reads. Windows is not covered: there the agent hands the
/// words to PowerShell, and gangway quotes for the Linux splitter.
pub fn exec_document_content() -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "gangway exec: run one command, stdout and stderr apart, with its exit code",
        "sessionType": "NonInteractiveCommands",
        "parameters": {
            COMMAND_PARAMETER: {
                "type": "String",
                "description": "The command line, quoted for the agent's word splitter",
            },
        },
        "properties": {
            "linux": { "commands": "{{ command }}", "runAsElevated": false, "separateOutputStream": true },
            "macos": { "commands": "{{ command }}", "runAsElevated": false, "separateOutputStream": true },
        },
    })
}

/// How `exec` must call a document that passed [`check_exec_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecDocument {
    /// A parameter that feeds `separateOutputStream` (AWS-StartNonInteractiveCommand has
    /// one): `exec` passes `true` for it. `None` when the property is fixed to true.
    pub separate_parameter: Option<String>,
}

/// Why a document cannot serve `exec`, naming the property or parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentProblem {
    #[error("its sessionType is {0:?}, not NonInteractiveCommands")]
    SessionType(String),
    #[error("it declares no `command` parameter")]
    NoCommandParameter,
    #[error(
        "its properties.linux.separateOutputStream is {0}, not true: without it AWS merges stderr into stdout and sends no exit code"
    )]
    NotSeparate(String),
    #[error("its content is not JSON gangway can read: {0}")]
    Unreadable(String),
}

/// Checks a document's content (JSON, as GetDocument returns it with DocumentFormat JSON).
pub fn check_exec_document(content: &str) -> Result<ExecDocument, DocumentProblem> {
    let content: Value = serde_json::from_str(content)
        .map_err(|error| DocumentProblem::Unreadable(error.to_string()))?;
    let session_type = content["sessionType"].as_str().unwrap_or_default();
    if session_type != "NonInteractiveCommands" {
        return Err(DocumentProblem::SessionType(session_type.to_owned()));
    }
    let parameters = content["parameters"].as_object();
    if !parameters.is_some_and(|p| p.contains_key(COMMAND_PARAMETER)) {
        return Err(DocumentProblem::NoCommandParameter);
    }
    let separate = &content["properties"]["linux"]["separateOutputStream"];
    // The agent parses the property like Go's strconv.ParseBool (§6.2.1).
    let is_true = |text: &str| matches!(text, "1" | "t" | "T" | "true" | "TRUE" | "True");
    match separate {
        Value::Bool(true) => Ok(ExecDocument {
            separate_parameter: None,
        }),
        Value::String(text) if is_true(text) => Ok(ExecDocument {
            separate_parameter: None,
        }),
        Value::String(text) => match template_parameter(text) {
            Some(name) if parameters.is_some_and(|p| p.contains_key(name)) => Ok(ExecDocument {
                separate_parameter: Some(name.to_owned()),
            }),
            _ => Err(DocumentProblem::NotSeparate(format!("{text:?}"))),
        },
        Value::Null => Err(DocumentProblem::NotSeparate("missing".into())),
        other => Err(DocumentProblem::NotSeparate(other.to_string())),
    }
}

/// `{{ name }}` → `name`, when the text is exactly one parameter reference.
fn template_parameter(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!inner.is_empty()
        && inner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then_some(inner)
}

/// What CreateDocument did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// A document of that name was there already (perhaps made a moment ago by another run).
    AlreadyExists,
}

impl AwsClient {
    /// A document's content as JSON, or `None` when the account has no document of that name.
    pub async fn document_content(&self, name: &str) -> Result<Option<String>, AwsError> {
        let result = self
            .ssm
            .get_document()
            .name(name)
            .document_format(DocumentFormat::Json)
            .send()
            .await;
        match result.map_err(|e| self.errors.map(e)) {
            Ok(out) => Ok(Some(out.content.unwrap_or_default())),
            // SSM answers InvalidDocument for a name it does not have.
            Err(AwsError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// CreateDocument for a Session document with JSON content.
    pub async fn create_session_document(
        &self,
        name: &str,
        content: &str,
    ) -> Result<Created, AwsError> {
        let result = self
            .ssm
            .create_document()
            .name(name)
            .content(content)
            .document_type(DocumentType::Session)
            .document_format(DocumentFormat::Json)
            .send()
            .await;
        match result.map_err(|e| self.errors.map(e)) {
            Ok(_) => Ok(Created::Created),
            Err(AwsError::Service { code, .. }) if code == "DocumentAlreadyExists" => {
                Ok(Created::AlreadyExists)
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_linux(separate: Value, parameters: Value) -> String {
        json!({
            "schemaVersion": "1.0",
            "sessionType": "NonInteractiveCommands",
            "parameters": parameters,
            "properties": { "linux": { "commands": "{{ command }}", "separateOutputStream": separate } },
        })
        .to_string()
    }

    #[test]
    fn gangways_own_document_serves_exec() {
        let content = exec_document_content().to_string();
        assert_eq!(
            check_exec_document(&content),
            Ok(ExecDocument {
                separate_parameter: None
            })
        );
    }

    #[test]
    fn a_separate_output_parameter_is_passed_as_true() {
        let parameters = json!({ "command": {}, "separateOutputStream": { "default": "false" } });
        let content = with_linux(json!("{{ separateOutputStream }}"), parameters);
        assert_eq!(
            check_exec_document(&content).unwrap().separate_parameter,
            Some("separateOutputStream".into())
        );
    }

    #[test]
    fn each_problem_names_what_is_missing() {
        let command = json!({ "command": {} });
        let missing = check_exec_document(&with_linux(Value::Null, command.clone())).unwrap_err();
        assert!(missing.to_string().contains("separateOutputStream"));
        let off = check_exec_document(&with_linux(json!(false), command.clone())).unwrap_err();
        assert!(matches!(off, DocumentProblem::NotSeparate(_)));
        let undeclared = with_linux(json!("{{ other }}"), command);
        assert!(check_exec_document(&undeclared).is_err());
        let no_command = with_linux(json!(true), json!({}));
        assert_eq!(
            check_exec_document(&no_command),
            Err(DocumentProblem::NoCommandParameter)
        );
        let shell = json!({ "sessionType": "Standard_Stream" }).to_string();
        assert!(
            check_exec_document(&shell)
                .unwrap_err()
                .to_string()
                .contains("sessionType")
        );
    }
}
