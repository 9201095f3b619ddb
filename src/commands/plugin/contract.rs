//! The AWS CLI's contract with `session-manager-plugin`, read as the reference plugin reads
//! it (plugin: sessionmanagerplugin/session/session.go, func ValidateInputAndStartSession;
//! AWS CLI: awscli/customizations/sessionmanager.py, class StartSessionCaller, func invoke).
//!
//! The CLI calls StartSession itself, then runs
//! `session-manager-plugin RESPONSE REGION StartSession PROFILE PARAMETERS ENDPOINT`:
//!
//! 1. RESPONSE: `{"SessionId", "TokenValue", "StreamUrl"}` as JSON, or, when the plugin's
//!    `--version` is above 1.2.497.0, the NAME of an environment variable
//!    (`AWS_SSM_START_SESSION_RESPONSE`) that holds that JSON, so the token is not on the
//!    command line for `ps` to show. The plugin treats any first argument that starts with
//!    that name as a variable name.
//! 2. REGION of the CLI's SSM client; 3. the operation, which must be `StartSession`;
//! 4. PROFILE, empty when `--profile` was not given; 5. the StartSession parameters as JSON
//!    (`Target`, `DocumentName`, `Parameters`, `Reason`); 6. the SSM ENDPOINT URL the CLI
//!    used. The legacy form stops after the operation (4 words with the program name).
//!
//! Pure: the arguments and an environment lookup in, a [`PluginCall`] or a [`ContractError`]
//! out, so every shape has a unit test (`contract_tests.rs`). Secrets are wrapped at once.

use std::collections::BTreeMap;
use std::ffi::OsString;

use serde::Deserialize;

use crate::aws::StartSessionRequest;
use crate::transport::SecretString;

/// The environment variable the CLI hands the response in (sessionmanager.py,
/// `DEFAULT_SSM_ENV_NAME`).
pub const RESPONSE_ENV_VAR: &str = "AWS_SSM_START_SESSION_RESPONSE";
/// The CLI passes the response through the environment only to plugins whose `--version`
/// is above this (sessionmanager.py, `LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR`).
pub const LAST_VERSION_WITHOUT_ENV_VAR: &str = "1.2.497.0";
/// What `--version` prints. The CLI reads it for two things only (sessionmanager.py): above
/// [`LAST_VERSION_WITHOUT_ENV_VAR`] it passes the response in the environment, and below
/// its `RECOMMENDED_MINIMUM_PLUGIN_VERSION` (1.2.764.0 in awscli 1.46) it prints "An outdated
/// SessionManagerPlugin version detected" on every session. gangway speaks all the CLI asks
/// of that version, so it says so; the agent still gets the data channel's own
/// `ClientVersion` (`transport::CLIENT_VERSION`), which decides the wire modes.
pub const PLUGIN_VERSION: &str = "1.2.764.0";
/// The one operation the plugin runs (session.go, `StartSessionOperation`).
pub const START_SESSION: &str = "StartSession";
/// Argument counts, the program name included (session.go, `LegacyArgumentLength`).
const LEGACY_ARGUMENT_LENGTH: usize = 4;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum PluginCall {
    /// No arguments: the reference says it is installed and how to use it.
    Installed,
    /// `--version`: the version the CLI compares with [`LAST_VERSION_WITHOUT_ENV_VAR`].
    Version,
    /// One or two arguments that are not `--version`; the first one, for the message.
    Unknown(String),
    /// Run the session the CLI started.
    Start(Box<PluginStart>),
}

/// A session the AWS CLI started, and how to reach AWS for the calls the plugin makes
/// (ResumeSession, TerminateSession, KMS, and new sessions for a tunnel).
#[derive(Debug, PartialEq, Eq)]
pub struct PluginStart {
    pub session_id: String,
    pub stream_url: SecretString,
    pub token: SecretString,
    /// The CLI's region; empty leaves it to the default chain.
    pub region: Option<String>,
    /// The CLI's `--profile`; `None` when it gave none (an empty argument).
    pub profile: Option<String>,
    /// The StartSession parameters; `None` in the legacy form, which has none.
    pub request: Option<StartSessionRequest>,
    /// The SSM endpoint URL the CLI used; `None` when absent or empty.
    pub ssm_endpoint: Option<String>,
}

/// Why the command line cannot be run. The texts follow the reference where it has one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContractError {
    /// The operation is not StartSession (session.go prints exactly "Invalid Operation").
    #[error("Invalid Operation")]
    InvalidOperation,
    /// The session response is unusable. Never holds the response's text: it has the token.
    #[error("Cannot perform start session: {0}")]
    Response(String),
    /// The StartSession parameters (argument 5) are unusable. The reference ignores a parse
    /// error here and then crashes on the missing Target; gangway says so instead.
    #[error("Cannot perform start session: the StartSession parameters (argument 5) {0}")]
    Parameters(String),
    /// An argument that is not valid UTF-8 (the CLI only passes text).
    #[error("argument {0} is not valid UTF-8")]
    NotUtf8(usize),
}

/// The reference's reply to [`PluginCall::Installed`] (session.go).
pub const INSTALLED_MESSAGE: &str = "\nThe Session Manager plugin was installed successfully. Use the AWS CLI to start a session.\n\n";

