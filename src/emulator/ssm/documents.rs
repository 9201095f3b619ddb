//! Session documents (protocol.md §8): which ones StartSession accepts, GetDocument (whose
//! `SSM-SessionManagerRunShell` content carries the account's session preferences), and
//! CreateDocument for command session documents (what `gangway setup` calls).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha2::Digest;

use super::requests::{CreateDocumentRequest, GetDocumentRequest};
use super::{Call, SsmError, epoch_seconds};
use crate::emulator::authorize::{Ask, arn};
use crate::emulator::fleet::ACCOUNT_ID;
use crate::emulator::fleet::documents::COMMAND_SESSION_TYPES;
use crate::emulator::fleet::documents::SessionDocument as FleetDocument;
use crate::emulator::state::EmulatorState;

pub const RUN_SHELL: &str = "SSM-SessionManagerRunShell";
/// Port documents AWS has; the emulator's agent does not forward ports.
const PORT_DOCUMENTS: [&str; 3] = [
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
    "AWS-StartSSHSession",
];

#[derive(Debug, Clone, PartialEq)]
pub enum SessionDocument {
    RunShell,
    /// AWS's command documents, the fleet file's own (`fleet/documents.rs`) and those made
    /// with CreateDocument.
    Command(FleetDocument),
}

impl SessionDocument {
    /// The documents a session may use; port forwarding is refused with a clear reason.
    pub fn for_start_session(name: &str, state: &EmulatorState) -> Result<Self, SsmError> {
        if name == RUN_SHELL {
            return Ok(Self::RunShell);
        }
        if let Some(document) = state.session_document(name) {
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
    call.authorize(&Ask::new(
        "ssm:GetDocument",
        arn::document(&call.region, &printable(&request.name)),
    ))?;
    let content = match request.name.as_str() {
        RUN_SHELL => preferences_document(call.state),
        other => match call.state.session_document(other) {
            Some(document) => document.content,
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

/// CreateDocument for command session documents, for callers IAM allows `ssm:CreateDocument`
/// (the generated engineer policy has none: only administrators change documents). The
/// content must be JSON (AWS also takes YAML; the emulator says so instead of guessing) and
/// must pass the fleet file's checks for `[[documents]]`.
pub fn create_document(call: &Call<'_>, request: CreateDocumentRequest) -> Result<Value, SsmError> {
    let name = request.name;
    call.authorize(&Ask::new(
        "ssm:CreateDocument",
        arn::document(&call.region, &printable(&name)),
    ))?;
    // AWS keeps names starting aws, amazon or amzn (any case) for its own documents; the
    // emulator keeps SSM- as well, where its preferences document lives.
    let lowered = name.to_ascii_lowercase();
    let reserved = ["aws", "amazon", "amzn", "ssm-"]
        .iter()
        .any(|prefix| lowered.starts_with(prefix));
    let valid_name = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid_name {
        return Err(SsmError::validation(format!(
            "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{{3,128}}$",
            printable(&name)
        )));
    }
    if reserved {
        return Err(SsmError::validation(
            "Document names may not start with aws, amazon or amzn (nor SSM- here): those are AWS's.",
        ));
    }
    if request.document_type.as_deref() != Some("Session") {
        return Err(invalid_content(
            "the gangway emulator creates Session documents only (DocumentType Session)",
        ));
    }
    match request.document_format.as_deref() {
        None | Some("JSON") => {}
        Some(other) => {
            return Err(invalid_content(&format!(
                "the gangway emulator reads JSON content only, not {}",
                printable(other)
            )));
        }
    }
    let content: Value = serde_json::from_str(&request.content)
        .map_err(|err| invalid_content(&format!("the content is not valid JSON: {err}")))?;
    check_session_content(&content)?;
    let document = FleetDocument {
        name: name.clone(),
        content: content.clone(),
    };
    if !call.state.add_document(document) {
        return Err(SsmError::new(
            "DocumentAlreadyExists",
            format!(
                "Document with same name {} already exists",
                printable(&name)
            ),
        ));
    }
    tracing::info!(
        "document {} created by {}",
        printable(&name),
        call.caller.name
    );
    let hash = hex::encode(sha2::Sha256::digest(request.content.as_bytes()));
    Ok(json!({
        "DocumentDescription": {
            "Name": name,
            "Owner": ACCOUNT_ID,
            "Hash": hash,
            "HashType": "Sha256",
            "CreatedDate": epoch_seconds(SystemTime::now()),
            "Status": "Active",
            "DocumentVersion": "1",
            "LatestVersion": "1",
            "DefaultVersion": "1",
            "DocumentType": "Session",
            "DocumentFormat": "JSON",
            "SchemaVersion": content["schemaVersion"],
            "Description": content["description"],
        }
    }))
}

fn invalid_content(message: &str) -> SsmError {
    SsmError::new("InvalidDocumentContent", message)
}

/// What the agent will need to run the document: a command session type (the emulator's
/// agent runs no port sessions) and `properties.linux`, the same rules as a fleet file's
/// `[[documents]]`.
fn check_session_content(content: &Value) -> Result<(), SsmError> {
    if content["schemaVersion"] != "1.0" {
        return Err(SsmError::new(
            "InvalidDocumentSchemaVersion",
            "Session documents have schemaVersion 1.0",
        ));
    }
    let session_type = content["sessionType"].as_str().unwrap_or_default();
    if !COMMAND_SESSION_TYPES.contains(&session_type) {
        return Err(invalid_content(
            "sessionType must be InteractiveCommands or NonInteractiveCommands (the gangway emulator runs no port sessions)",
        ));
    }
    if !content["properties"]["linux"].is_object() {
        return Err(invalid_content(
            "properties need a `linux` object (commands, separateOutputStream, …)",
        ));
    }
    if !content["parameters"].is_null() && !content["parameters"].is_object() {
        return Err(invalid_content("parameters must be an object"));
    }
    Ok(())
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
