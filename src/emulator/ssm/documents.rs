//! Session documents (protocol.md §8): which ones StartSession accepts, and GetDocument,
//! whose `SSM-SessionManagerRunShell` content carries the account's session preferences.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, SsmError, epoch_seconds};
use crate::emulator::state::EmulatorState;

pub const RUN_SHELL: &str = "SSM-SessionManagerRunShell";
const INTERACTIVE: &str = "AWS-StartInteractiveCommand";
const NON_INTERACTIVE: &str = "AWS-StartNonInteractiveCommand";
/// Port documents AWS has; the emulator's agent does not forward ports.
const PORT_DOCUMENTS: [&str; 3] = [
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
    "AWS-StartSSHSession",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionDocument {
    RunShell,
    InteractiveCommand,
    NonInteractiveCommand,
}

impl SessionDocument {
    /// The documents a session may use; port forwarding is refused with a clear reason.
    pub fn for_start_session(name: &str) -> Result<Self, SsmError> {
        match name {
            RUN_SHELL => Ok(Self::RunShell),
            INTERACTIVE => Ok(Self::InteractiveCommand),
            NON_INTERACTIVE => Ok(Self::NonInteractiveCommand),
            port if PORT_DOCUMENTS.contains(&port) => Err(SsmError::new(
                "InvalidDocument",
                format!("{port}: port forwarding is not supported by the gangway emulator"),
            )),
            other => Err(no_such_document(other)),
        }
    }

    /// The command documents need their `command` parameter; the shell takes none.
    pub fn check_parameters(
        self,
        parameters: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), SsmError> {
        let allowed: &[&str] = match self {
            Self::RunShell => &[],
            Self::InteractiveCommand | Self::NonInteractiveCommand => &["command"],
        };
        if let Some(unknown) = parameters
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
        {
            return Err(SsmError::new(
                "InvalidParameters",
                format!(
                    "Parameter {} is not defined by the document.",
                    printable(unknown)
                ),
            ));
        }
        let has_command = parameters
            .get("command")
            .is_some_and(|values| values.iter().any(|v| !v.is_empty()));
        if !allowed.is_empty() && !has_command {
            return Err(SsmError::new(
                "InvalidParameters",
                "The document requires the parameter command.",
            ));
        }
        Ok(())
    }
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn no_such_document(name: &str) -> SsmError {
    SsmError::new(
        "InvalidDocument",
        format!("Document with name {} does not exist.", printable(name)),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDocumentRequest {
    name: String,
}

pub fn get_document(call: &Call<'_>, request: GetDocumentRequest) -> Result<Value, SsmError> {
    let content = match request.name.as_str() {
        RUN_SHELL => preferences_document(call.state),
        INTERACTIVE => command_document("InteractiveCommands"),
        NON_INTERACTIVE => command_document("NonInteractiveCommands"),
        other => return Err(no_such_document(other)),
    };
    Ok(json!({
        "Name": request.name,
        "CreatedDate": epoch_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600)),
        "DocumentVersion": "1",
        "Status": "Active",
        "Content": content.to_string(),
        "DocumentType": "Session",
        "DocumentFormat": "JSON",
    }))
}

/// Minutes as the preferences document states them; a seconds override (tests) rounds up.
pub(super) fn minutes(duration: Duration) -> u64 {
    duration.as_secs().div_ceil(60).max(1)
}

fn preferences_document(state: &EmulatorState) -> Value {
    let preferences = &state.fleet().preferences;
    json!({
        "schemaVersion": "1.0",
        "description": "Document to hold regional settings for Session Manager",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": preferences.s3_bucket_name,
            "s3KeyPrefix": preferences.s3_key_prefix,
            "s3EncryptionEnabled": true,
            "cloudWatchLogGroupName": preferences.cloudwatch_log_group_name,
            "cloudWatchEncryptionEnabled": true,
            "cloudWatchStreamingEnabled": false,
            "idleSessionTimeout": minutes(state.idle_timeout()).to_string(),
            "maxSessionDuration": state.max_duration().map(|max| minutes(max).to_string()).unwrap_or_default(),
            "kmsKeyId": preferences.kms_key_id,
            "runAsEnabled": preferences.run_as_enabled,
            "runAsDefaultUser": preferences.run_as_default_user,
            "shellProfile": { "windows": "", "linux": preferences.shell_profile_linux },
        },
    })
}

fn command_document(session_type: &str) -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "Document to run a single command in a session",
        "sessionType": session_type,
        "parameters": {
            "command": { "type": "String", "description": "The command to run." },
        },
        "properties": {
            "linux": { "commands": "{{ command }}", "runAsElevated": false },
        },
    })
}
