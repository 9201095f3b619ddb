//! How to reach AWS, as plain data taken from the command line or the TUI config.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Named profile; `None` lets aws-config pick (`AWS_PROFILE`, then `default`).
    pub profile: Option<String>,
    /// Regions to query; empty means the one region of the default chain.
    pub regions: Vec<String>,
    /// One endpoint for every service (the emulator). `AWS_ENDPOINT_URL*` also work without it.
    pub endpoint_url: Option<String>,
    /// An endpoint for SSM alone, over `endpoint_url`: the AWS CLI hands the plugin the one
    /// its SSM client used, and KMS and STS must keep their own (the plugin's sdkutil,
    /// func GetNewSessionWithEndpoint, applies it to SSM only).
    pub ssm_endpoint_url: Option<String>,
    /// Several accounts at once (`--profile a,b`, the config's `[[accounts]]`): each with
    /// its own credentials and regions, over `profile`. Empty: the one account above.
    pub accounts: Vec<crate::aws::AccountSpec>,
}
