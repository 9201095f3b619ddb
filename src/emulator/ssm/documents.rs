//! Session documents (protocol.md §8): which ones StartSession accepts, and GetDocument,
//! whose `SSM-SessionManagerRunShell` content carries the account's session preferences.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::requests::GetDocumentRequest;
use super::{Call, SsmError, epoch_seconds};
use crate::emulator::fleet::Fleet;
use crate::emulator::fleet::documents::SessionDocument as FleetDocument;
use crate::emulator::state::EmulatorState;

pub const RUN_SHELL: &str = "SSM-SessionManagerRunShell";
/// Port documents AWS has; the emulator's agent does not forward ports.
const PORT_DOCUMENTS: [&str; 3] = [
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
    "AWS-StartSSHSession",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SessionDocument<'a> {
    RunShell,
    /// AWS's command documents and the fleet file's own (`fleet/documents.rs`).
    Command(&'a FleetDocument),
}

impl<'a> SessionDocument<'a> {
    /// The documents a session may use; port forwarding is refused with a clear reason.
    pub fn for_start_session(name: &str, fleet: &'a Fleet) -> Result<Self, SsmError> {
        if name == RUN_SHELL {
            return Ok(Self::RunShell);
        }
        if let Some(document) = fleet.session_document(name) {
            return Ok(Self::Command(document));
        }
        if PORT_DOCUMENTS.contains(&name) {
            return Err(SsmError::new(
                "InvalidDocument",
                format!("{name}: port forwarding is not supported by the gangway emulator"),
            ));
        }
        Err(no_such_document(name))
    }

    /// Only the document's own parameters, and every one without a default.
    pub fn check_parameters(
        self,
        parameters: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), SsmError> {
        let declared = match self {
            Self::RunShell => BTreeMap::new(),
            Self::Command(document) => document.parameters(),
        };
        if let Some(unknown) = parameters.keys().find(|key| !declared.contains_key(*key)) {
            return Err(SsmError::new(
                "InvalidParameters",
                format!(
                    "Parameter {} is not defined by the document.",
                    printable(unknown)
                ),
            ));
        }
        for (name, required) in declared {
            let given = parameters
                .get(&name)
                .is_some_and(|values| values.iter().any(|v| !v.is_empty()));
            if required && !given {
                return Err(SsmError::new(
                    "InvalidParameters",
                    format!("The document requires the parameter {}.", printable(&name)),
                ));
            }
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

pub fn get_document(call: &Call<'_>, request: GetDocumentRequest) -> Result<Value, SsmError> {
    let content = match request.name.as_str() {
        RUN_SHELL => preferences_document(call.state),
        other => match call.state.fleet().session_document(other) {
            Some(document) => document.content.clone(),
            None => return Err(no_such_document(other)),
        },
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
