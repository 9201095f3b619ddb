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
use crate::emulator::fleet::Place;
use crate::emulator::fleet::documents::SessionDocument as FleetDocument;
use crate::emulator::fleet::documents::check_custom_document;
use crate::emulator::state::EmulatorState;

pub const RUN_SHELL: &str = "SSM-SessionManagerRunShell";

#[derive(Debug, Clone, PartialEq)]
pub enum SessionDocument {
    RunShell,
    /// AWS's command and port documents, the fleet file's own (`fleet/documents.rs`) and
    /// those made with CreateDocument.
    Command(FleetDocument),
}

impl SessionDocument {
    /// The documents a session may use: the preferences, or any session document.
    pub fn for_start_session(
        name: &str,
        state: &EmulatorState,
        place: Place<'_>,
    ) -> Result<Self, SsmError> {
        if name == RUN_SHELL {
            return Ok(Self::RunShell);
        }
        match state.session_document(name, place) {
            Some(document) => Ok(Self::Command(document)),
            None => Err(no_such_document(name)),
        }
    }

    /// Only the document's own parameters, every one without a default, and each value
    /// within the parameter's `allowedPattern` and `allowedValues`.
    pub fn check_parameters(
        self,
        parameters: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), SsmError> {
        let (declared, specs) = match self {
            Self::RunShell => (BTreeMap::new(), Value::Null),
            Self::Command(document) => (
                document.parameters(),
                document.content["parameters"].clone(),
            ),
        };
        for (name, values) in parameters {
            for value in values {
                check_constraints(name, value, &specs[name.as_str()])?;
            }
        }
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

/// A value against its parameter's `allowedValues` and `allowedPattern` (AWS's SSM parameter
/// constraints). The error wording is the emulator's own: AWS's exact text for StartSession
/// is not known here.
fn check_constraints(name: &str, value: &str, spec: &Value) -> Result<(), SsmError> {
    let rejected = |constraint: String| {
        SsmError::new(
            "InvalidParameters",
            format!(
                "Parameter {} value {:?} failed to satisfy constraint: {constraint}",
                printable(name),
                printable(value)
            ),
        )
    };
    if let Some(allowed) = spec["allowedValues"].as_array()
        && !allowed.iter().any(|v| v.as_str() == Some(value))
    {
        return Err(rejected(format!(
            "Member must be one of {}",
            spec["allowedValues"]
        )));
    }
    if let Some(pattern) = spec["allowedPattern"].as_str() {
        // A pattern the document's author got wrong is their error, not the caller's.
        let regex = regex_lite::Regex::new(pattern).map_err(|_| {
            SsmError::new(
                "InvalidDocumentContent",
                format!(
                    "The allowedPattern of parameter {} is not a valid regular expression.",
                    printable(name)
                ),
            )
        })?;
        if !regex.is_match(value) {
            return Err(rejected(format!(
                "Member must satisfy regular expression pattern: {pattern}"
            )));
        }
    }
    Ok(())
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

pub(super) fn no_such_document(name: &str) -> SsmError {
    SsmError::new(
        "InvalidDocument",
        format!("Document with name {} does not exist.", printable(name)),
    )
}

pub fn get_document(call: &Call<'_>, request: GetDocumentRequest) -> Result<Value, SsmError> {
    call.authorize(&Ask::new(
        "ssm:GetDocument",
        arn::document(
            &call.caller.account,
            &call.region,
            &printable(&request.name),
        ),
    ))?;
    let content = match request.name.as_str() {
        RUN_SHELL => preferences_document(call.state),
        other => match call.state.session_document(other, call.place()) {
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
        arn::document(&call.caller.account, &call.region, &printable(&name)),
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
    if !call.state.add_document(document, call.place()) {
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
            "Owner": call.caller.account,
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

/// What the agent will need to run the document: the same rules as a fleet file's
/// `[[documents]]` (`check_custom_document`).
fn check_session_content(content: &Value) -> Result<(), SsmError> {
    if content["schemaVersion"] != "1.0" {
        return Err(SsmError::new(
            "InvalidDocumentSchemaVersion",
            "Session documents have schemaVersion 1.0",
        ));
    }
    let session_type = content["sessionType"].as_str().unwrap_or_default();
    check_custom_document(session_type, &content["properties"]).map_err(invalid_content)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_held_to_allowed_values_and_patterns() {
        let spec = json!({ "allowedPattern": "^[0-9]{1,5}$", "allowedValues": ["80", "443"] });
        assert!(check_constraints("portNumber", "443", &spec).is_ok());
        let outside = check_constraints("portNumber", "22", &spec).unwrap_err();
        assert_eq!(outside.code, "InvalidParameters");
        let pattern = json!({ "allowedPattern": "^[0-9]{1,5}$" });
        assert!(check_constraints("portNumber", "8080", &pattern).is_ok());
        let bad = check_constraints("portNumber", "80; rm", &pattern).unwrap_err();
        assert!(
            bad.message.contains("regular expression"),
            "{}",
            bad.message
        );
        let broken = json!({ "allowedPattern": "(" });
        assert_eq!(
            check_constraints("x", "1", &broken).unwrap_err().code,
            "InvalidDocumentContent"
        );
        assert!(check_constraints("free", "anything", &Value::Null).is_ok());
    }
}
