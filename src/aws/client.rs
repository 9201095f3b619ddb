//! `AwsClient`: the EC2, SSM, STS, KMS, CloudTrail, EventBridge and SNS clients of one region, built either from aws-config's
//! default chain or from static credentials (tests, the demo).

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ssm::config::Credentials;

use std::path::Path;

use super::credential_source::{self, CredentialSource};
use super::endpoint::{self, Service};
use super::error::{AwsError, ErrorContext};
use super::http;
use super::options::AwsOptions;

/// An endpoint that accepts and never answers must end in an error within a bound the user
/// is told, not after minutes of silence (issue 16: 30 s per attempt × 3 attempts was 92 s).
/// A legitimate call never comes near these: AWS answers the calls gangway makes (Describe*,
/// StartSession, SendCommand, LookupEvents, GenerateDataKey) in well under 5 s, and a
/// throttled one is retried by the SDK after pauses of 1 s and 2 s at most.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// No first byte of the answer for this long: that attempt has failed and the SDK retries.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole call, retries included: what the user waits at most for one silent endpoint.
/// Two attempts of READ_TIMEOUT plus the SDK's pause fit; a third is cut.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// One region's EC2, SSM, STS and KMS clients. Cheap to clone (the SDK clients are `Arc`s
/// inside).
#[derive(Clone, Debug)]
pub struct AwsClient {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    /// GenerateDataKey for KMS-encrypted sessions (protocol.md §4.6), same credentials.
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    /// LookupEvents for `gangway audit` (issue 15).
    pub(crate) cloudtrail: aws_sdk_cloudtrail::Client,
    /// Rules and targets for `gangway alerts apply` (issue 15).
    pub(crate) events: aws_sdk_eventbridge::Client,
    /// The alerts' topic.
    pub(crate) sns: aws_sdk_sns::Client,
    region: String,
    /// The account's display name when several are shown (`AccountSpec::label`).
    account: Option<String>,
    endpoint_url: Option<String>,
    pub(crate) errors: ErrorContext,
}

impl AwsClient {
    /// One client per requested region (or the chain's default region), all sharing the
    /// credentials that aws-config resolves: profile, SSO, `credential_process`, assumed
    /// roles, environment. `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` are honoured
    /// when `--endpoint-url` is not given; one set but empty counts as unset.
    pub async fn from_options(opts: &AwsOptions) -> Result<Vec<AwsClient>, AwsError> {
        if !opts.accounts.is_empty() {
            // Every account's clients, or the first account that has none.
            let mut clients = Vec::new();
            for account in super::accounts::account_clients(opts).await {
                clients.extend(account.clients?);
            }
            return Ok(clients);
        }
        let shared = Self::load_shared(opts).await?;
        let source = CredentialSource::detect(opts.profile.as_deref());
        Self::from_shared(&shared, opts, source)
    }

