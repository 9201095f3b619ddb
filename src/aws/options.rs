//! How to reach AWS, as plain data taken from the command line or the TUI config.

use crate::cli::AwsArgs;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Named profile; `None` lets aws-config pick (`AWS_PROFILE`, then `default`).
    pub profile: Option<String>,
    /// Regions to query; empty means the one region of the default chain.
    pub regions: Vec<String>,
    /// One endpoint for every service (the emulator). `AWS_ENDPOINT_URL*` also work without it.
    pub endpoint_url: Option<String>,
}

impl From<&AwsArgs> for AwsOptions {
    fn from(args: &AwsArgs) -> Self {
        Self {
            profile: args.profile.clone().filter(|p| !p.is_empty()),
            regions: args
                .region
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            endpoint_url: args.endpoint_url.clone().filter(|u| !u.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_mean_unset() {
        let args = AwsArgs {
            profile: Some(String::new()),
            region: vec![" us-east-1".into(), String::new()],
            endpoint_url: None,
            tags: vec![],
        };
        let opts = AwsOptions::from(&args);
        assert_eq!(opts.profile, None);
        assert_eq!(opts.regions, ["us-east-1"]);
    }
}
