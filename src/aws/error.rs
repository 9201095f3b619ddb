//! Errors of the AWS layer: one clear line each, with a hint that says what to do next.
//!
//! Messages are built here from error codes and AWS's own message text (escaped, since it can
//! echo user input); SDK debug output, request URLs and tokens never end up in them.

use std::error::Error as StdError;

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use super::client::{CONNECT_TIMEOUT, OPERATION_TIMEOUT, READ_TIMEOUT};
use super::credential_source::CredentialSource;
use crate::text::escape_for_terminal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    #[error("no usable AWS credentials: {detail}")]
    Credentials { detail: String, hint: String },
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("the instance is not connected to Session Manager: {0}")]
    TargetNotConnected(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("AWS is throttling requests")]
    Throttled,
    #[error("cannot reach AWS at {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("no AWS region is configured")]
    NoRegion,
    #[error("{0}")]
    Config(String),
    #[error("AWS error {code}: {message}")]
    Service { code: String, message: String },
    #[error("unexpected answer from AWS: {0}")]
    BadResponse(String),
}

impl AwsError {
    /// What the user should do about it, in one sentence.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Credentials { hint, .. } => hint.clone(),
            Self::AccessDenied(_) if self.is_access_expired() => {
                "your access has expired; ask an administrator to renew it".into()
            }
            Self::AccessDenied(_) => {
                "ask an administrator for access to this instance or action".into()
            }
            Self::TargetNotConnected(_) => {
                "check the instance's state and SSM agent with `gangway list`".into()
            }
            Self::Throttled => "wait a few seconds and try again".into(),
            Self::Unreachable { detail, .. } if detail.contains("certificate") => {
                "if a proxy or private endpoint uses its own CA, point AWS_CA_BUNDLE at its PEM file"
                    .into()
            }
            Self::Unreachable { .. } => {
                "check your network, proxy, --region and --endpoint-url".into()
            }
            Self::NoRegion => "pass --region or set AWS_REGION".into(),
            Self::NotFound(_) | Self::Service { .. } | Self::BadResponse(_) | Self::Config(_) => {
                return None;
            }
        })
    }

    pub fn is_credentials_error(&self) -> bool {
        matches!(self, Self::Credentials { .. })
    }

    /// Access that was granted until a fixed time (an `aws:CurrentTime` condition) and ran out.
    pub fn is_access_expired(&self) -> bool {
        matches!(self, Self::AccessDenied(m) if m.to_ascii_lowercase().contains("expired"))
    }

    /// The error and its hint as one line, the way the CLI prints it.
    pub fn to_line(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self} ({hint})"),
            None => self.to_string(),
        }
    }
}

/// What an SDK error is turned into depends on how the client was set up.
#[derive(Debug, Clone, Default)]
pub(crate) struct ErrorContext {
    pub source: CredentialSource,
    pub endpoint: String,
}

impl ErrorContext {
    fn credentials(&self, detail: String) -> AwsError {
        let lowered = detail.to_ascii_lowercase();
        let hint = self
            .source
            .hint(lowered.contains("expired"))
            .unwrap_or_else(|| {
                if lowered.contains("sso") {
                    "run `aws sso login`".into()
                } else {
                    "set AWS_PROFILE (or --profile) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                        .into()
                }
            });
        AwsError::Credentials { detail, hint }
    }

