//! Several accounts at once (issue 13): `--profile a,b,c` and the config's `[[accounts]]`
//! (a profile, or a role ARN assumed from a base profile), each in its regions. Every
//! account builds its own clients; one that cannot (a profile that does not exist, no
//! region) is reported beside the others instead of hiding them. A role that cannot be
//! assumed fails later, on the first call of its clients, as a credentials error naming
//! STS's answer.

use aws_config::sts::AssumeRoleProvider;
use aws_sdk_ec2::config::SharedCredentialsProvider;

use super::client::AwsClient;
use super::credential_source::CredentialSource;
use super::error::AwsError;
use super::options::AwsOptions;

/// The session name gangway's role sessions carry (CloudTrail shows it).
pub const ROLE_SESSION_NAME: &str = "gangway";

/// One account of a multi-account run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSpec {
    /// What the UI and `list` call it; else the profile, else the role's name.
    pub name: Option<String>,
    /// A named profile of the shared files (SSO, keys, `credential_process`, its own
    /// `role_arn`: whatever aws-config resolves).
    pub profile: Option<String>,
    /// A role to assume, from `source_profile` (or the default chain without one).
    pub role_arn: Option<String>,
    pub source_profile: Option<String>,
    /// Its regions; empty: the run's `--region`s, else the profile's region.
    pub regions: Vec<String>,
}

impl AccountSpec {
    pub fn label(&self) -> String {
        if let Some(name) = self.name.as_deref().filter(|n| !n.is_empty()) {
            return name.to_owned();
        }
        if let Some(profile) = &self.profile {
            return profile.clone();
        }
        match self.role_arn.as_deref() {
            Some(arn) => arn.rsplit('/').next().unwrap_or(arn).to_owned(),
            None => "default".to_owned(),
        }
    }
}

/// One account's clients (one per region), or why it has none.
#[derive(Debug)]
pub struct AccountClients {
    pub label: String,
    pub clients: Result<Vec<AwsClient>, AwsError>,
}

/// The clients of every account of `opts.accounts`, built concurrently, each named by its
/// label. Regions: the account's own, else `opts.regions`, else its profile's.
pub async fn account_clients(opts: &AwsOptions) -> Vec<AccountClients> {
    let builds = opts.accounts.iter().map(|spec| async move {
        let label = spec.label();
        let clients = build(spec, opts).await.map(|clients| {
            clients
                .into_iter()
                .map(|c| c.with_account(label.clone()))
                .collect()
        });
        AccountClients { label, clients }
    });
    futures_util::future::join_all(builds).await
}

async fn build(spec: &AccountSpec, opts: &AwsOptions) -> Result<Vec<AwsClient>, AwsError> {
    let regions = if spec.regions.is_empty() {
        opts.regions.clone()
    } else {
        spec.regions.clone()
    };
    let Some(role_arn) = &spec.role_arn else {
        let account = AwsOptions {
            profile: spec.profile.clone(),
            regions,
            accounts: Vec::new(),
            ..opts.clone()
        };
        return AwsClient::from_options(&account).await;
    };
    let base = AwsOptions {
        profile: spec.source_profile.clone(),
        regions,
        accounts: Vec::new(),
        ..opts.clone()
    };
    let shared = AwsClient::load_shared(&base).await?;
    // aws-config's provider assumes the role on first use and again before the credentials
    // expire, with the base profile's credentials and the same endpoint.
    let provider = AssumeRoleProvider::builder(role_arn.clone())
        .configure(&shared)
        .session_name(ROLE_SESSION_NAME)
        .build()
        .await;
    let shared = shared
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build();
    let source = CredentialSource::detect(spec.source_profile.as_deref());
    AwsClient::from_shared(&shared, &base, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_prefer_the_name_then_the_profile_then_the_role() {
        let mut spec = AccountSpec {
            role_arn: Some("arn:aws:iam::210987654321:role/ops".into()),
            ..AccountSpec::default()
        };
        assert_eq!(spec.label(), "ops");
        spec.profile = Some("prod".into());
        assert_eq!(spec.label(), "prod");
        spec.name = Some("Production".into());
        assert_eq!(spec.label(), "Production");
    }
}
