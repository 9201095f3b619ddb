//! KMS over AWS JSON 1.1: `POST /` with `X-Amz-Target: TrentService.<Operation>`, enough for
//! KMS-encrypted sessions (protocol.md §4.6): GenerateDataKey, Decrypt, DescribeKey, and
//! CreateKey/CreateAlias/ListAliases to set keys up. Keys come from the fleet file's
//! `[[kms_keys]]`; only the users a key lists may use it (its "key policy").

mod error;
pub mod keys;

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use error::KmsError;
pub use keys::{KeyStore, StoredKey};

use super::api::ApiRequest;
use super::authorize::{self, Ask};
use super::fleet::User;
use super::identity;
use super::json11;
use super::router::ResponseBody;
use super::ssm::epoch_seconds;
use super::state::EmulatorState;

/// The X-Amz-Target prefix of every KMS operation.
pub const TARGET_PREFIX: &str = "TrentService.";

pub fn handle(
    state: &EmulatorState,
    target: &str,
    request: &ApiRequest<'_>,
) -> Response<ResponseBody> {
    let operation = json11::operation(target, TARGET_PREFIX);
    let caller = json11::authenticate(state, request)
        .map_err(|refusal| KmsError::new(refusal.code, refusal.message));
    let result = caller.as_ref().map_err(Clone::clone).and_then(|caller| {
        let body = request
            .body
            .as_ref()
            .map_err(|err| KmsError::new("SerializationException", err.clone()))?;
        let caller = Caller {
            user: caller,
            state,
            region: identity::signing_region(&request.parts.headers),
        };
        dispatch(state, &caller, &operation, body)
    });
    let user = caller.as_ref().map_or("-", |user| user.name.as_str());
    match &result {
        Ok(_) => tracing::info!("kms {operation} user={user} ok"),
        Err(err) => tracing::info!("kms {operation} user={user} error={}", err.code),
    }
    match result {
        Ok(body) => json11::respond(StatusCode::OK, &body),
        Err(err) => json11::respond(err.status, &err.to_json()),
    }
}

/// The calling user with what IAM needs to decide for them; reads as the `User`.
struct Caller<'a> {
    user: &'a User,
    state: &'a EmulatorState,
    region: String,
}

impl std::ops::Deref for Caller<'_> {
    type Target = User;
    fn deref(&self) -> &User {
        self.user
    }
}

impl Caller<'_> {
    /// The identity policies' decision. `key_policy_decides`: the key's own policy (its user
    /// list, checked by the caller) decides, and identity policies can only deny explicitly
    /// (the emulator's key policies have no statement that delegates to IAM).
    fn authorize(
        &self,
        action: &str,
        resource: &str,
        key_policy_decides: bool,
    ) -> Result<(), KmsError> {
        let ask = Ask::new(action, resource);
        match authorize::check(self.state, self.user, &self.region, &ask) {
            Ok(_) => Ok(()),
            Err(denial) if denial.explicit || !key_policy_decides => {
                Err(KmsError::new("AccessDeniedException", denial.message))
            }
            Err(_) => Ok(()),
        }
    }
}

fn dispatch(
    state: &EmulatorState,
    caller: &Caller<'_>,
    operation: &str,
    body: &[u8],
) -> Result<Value, KmsError> {
    let keys = &state.kms;
    match operation {
        "GenerateDataKey" => generate_data_key(keys, caller, parse(body)?),
        "Decrypt" => decrypt(keys, caller, parse(body)?),
        "DescribeKey" => describe_key(keys, caller, parse(body)?),
        "CreateKey" => create_key(keys, caller, parse(body)?),
        "CreateAlias" => create_alias(keys, caller, parse(body)?),
        "ListAliases" => list_aliases(keys, caller, parse(body)?),
        _ => Err(KmsError::new(
            "UnknownOperationException",
            format!("Unknown operation {operation}"),
        )),
    }
}

