//! DescribeDocument and ListDocuments for session documents: AWS's own (command and port
//! documents, owner `Amazon`), the fleet file's and CreateDocument's (owner: the account),
//! and the preferences document SSM-SessionManagerRunShell. The emulator knows no Command
//! or Automation documents, so these are all it lists.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha2::Digest;

use super::documents::RUN_SHELL;
use super::requests::{DescribeDocumentRequest, ListDocumentsRequest};
use super::{Call, SsmError, epoch_seconds};
use crate::emulator::fleet::documents::SessionDocument;
use crate::emulator::pagination;

/// The owner of AWS's own documents.
const AMAZON: &str = "Amazon";

/// ListDocuments' MaxResults range (1-50, AWS's).
const MAX_RESULTS: usize = 50;

/// One document as these operations describe it.
struct Described {
    name: String,
    /// `Amazon` for AWS's own, else the account (the caller's: it sees only its own).
    owner: String,
    content: Value,
}

impl Described {
    fn from_document(document: SessionDocument, account: &str) -> Self {
        let owner = if document.name.starts_with("AWS-") {
            AMAZON
        } else {
            account
        };
        Self {
            name: document.name,
            owner: owner.to_owned(),
            content: document.content,
        }
    }

    fn session_type(&self) -> &str {
        self.content["sessionType"].as_str().unwrap_or_default()
    }

    /// `Parameters` as DescribeDocument lists them: name, type, description, default.
    fn parameters(&self) -> Vec<Value> {
        let Some(parameters) = self.content["parameters"].as_object() else {
            return Vec::new();
        };
        parameters
            .iter()
            .map(|(name, spec)| {
                let mut parameter = json!({
                    "Name": name,
                    "Type": spec["type"].as_str().unwrap_or("String"),
                    "Description": spec["description"].as_str().unwrap_or_default(),
                });
                if let Some(default) = spec.get("default") {
                    let text = default
                        .as_str()
                        .map_or_else(|| default.to_string(), str::to_owned);
                    parameter["DefaultValue"] = Value::String(text);
                }
                parameter
            })
            .collect()
    }

    fn identifier(&self) -> Value {
        json!({
            "Name": self.name,
            "Owner": self.owner,
            "CreatedDate": created_date(),
            "PlatformTypes": ["Windows", "Linux", "MacOS"],
            "DocumentVersion": "1",
            "DocumentType": "Session",
            "SchemaVersion": "1.0",
            "DocumentFormat": "JSON",
            "Tags": [],
        })
    }
}

fn created_date() -> f64 {
    epoch_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600))
}

/// Every session document the caller's account and region see, sorted by name, the
/// preferences document included.
fn all_documents(call: &Call<'_>) -> Vec<Described> {
    let account = call.caller.account.as_str();
    let mut documents: Vec<Described> = call
        .state
        .session_documents(call.place())
        .into_iter()
        .map(|document| Described::from_document(document, account))
        .collect();
    documents.push(Described {
        name: RUN_SHELL.to_owned(),
        owner: account.to_owned(),
        content: json!({ "schemaVersion": "1.0", "sessionType": "Standard_Stream" }),
    });
    documents.sort_by(|a, b| a.name.cmp(&b.name));
    documents
}

pub fn describe_document(
    call: &Call<'_>,
    request: DescribeDocumentRequest,
) -> Result<Value, SsmError> {
    if request
        .document_version
        .as_deref()
        .is_some_and(|version| version != "1" && version != "$LATEST" && version != "$DEFAULT")
    {
        return Err(SsmError::new(
            "InvalidDocumentVersion",
            "The document version is not valid or does not exist.",
        ));
    }
    let document = all_documents(call)
        .into_iter()
        .find(|document| document.name == request.name)
        .ok_or_else(|| super::documents::no_such_document(&request.name))?;
    let hash = hex::encode(sha2::Sha256::digest(
        document.content.to_string().as_bytes(),
    ));
    let mut description = document.identifier();
    description["Hash"] = json!(hash);
    description["HashType"] = json!("Sha256");
    description["Status"] = json!("Active");
    description["LatestVersion"] = json!("1");
    description["DefaultVersion"] = json!("1");
    description["Description"] = document.content["description"].clone();
    description["Parameters"] = Value::Array(document.parameters());
    Ok(json!({ "Document": description }))
}

/// Filters: `Filters` keys DocumentType, Owner (Amazon, Self, Private, All) and Name
/// (prefix), and the older `DocumentFilterList` keys Name, Owner, DocumentType (exact).
pub fn list_documents(call: &Call<'_>, request: ListDocumentsRequest) -> Result<Value, SsmError> {
    let max = match request.max_results {
        None => MAX_RESULTS,
        Some(n) if (1..=MAX_RESULTS as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(SsmError::validation(format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {MAX_RESULTS}"
            )));
        }
    };
    let start = match &request.next_token {
        Some(token) => pagination::decode(token).ok_or_else(|| {
            SsmError::new("InvalidNextToken", "The specified token is not valid.")
        })?,
        None => 0,
    };
    let mut documents = all_documents(call);
    for filter in &request.filters {
        let keep: Box<dyn Fn(&Described) -> bool> = match filter.key.as_str() {
            "DocumentType" => Box::new(|d: &Described| {
                filter.values.iter().any(|v| v == "Session") && !d.session_type().is_empty()
            }),
            "Owner" => Box::new(|d: &Described| {
                filter.values.iter().any(|v| match v.as_str() {
                    "All" => true,
                    "Amazon" | "Public" => d.owner == AMAZON,
                    "Self" | "Private" => d.owner != AMAZON,
                    other => other == d.owner,
                })
            }),
            "Name" => Box::new(|d: &Described| {
                filter.values.iter().any(|v| d.name.starts_with(v.as_str()))
            }),
            other => {
                return Err(SsmError::new(
                    "InvalidFilterKey",
                    format!(
                        "The gangway emulator filters documents by DocumentType, Owner and Name, not {}.",
                        other
                            .chars()
                            .filter(|c| !c.is_control())
                            .take(64)
                            .collect::<String>()
                    ),
                ));
            }
        };
        documents.retain(|d| keep(d));
    }
    for filter in &request.document_filter_list {
        let value = filter.value.as_str();
        match filter.key.as_str() {
            "Name" => documents.retain(|d| d.name == value),
            "Owner" => documents.retain(|d| d.owner == value),
            "DocumentType" => documents.retain(|_| value == "Session"),
            _ => {
                return Err(SsmError::new(
                    "InvalidFilterKey",
                    "DocumentFilterList keys are Name, Owner, PlatformTypes and DocumentType.",
                ));
            }
        }
    }
    let (page, next) = pagination::page(&documents, start, max);
    let mut body = json!({
        "DocumentIdentifiers": page.iter().map(Described::identifier).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        body["NextToken"] = json!(next);
    }
    Ok(body)
}