    /// aws-config's shared configuration for `opts` (profile, endpoint, first region, CA
    /// bundle), with gangway's timeouts.
    pub(crate) async fn load_shared(opts: &AwsOptions) -> Result<aws_config::SdkConfig, AwsError> {
        if let Some(missing) = opts
            .profile
            .as_deref()
            .and_then(CredentialSource::missing_profile)
        {
            return Err(missing);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts());
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        } else if std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| v.is_empty())
            && let Some(url) = credential_source::profile_endpoint_url(opts.profile.as_deref())
        {
            // aws-config takes the empty variable as a bad URL and stops there; the AWS CLI
            // goes on to the profile's `endpoint_url` (see `endpoint.rs`).
            loader = loader.endpoint_url(url);
        }
        if let Some(first) = opts.regions.first() {
            loader = loader.region(Region::new(first.clone()));
        }
        if let Some(bundle) = std::env::var_os(http::CA_BUNDLE_VAR).filter(|v| !v.is_empty()) {
            loader = loader.http_client(http::client_trusting(Path::new(&bundle))?);
        }
        Ok(loader.load().await)
    }

    /// One client per region of `opts` (or the shared config's region) from a loaded
    /// configuration.
    pub(crate) fn from_shared(
        shared: &aws_config::SdkConfig,
        opts: &AwsOptions,
        source: CredentialSource,
    ) -> Result<Vec<AwsClient>, AwsError> {
        let regions = if opts.regions.is_empty() {
            vec![shared.region().ok_or(AwsError::NoRegion)?.to_string()]
        } else {
            opts.regions.clone()
        };
        // Which URL each service's client must be told over aws-config's choice: the
        // `--endpoint-url` flag for every service (it beats the variables, as in the AWS CLI),
        // else the fix for an endpoint variable set but empty (see `endpoint.rs`).
        let shared_url = shared.endpoint_url();
        let endpoint_for = |service: Service| -> Option<Option<String>> {
            match &opts.endpoint_url {
                Some(url) => Some(Some(url.clone())),
                None => endpoint::override_from_env(service, shared_url),
            }
        };
        let (ec2_url, ssm_url, sts_url, kms_url, cloudtrail_url) = (
            endpoint_for(Service::Ec2),
            endpoint_for(Service::Ssm),
            endpoint_for(Service::Sts),
            endpoint_for(Service::Kms),
            endpoint_for(Service::CloudTrail),
        );
        let (events_url, sns_url) = (
            endpoint_for(Service::EventBridge),
            endpoint_for(Service::Sns),
        );
        // The SDKs' config builders are distinct types with the same methods.
        macro_rules! service_config {
            ($sdk:ident, $region:expr, $url:expr) => {{
                let mut builder =
                    $sdk::config::Builder::from(shared).region(Region::new($region.clone()));
                if let Some(url) = $url {
                    builder.set_endpoint_url(url.clone());
                }
                builder
            }};
        }
        let clients = regions
            .into_iter()
            .map(|region| {
                let ec2 = service_config!(aws_sdk_ec2, region, &ec2_url).build();
                let mut ssm = service_config!(aws_sdk_ssm, region, &ssm_url);
                if let Some(url) = &opts.ssm_endpoint_url {
                    ssm = ssm.endpoint_url(url);
                }
                let ssm = ssm.build();
                let sts = service_config!(aws_sdk_sts, region, &sts_url).build();
                let kms = service_config!(aws_sdk_kms, region, &kms_url).build();
                let cloudtrail =
                    service_config!(aws_sdk_cloudtrail, region, &cloudtrail_url).build();
                let events = service_config!(aws_sdk_eventbridge, region, &events_url).build();
                let sns = service_config!(aws_sdk_sns, region, &sns_url).build();
                let endpoint_url = opts.ssm_endpoint_url.clone().or_else(|| match &ssm_url {
                    Some(url) => url.clone(),
                    None => shared_url.map(str::to_owned),
                });
                Self::assemble(
                    (ec2, ssm, sts, kms, cloudtrail),
                    (events, sns),
                    region,
                    endpoint_url,
                    source.clone(),
                )
            })
            .collect();
        Ok(clients)
    }

    /// A client that reads no configuration files and no environment at all.
    pub fn with_static_credentials(
        region: &str,
        endpoint_url: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> AwsClient {
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "gangway-static",
        );
        Self::with_credentials(region, endpoint_url, credentials)
    }

    /// A client with these credentials and nothing read from files or the environment.
    fn with_credentials(region: &str, endpoint_url: &str, credentials: Credentials) -> AwsClient {
        // The SDKs' config builders are distinct types with the same methods.
        macro_rules! static_config {
            ($sdk:ident) => {
                $sdk::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(region.to_owned()))
                    .endpoint_url(endpoint_url)
                    .timeout_config(timeouts())
                    .credentials_provider(credentials.clone())
                    .build()
            };
        }
        let ec2 = static_config!(aws_sdk_ec2);
        let ssm = static_config!(aws_sdk_ssm);
        let sts = static_config!(aws_sdk_sts);
        let kms = static_config!(aws_sdk_kms);
        let cloudtrail = static_config!(aws_sdk_cloudtrail);
        let events = static_config!(aws_sdk_eventbridge);
        let sns = static_config!(aws_sdk_sns);
        Self::assemble(
            (ec2, ssm, sts, kms, cloudtrail),
            (events, sns),
            region.to_owned(),
            Some(endpoint_url.to_owned()),
            CredentialSource::Unknown,
        )
    }

    fn assemble(
        (ec2, ssm, sts, kms, cloudtrail): (
            aws_sdk_ec2::Config,
            aws_sdk_ssm::Config,
            aws_sdk_sts::Config,
            aws_sdk_kms::Config,
            aws_sdk_cloudtrail::Config,
        ),
        (events, sns): (aws_sdk_eventbridge::Config, aws_sdk_sns::Config),
        region: String,
        endpoint_url: Option<String>,
        source: CredentialSource,
    ) -> AwsClient {
        let endpoint = endpoint_url
            .clone()
            .unwrap_or_else(|| format!("the AWS endpoints of {region}"));
        AwsClient {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            ssm: aws_sdk_ssm::Client::from_conf(ssm),
            sts: aws_sdk_sts::Client::from_conf(sts),
            kms: aws_sdk_kms::Client::from_conf(kms),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(cloudtrail),
            events: aws_sdk_eventbridge::Client::from_conf(events),
            sns: aws_sdk_sns::Client::from_conf(sns),
            region,
            account: None,
            endpoint_url,
            errors: ErrorContext { source, endpoint },
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account's display name, when this client is one of several accounts.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The same client, named as one of several accounts.
    pub fn with_account(mut self, label: impl Into<String>) -> Self {
        self.account = Some(label.into());
        self
    }

    /// `REGION`, or `ACCOUNT/REGION` when named: what tells this client apart from the
    /// others of a multi-account run (`types::location`).
    pub fn location(&self) -> String {
        super::types::location(self.account(), &self.region)
    }

    /// STS AssumeRole with this client's credentials, once: a client of the same region and
    /// endpoint with the role's temporary credentials (valid an hour; nothing refreshes
    /// them). For the demo and tests, whose base credentials are static; the config's
    /// `role_arn` accounts go through aws-config's refreshing provider instead
    /// (`accounts.rs`).
    pub async fn assume_role(
        &self,
        role_arn: &str,
        session_name: &str,
    ) -> Result<AwsClient, AwsError> {
        let output = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        let credentials = output
            .credentials()
            .ok_or_else(|| AwsError::BadResponse("AssumeRole without Credentials".into()))?;
        let credentials = Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            None,
            "gangway-assumed-role",
        );
        let endpoint = self.endpoint_url.clone().unwrap_or_default();
        let mut client = Self::with_credentials(&self.region, &endpoint, credentials);
        client.account = self.account.clone();
        Ok(client)
    }

    /// Who these credentials are (STS GetCallerIdentity): the ARN DescribeSessions names as a
    /// session's owner, so the UI can show it and mark the user's own sessions. Needs no
    /// permission: AWS answers it for any valid credentials.
    pub async fn caller_arn(&self) -> Result<String, AwsError> {
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        output
            .arn()
            .map(str::to_owned)
            .ok_or_else(|| AwsError::BadResponse("GetCallerIdentity without an Arn".into()))
    }

    /// The endpoint override, if any (`None` means the real AWS endpoints).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }
}