/// The key, if `caller` may perform `action` on it and it is enabled (a key policy that
/// lists users, KMS's DisabledException).
fn usable(
    keys: &KeyStore,
    caller: &Caller<'_>,
    key_id: &str,
    action: &str,
) -> Result<StoredKey, KmsError> {
    let key = keys.find(key_id)?;
    // The key policy (its users) grants; an identity policy can still deny explicitly.
    caller.authorize(&format!("kms:{action}"), &key.arn(), true)?;
    if !key.users.contains(&caller.name) {
        return Err(KmsError::access_denied(&caller.arn(), action, &key.arn()));
    }
    if !key.enabled && action != "DescribeKey" {
        return Err(KmsError::disabled(&key.arn()));
    }
    Ok(key)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateDataKeyRequest {
    key_id: String,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
}

fn generate_data_key(
    keys: &KeyStore,
    caller: &Caller<'_>,
    request: GenerateDataKeyRequest,
) -> Result<Value, KmsError> {
    let bytes = match (request.number_of_bytes, request.key_spec.as_deref()) {
        (Some(n), None) if (1..=1024).contains(&n) => usize::try_from(n).unwrap_or(0),
        (Some(n), None) => {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024"
            )));
        }
        (None, Some("AES_256")) => 32,
        (None, Some("AES_128")) => 16,
        (None, Some(_)) => {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
            ));
        }
        (None, None) => {
            return Err(KmsError::validation(
                "Please specify either number of bytes or key spec.",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(KmsError::validation(
                "Please specify either number of bytes or key spec, not both.",
            ));
        }
    };
    let key = usable(keys, caller, &request.key_id, "GenerateDataKey")?;
    let (blob, plaintext) = keys.generate(&key, bytes, &request.encryption_context);
    Ok(json!({
        "CiphertextBlob": STANDARD.encode(blob),
        "Plaintext": STANDARD.encode(plaintext),
        "KeyId": key.arn(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptRequest {
    ciphertext_blob: String,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    key_id: Option<String>,
}

fn decrypt(
    keys: &KeyStore,
    caller: &Caller<'_>,
    request: DecryptRequest,
) -> Result<Value, KmsError> {
    let blob = STANDARD
        .decode(&request.ciphertext_blob)
        .map_err(|_| KmsError::new("SerializationException", "CiphertextBlob is not base64"))?;
    let (key, plaintext) = decrypt_blob(
        keys,
        &blob,
        &request.encryption_context,
        request.key_id.as_deref(),
    )?;
    usable(keys, caller, &key.id, "Decrypt")?;
    Ok(json!({
        "KeyId": key.arn(),
        "Plaintext": STANDARD.encode(plaintext),
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }))
}

/// Decrypt without a caller: what the emulator's agent does with its instance role
/// (protocol.md §4.6 step 3). `key_id`, when given, must name the blob's key.
pub fn decrypt_blob(
    keys: &KeyStore,
    blob: &[u8],
    context: &BTreeMap<String, String>,
    key_id: Option<&str>,
) -> Result<(StoredKey, Vec<u8>), KmsError> {
    let (key, plaintext) = keys.decrypt(blob, context)?;
    if let Some(key_id) = key_id
        && keys.find(key_id)?.id != key.id
    {
        return Err(KmsError::new(
            "IncorrectKeyException",
            "The key ID in the request does not identify a CMK that can perform this operation.",
        ));
    }
    if !key.enabled {
        return Err(KmsError::disabled(&key.arn()));
    }
    Ok((key, plaintext))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyIdRequest {
    key_id: String,
}

fn describe_key(
    keys: &KeyStore,
    caller: &Caller<'_>,
    request: KeyIdRequest,
) -> Result<Value, KmsError> {
    let key = usable(keys, caller, &request.key_id, "DescribeKey")?;
    Ok(json!({ "KeyMetadata": metadata(&key) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKeyRequest {
    #[serde(default)]
    description: String,
}

fn create_key(
    keys: &KeyStore,
    caller: &Caller<'_>,
    request: CreateKeyRequest,
) -> Result<Value, KmsError> {
    caller.authorize("kms:CreateKey", "*", false)?;
    let key = keys.create(request.description, &caller.name, now());
    Ok(json!({ "KeyMetadata": metadata(&key) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateAliasRequest {
    alias_name: String,
    target_key_id: String,
}

fn create_alias(
    keys: &KeyStore,
    caller: &Caller<'_>,
    request: CreateAliasRequest,
) -> Result<Value, KmsError> {
    let name = &request.alias_name;
    let valid = name.strip_prefix("alias/").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 250
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
    });
    if !valid {
        return Err(KmsError::validation(
            "1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::new(
            "NotAuthorizedException",
            "Cannot create alias with prefix 'alias/aws/'",
        ));
    }
    caller.authorize("kms:CreateAlias", &keys::alias_arn(name), false)?;
    usable(keys, caller, &request.target_key_id, "CreateAlias")?;
    keys.add_alias(name, &request.target_key_id)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAliasesRequest {
    key_id: Option<String>,
}

fn list_aliases(
    keys: &KeyStore,
    caller: &Caller<'_>,
    request: ListAliasesRequest,
) -> Result<Value, KmsError> {
    caller.authorize("kms:ListAliases", "*", false)?;
    let only = match &request.key_id {
        Some(key_id) => Some(keys.find(key_id)?.id),
        None => None,
    };
    let aliases: Vec<Value> = keys
        .aliases()
        .into_iter()
        .filter(|(_, id)| only.as_ref().is_none_or(|only| only == id))
        .map(|(alias, id)| {
            json!({
                "AliasName": alias,
                "AliasArn": keys::alias_arn(&alias),
                "TargetKeyId": id,
            })
        })
        .collect();
    Ok(json!({ "Aliases": aliases, "Truncated": false }))
}

fn metadata(key: &StoredKey) -> Value {
    json!({
        "AWSAccountId": super::fleet::ACCOUNT_ID,
        "KeyId": key.id,
        "Arn": key.arn(),
        "CreationDate": key.created_epoch_seconds,
        "Enabled": key.enabled,
        "Description": key.description,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": if key.enabled { "Enabled" } else { "Disabled" },
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "MultiRegion": false,
    })
}

pub fn now() -> f64 {
    epoch_seconds(SystemTime::now())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|err| {
            KmsError::new(
                "SerializationException",
                format!("the request body is not valid JSON: {err}"),
            )
        })?
    };
    serde_json::from_value(value)
        .map_err(|err| KmsError::validation(format!("1 validation error detected: {err}")))
}
