//! AWS clients pointed at an emulator (in-process or spawned): explicit credentials, region
//! and endpoint, never the developer's ~/.aws. The SDK clients are the real aws-sdk-* crates,
//! every service's built the one way `client_in` builds it; `aws_client` is the product's own
//! `AwsClient`.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_smithy_types::retry::RetryConfig;
use gangway::aws::AwsClient;
use gangway::emulator::{Fleet, RunningEmulator};

/// The demo and generated fleets' administrator and their `Env=dev` engineer.
pub const ADMIN: &str = "AKIAGANGWAYADMIN";
pub const DEV: &str = "AKIAGANGWAYDEV";
pub const REGION: &str = "us-east-1";

/// A service's SDK client, made from the shared configuration (each crate's `Client::new`).
pub trait SdkClient {
    fn from_shared(config: &SdkConfig) -> Self;
}

macro_rules! sdk_clients {
    ($($sdk:ident),*) => {$(
        impl SdkClient for $sdk::Client {
            fn from_shared(config: &SdkConfig) -> Self {
                $sdk::Client::new(config)
            }
        }
    )*};
}
sdk_clients!(
    aws_sdk_ec2,
    aws_sdk_ssm,
    aws_sdk_sts,
    aws_sdk_kms,
    aws_sdk_cloudtrail,
    aws_sdk_eventbridge,
    aws_sdk_sns
);

/// Any service's client for an emulator at `endpoint`, in `region`, signing with
/// `credentials`. Retries off: a test must see the first answer, and a 5xx must fail loudly.
pub fn client_in<C: SdkClient>(endpoint: &str, region: &str, credentials: Credentials) -> C {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    C::from_shared(&config)
}

/// The credentials of the fleet user whose key is `access_key_id` (every fleet user's secret
/// is "gangway").
pub fn user_key(access_key_id: &str) -> Credentials {
    Credentials::new(access_key_id, "gangway", None, None, "gangway-tests")
}

/// Any service's client for an emulator at `endpoint` (also a spawned one), in `REGION`, as
/// the fleet user whose key is `access_key_id`.
pub fn client_at<C: SdkClient>(endpoint: &str, access_key_id: &str) -> C {
    client_in(endpoint, REGION, user_key(access_key_id))
}

pub fn ec2(emulator: &RunningEmulator, access_key_id: &str) -> aws_sdk_ec2::Client {
    client_at(&emulator.endpoint, access_key_id)
}

pub fn ssm(emulator: &RunningEmulator, access_key_id: &str) -> aws_sdk_ssm::Client {
    client_at(&emulator.endpoint, access_key_id)
}

pub fn ssm_at(endpoint: &str, access_key_id: &str) -> aws_sdk_ssm::Client {
    client_at(endpoint, access_key_id)
}

pub fn cloudtrail_at(endpoint: &str, access_key_id: &str) -> aws_sdk_cloudtrail::Client {
    client_at(endpoint, access_key_id)
}

pub fn eventbridge_at(endpoint: &str, access_key_id: &str) -> aws_sdk_eventbridge::Client {
    client_at(endpoint, access_key_id)
}

pub fn sns_at(endpoint: &str, access_key_id: &str) -> aws_sdk_sns::Client {
    client_at(endpoint, access_key_id)
}

/// The product's client for `endpoint`, with static credentials.
pub fn aws_client(endpoint: &str, access_key_id: &str) -> AwsClient {
    AwsClient::with_static_credentials(REGION, endpoint, access_key_id, "gangway")
}

/// The AWS error code of a failed SDK call (any service's: `SdkError` is one type).
pub fn error_code<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_ssm::error::SdkError<E, R>>,
) -> String
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    error_of(result).0
}

/// The AWS error code and message of a failed SDK call.
pub fn error_of<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_ssm::error::SdkError<E, R>>,
) -> (String, String)
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let err = result.expect_err("the call should fail");
    let service = err
        .as_service_error()
        .unwrap_or_else(|| panic!("not a service error: {err:?}"));
    (
        service.code().unwrap_or("<no code>").to_owned(),
        service.message().unwrap_or_default().to_owned(),
    )
}

/// The demo fleet plus two more engineers: one in the dev scope, one whose access expired.
pub fn fleet_with_extra_engineers() -> Fleet {
    let mut fleet = Fleet::demo();
    let extra = Fleet::from_toml(
        r#"
[[users]]
name = "ops2"
access_key_id = "AKIAOPS2"
role = "engineer"
scope = { Env = "dev" }

[[users]]
name = "former"
access_key_id = "AKIAFORMER"
role = "engineer"
expires = 2021-06-30T00:00:00Z
"#,
        "inline",
    )
    .unwrap();
    fleet.users.extend(
        extra
            .users
            .into_iter()
            .filter(|u| u.name == "ops2" || u.name == "former"),
    );
    fleet
}

/// The id of the fleet instance whose Name tag is `name`.
pub fn id_of(fleet: &Fleet, name: &str) -> String {
    fleet
        .instances
        .iter()
        .find(|i| i.name() == Some(name))
        .unwrap()
        .id
        .clone()
}

/// StartSession on `target` with the default document; the new session's id.
pub async fn session_on(ssm: &aws_sdk_ssm::Client, target: &str) -> String {
    ssm.start_session()
        .target(target)
        .send()
        .await
        .unwrap()
        .session_id()
        .unwrap()
        .to_owned()
}

/// The sessions DescribeSessions lists in `state`: (id, status) each.
pub async fn sessions_in(
    ssm: &aws_sdk_ssm::Client,
    state: aws_sdk_ssm::types::SessionState,
) -> Vec<(String, String)> {
    let out = ssm.describe_sessions().state(state).send().await.unwrap();
    out.sessions()
        .iter()
        .map(|s| {
            let status = s
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            (s.session_id().unwrap_or_default().to_owned(), status)
        })
        .collect()
}

/// The one active session's id.
pub async fn only_active_session(ssm: &aws_sdk_ssm::Client) -> String {
    let active = sessions_in(ssm, aws_sdk_ssm::types::SessionState::Active).await;
    assert_eq!(active.len(), 1, "{active:?}");
    active[0].0.clone()
}

/// Waits until `session_id` shows as Terminated in History; panics after `within`.
pub async fn until_terminated(ssm: &aws_sdk_ssm::Client, within: Duration, session_id: &str) {
    use aws_sdk_ssm::types::SessionState;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let history = sessions_in(ssm, SessionState::History).await;
        if history
            .iter()
            .any(|(sid, status)| sid == session_id && status == "Terminated")
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session {session_id} not Terminated in History: {history:?}; active: {:?}",
            sessions_in(ssm, SessionState::Active).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The emulator's delivery log (`GET /gangway/v1/deliveries`), read over plain HTTP/1.1 as a
/// script would: the `Deliveries` array, oldest first.
pub async fn deliveries_at(endpoint: &str) -> Vec<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "GET /gangway/v1/deliveries HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["Deliveries"].as_array().unwrap().clone()
}
