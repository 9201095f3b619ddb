//! The SSM request bodies the emulator accepts and how a body becomes one. Only serde here,
//! nothing else of the emulator, so that the fuzz crate compiles this file as it is
//! (fuzz/src/lib.rs, target `http_requests`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a body is not a request, in the two kinds AWS tells apart (ssm/mod.rs words them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON, or JSON that is not an object: `SerializationException`.
    Serialization(String),
    /// An object of the wrong shape: `ValidationException`.
    Validation(String),
}

/// An empty body means `{}` (the SDK sends that for operations without input); anything
/// that is not a JSON object is a serialization error, a wrong shape a validation error.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|err| {
            BodyError::Serialization(format!("the request body is not valid JSON: {err}"))
        })?
    };
    if !value.is_object() {
        return Err(BodyError::Serialization(
            "the request body must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value)
        .map_err(|err| BodyError::Validation(format!("1 validation error detected: {err}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceInformationRequest {
    #[serde(default)]
    pub instance_information_filter_list: Vec<InformationFilter>,
    #[serde(default)]
    pub filters: Vec<StringFilter>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// The older filter shape: `{"key": "PingStatus", "valueSet": ["Online"]}`.
#[derive(Deserialize)]
pub struct InformationFilter {
    pub key: String,
    #[serde(rename = "valueSet")]
    pub value_set: Vec<String>,
}

/// The newer one: `{"Key": "tag:Env", "Values": ["dev"]}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StringFilter {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetConnectionStatusRequest {
    pub target: String,
}

/// `{"ResourceType": "ManagedInstance", "ResourceId": "mi-…"}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceRequest {
    pub resource_type: String,
    pub resource_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartSessionRequest {
    pub target: String,
    pub document_name: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Vec<String>>,
    pub reason: Option<String>,
}

/// ResumeSession and TerminateSession.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionIdRequest {
    pub session_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSessionsRequest {
    pub state: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    #[serde(default)]
    pub filters: Vec<SessionFilter>,
}

/// `{"key": "Target", "value": "i-…"}`: lower-case names and one value, as SSM spells them.
#[derive(Deserialize)]
pub struct SessionFilter {
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDocumentRequest {
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDocumentRequest {
    pub name: String,
    pub content: String,
    pub document_type: Option<String>,
    pub document_format: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDocumentRequest {
    pub name: String,
    pub document_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDocumentsRequest {
    #[serde(default)]
    pub filters: Vec<StringFilter>,
    #[serde(default)]
    pub document_filter_list: Vec<DocumentFilter>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// The older filter shape: `{"key": "DocumentType", "value": "Session"}`.
#[derive(Deserialize)]
pub struct DocumentFilter {
    pub key: String,
    pub value: String,
}