/// The reference's reply to [`PluginCall::Unknown`] (session.go).
pub fn unknown_operation_message(first: &str) -> String {
    format!(
        "\nUnknown operation {first}. \nUse session-manager-plugin --version to check the version.\n\n"
    )
}

/// Reads the command line (`args[0]` is the program, ignored) with `env` looking up the
/// environment, in the reference's order of checks.
pub fn parse(
    args: &[OsString],
    env: impl Fn(&str) -> Option<String>,
) -> Result<PluginCall, ContractError> {
    let words = args
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, arg)| {
            arg.to_str()
                .map(str::to_owned)
                .ok_or(ContractError::NotUtf8(index))
        })
        .collect::<Result<Vec<String>, _>>()?;
    let count = args.len().max(1);
    if count == 1 {
        return Ok(PluginCall::Installed);
    }
    if count == 2 && words[0] == "--version" {
        return Ok(PluginCall::Version);
    }
    if count < LEGACY_ARGUMENT_LENGTH {
        return Ok(PluginCall::Unknown(words[0].clone()));
    }
    let word = |n: usize| words.get(n - 1).map(String::as_str);
    // The reference reads the response before it looks at the operation; gangway checks
    // the operation first so a wrong call never touches the environment's secret.
    if word(3) != Some(START_SESSION) {
        return Err(ContractError::InvalidOperation);
    }
    let response_text = match word(1) {
        Some(name) if name.starts_with(RESPONSE_ENV_VAR) => env(name).unwrap_or_default(),
        Some(json) => json.to_owned(),
        None => String::new(),
    };
    let response = parse_response(&response_text)?;
    let non_empty = |value: Option<&str>| value.filter(|v| !v.is_empty()).map(str::to_owned);
    let request = match word(5) {
        Some(parameters) => Some(parse_parameters(parameters)?),
        None => None,
    };
    Ok(PluginCall::Start(Box::new(PluginStart {
        session_id: response.session_id,
        stream_url: SecretString::new(response.stream_url),
        token: SecretString::new(response.token_value),
        region: non_empty(word(2)),
        profile: non_empty(word(4)),
        request,
        ssm_endpoint: non_empty(word(6)),
    })))
}

/// StartSession's response as the CLI passes it on (its own three fields).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    session_id: Option<String>,
    stream_url: Option<String>,
    token_value: Option<String>,
}

struct ParsedResponse {
    session_id: String,
    stream_url: String,
    token_value: String,
}

fn parse_response(text: &str) -> Result<ParsedResponse, ContractError> {
    let response: Response = serde_json::from_str(text).map_err(|error| {
        // serde's message may quote the input, which holds the token: position only.
        ContractError::Response(format!(
            "the session response is not the JSON object StartSession returns ({} at line {}, column {})",
            match error.classify() {
                serde_json::error::Category::Eof => "it ends early",
                serde_json::error::Category::Syntax => "a syntax error",
                serde_json::error::Category::Data => "a field of the wrong type",
                serde_json::error::Category::Io => "a read error",
            },
            error.line(),
            error.column()
        ))
    })?;
    let field = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ContractError::Response(format!("the session response has no {name}")))
    };
    Ok(ParsedResponse {
        session_id: field(response.session_id, "SessionId")?,
        stream_url: field(response.stream_url, "StreamUrl")?,
        token_value: field(response.token_value, "TokenValue")?,
    })
}

/// The CLI's StartSession parameters (botocore's names; `Parameters` maps to lists).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameters {
    target: Option<String>,
    document_name: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Vec<String>>,
    reason: Option<String>,
}

fn parse_parameters(text: &str) -> Result<StartSessionRequest, ContractError> {
    let parameters: Parameters = serde_json::from_str(text).map_err(|error| {
        ContractError::Parameters(format!(
            "are not a JSON object of StartSession's parameters (line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    let target = parameters
        .target
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ContractError::Parameters("have no Target".into()))?;
    Ok(StartSessionRequest {
        target,
        document_name: parameters.document_name.filter(|d| !d.is_empty()),
        parameters: parameters.parameters,
        reason: parameters.reason.filter(|r| !r.is_empty()),
    })
}

/// Whether the AWS CLI would hand a plugin that prints `version` the response through the
/// environment (sessionmanager.py, class VersionRequirement): whitespace removed, one to
/// four dot-separated numbers, compared part by part after padding with zeros, strictly
/// greater than [`LAST_VERSION_WITHOUT_ENV_VAR`]. A version it cannot read means no.
pub fn cli_uses_env_hand_off(version: &str) -> bool {
    let cleaned: String = version.chars().filter(|c| !c.is_whitespace()).collect();
    let parts: Option<Vec<u64>> = cleaned
        .split('.')
        .map(|part| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<u64>().ok())
                .flatten()
        })
        .collect();
    let Some(mut parts) = parts.filter(|p| (1..=4).contains(&p.len())) else {
        return false;
    };
    let mut minimum: Vec<u64> = LAST_VERSION_WITHOUT_ENV_VAR
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect();
    while parts.len() < minimum.len() {
        parts.push(0);
    }
    while minimum.len() < parts.len() {
        minimum.push(0);
    }
    parts > minimum
}