    /// Maps any SDK error (EC2 and SSM share the type) to an [`AwsError`].
    pub fn map<E>(&self, err: SdkError<E>) -> AwsError
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(_) => {
                let code = err.code().unwrap_or("Unknown").to_owned();
                let message = escape_for_terminal(err.message().unwrap_or("")).into_owned();
                self.for_code(code, message)
            }
            // The operation timeout: every attempt of the call went unanswered.
            SdkError::TimeoutError(_) => self.unreachable(format!(
                "the endpoint did not answer within {} s",
                OPERATION_TIMEOUT.as_secs()
            )),
            SdkError::DispatchFailure(failure) => {
                let chain = source_chain(&err);
                if mentions_credentials(&chain) {
                    self.credentials(innermost(&chain))
                } else if failure.is_timeout() {
                    // The last attempt's connect or read timeout, before the operation's.
                    self.unreachable(format!(
                        "the endpoint did not accept a connection within {} s or did not \
                         answer within {} s",
                        CONNECT_TIMEOUT.as_secs(),
                        READ_TIMEOUT.as_secs()
                    ))
                } else {
                    self.unreachable(innermost(&chain))
                }
            }
            SdkError::ResponseError(response) => AwsError::BadResponse(format!(
                "HTTP {} that is not an AWS API response (is {} an AWS endpoint?)",
                response.raw().status().as_u16(),
                self.endpoint
            )),
            SdkError::ConstructionFailure(_) => {
                let chain = source_chain(&err);
                if mentions_credentials(&chain) {
                    self.credentials(innermost(&chain))
                } else {
                    AwsError::BadResponse(format!(
                        "could not build the request: {}",
                        outermost(&chain)
                    ))
                }
            }
            _ => AwsError::BadResponse(escape_for_terminal(&err.to_string()).into_owned()),
        }
    }

    fn unreachable(&self, detail: String) -> AwsError {
        AwsError::Unreachable {
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    pub fn for_code(&self, code: String, message: String) -> AwsError {
        let message = if message.is_empty() {
            code.clone()
        } else {
            message
        };
        match classify_code(&code) {
            // Not the credentials: the signing time is more than 5 minutes off AWS's clock.
            CodeKind::Credentials if code == "RequestExpired" => AwsError::Credentials {
                detail: format!("{code}: {message}"),
                hint: "check this machine's clock: requests signed at a time too far off expire"
                    .into(),
            },
            CodeKind::Credentials => self.credentials(format!("{code}: {message}")),
            CodeKind::AccessDenied => AwsError::AccessDenied(message),
            CodeKind::TargetNotConnected => AwsError::TargetNotConnected(message),
            CodeKind::NotFound => AwsError::NotFound(message),
            CodeKind::Throttled => AwsError::Throttled,
            CodeKind::Other => AwsError::Service { code, message },
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum CodeKind {
    Credentials,
    AccessDenied,
    TargetNotConnected,
    NotFound,
    Throttled,
    Other,
}

/// Error codes as EC2 (Query/XML), SSM and KMS (JSON `__type`) spell them.
fn classify_code(code: &str) -> CodeKind {
    match code {
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "AuthFailure"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "RequestExpired" => CodeKind::Credentials,
        // SNS says AuthorizationError.
        "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "AuthorizationError" => CodeKind::AccessDenied,
        "TargetNotConnected" => CodeKind::TargetNotConnected,
        "InvalidInstanceId"
        | "DoesNotExistException"
        | "NotFoundException"
        | "InvalidDocument"
        | "InvalidCommandId"
        | "InvocationDoesNotExist"
        | "InvalidInstanceID.NotFound"
        | "InvalidInstanceID.Malformed"
        | "InvalidAMIID.NotFound" => CodeKind::NotFound,
        "ThrottlingException"
        | "Throttling"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => CodeKind::Throttled,
        _ => CodeKind::Other,
    }
}

fn source_chain(err: &(dyn StdError + 'static)) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = err.source();
    while let Some(source) = current {
        lines.push(escape_for_terminal(&source.to_string()).into_owned());
        current = source.source();
    }
    lines
}

/// Credential resolution fails before anything is sent, so the SDK reports it as a dispatch
/// or construction failure; only the wording of the chain tells it apart from a network error.
fn mentions_credentials(chain: &[String]) -> bool {
    chain.iter().any(|line| {
        let lowered = line.to_ascii_lowercase();
        lowered.contains("credential") || lowered.contains("identity")
    })
}

/// The innermost cause is the specific one ("Connection refused", "the SSO token has
/// expired"); the outer ones are generic ("dispatch failure", "io error").
fn innermost(chain: &[String]) -> String {
    chain
        .last()
        .map(|line| service_error_words(line).unwrap_or_else(|| line.clone()))
        .unwrap_or_else(|| "unknown error".into())
}

/// A service error deep in a credentials provider (STS refusing AssumeRole) displays as the
/// SDK's debug form, `Error { code: "AccessDenied", message: "User: … sts:AssumeRole …", … }`:
/// said as `AccessDenied: User: …` instead.
fn service_error_words(line: &str) -> Option<String> {
    let rest = line.strip_prefix("Error { code: \"")?;
    let (code, rest) = rest.split_once('"')?;
    let message = rest
        .split_once("message: \"")
        .and_then(|(_, after)| after.split_once('"'))
        .map(|(message, _)| message);
    Some(match message {
        Some(message) => format!("{code}: {message}"),
        None => code.to_owned(),
    })
}

fn outermost(chain: &[String]) -> String {
    chain
        .first()
        .cloned()
        .unwrap_or_else(|| "unknown error".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(profile: Option<&str>) -> ErrorContext {
        ErrorContext {
            source: profile.map_or(CredentialSource::Unknown, |profile| CredentialSource::Sso {
                profile: profile.to_owned(),
            }),
            endpoint: "http://127.0.0.1:9".into(),
        }
    }

    #[test]
    fn codes_map_to_kinds() {
        let c = ctx(None);
        assert!(
            c.for_code("UnrecognizedClientException".into(), "bad key".into())
                .is_credentials_error()
        );
        assert!(
            c.for_code("AuthFailure".into(), String::new())
                .is_credentials_error()
        );
        assert_eq!(
            c.for_code("AccessDeniedException".into(), "no".into()),
            AwsError::AccessDenied("no".into())
        );
        assert_eq!(
            c.for_code("Throttling".into(), String::new()),
            AwsError::Throttled
        );
        assert!(matches!(
            c.for_code("InvalidInstanceId".into(), "x".into()),
            AwsError::NotFound(_)
        ));
        assert!(matches!(
            c.for_code("Weird".into(), "odd".into()),
            AwsError::Service { .. }
        ));
    }

    #[test]
    fn credentials_hints_name_the_profile() {
        let err = ctx(Some("dev")).for_code("ExpiredTokenException".into(), "token expired".into());
        assert_eq!(
            err.hint().as_deref(),
            Some("run `aws sso login --profile dev`")
        );
        let err = ctx(None).for_code("UnrecognizedClientException".into(), "x".into());
        assert!(err.hint().unwrap_or_default().contains("AWS_PROFILE"));
        assert!(err.is_credentials_error());
        let err = ctx(Some("dev")).for_code("RequestExpired".into(), "Request has expired".into());
        assert!(err.hint().unwrap_or_default().contains("clock"));
    }

    #[test]
    fn certificate_failures_point_at_the_ca_bundle() {
        let err = AwsError::Unreachable {
            endpoint: "https://ssm.example".into(),
            detail: "invalid peer certificate: UnknownIssuer".into(),
        };
        assert!(err.hint().unwrap_or_default().contains("AWS_CA_BUNDLE"));
    }

    #[test]
    fn expired_access_is_recognised() {
        let err = AwsError::AccessDenied("access for dev expired at 2026-01-01".into());
        assert!(err.is_access_expired());
        assert!(err.to_line().contains("renew"));
        assert!(!AwsError::AccessDenied("not in scope".into()).is_access_expired());
    }

    #[test]
    fn timeouts_mean_unreachable() {
        let err = ctx(None).map::<aws_sdk_ssm::operation::start_session::StartSessionError>(
            SdkError::timeout_error("slow"),
        );
        assert!(matches!(err, AwsError::Unreachable { .. }));
        assert!(err.to_string().contains("127.0.0.1:9"));
        assert!(
            err.to_string().contains("did not answer within 25 s"),
            "{err}"
        );
    }

    #[test]
    fn a_service_error_inside_a_credentials_provider_reads_as_code_and_message() {
        let line = r#"Error { code: "AccessDenied", message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/locked", aws_request_id: "x" }"#;
        assert_eq!(
            innermost(&[line.to_owned()]),
            "AccessDenied: User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/locked"
        );
        assert_eq!(
            innermost(&["Connection refused".to_owned()]),
            "Connection refused"
        );
    }
}
