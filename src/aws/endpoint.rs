//! Which endpoint each service client uses when the user overrides AWS's own.
//!
//! aws-config reads `AWS_ENDPOINT_URL_<SERVICE>` and then `AWS_ENDPOINT_URL` for each service
//! and takes a variable that is set but empty as a value: the SDK's endpoint resolver then
//! asserts on the empty URL and the process panics ("URL was unset"). The AWS CLI skips an
//! empty one and goes on to the next source (botocore, configprovider.py,
//! `ConfiguredEndpointProvider.resolve`: the first truthy value wins), so `export
//! AWS_ENDPOINT_URL=` means "no override" there; gangway follows the CLI.

/// The variable every service falls back to.
const GLOBAL: &str = "AWS_ENDPOINT_URL";

/// The services gangway calls, by the suffix of their own variable
/// (`AWS_ENDPOINT_URL_SSM`: the SDK's service id, upper case, spaces as `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Ec2,
    Ssm,
    Sts,
    Kms,
    CloudTrail,
    EventBridge,
    Sns,
}

impl Service {
    fn variable(self) -> &'static str {
        match self {
            Service::Ec2 => "AWS_ENDPOINT_URL_EC2",
            Service::Ssm => "AWS_ENDPOINT_URL_SSM",
            Service::Sts => "AWS_ENDPOINT_URL_STS",
            Service::Kms => "AWS_ENDPOINT_URL_KMS",
            Service::CloudTrail => "AWS_ENDPOINT_URL_CLOUDTRAIL",
            Service::EventBridge => "AWS_ENDPOINT_URL_EVENTBRIDGE",
            Service::Sns => "AWS_ENDPOINT_URL_SNS",
        }
    }
}

/// What the service's client must be told, over what aws-config derived for it:
/// `None` when aws-config's own choice stands (no endpoint variable of this service is set
/// but empty), `Some(url)` when it must be replaced: the service's variable if non-empty,
/// else the global one if non-empty, else `shared` (what aws-config resolved for every
/// service: the profile's `endpoint_url`, or `None` for AWS's own endpoints).
///
/// `var` reads one environment variable (`None` when unset).
pub(crate) fn override_for(
    service: Service,
    shared: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<Option<String>> {
    let own = var(service.variable());
    let global = var(GLOBAL);
    let blank = |v: &Option<String>| v.as_deref().is_some_and(str::is_empty);
    if !blank(&own) && !blank(&global) {
        return None;
    }
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    Some(
        given(own)
            .or_else(|| given(global))
            .or_else(|| shared.map(str::to_owned)),
    )
}

/// [`override_for`] over this process's environment.
pub(crate) fn override_from_env(service: Service, shared: Option<&str>) -> Option<Option<String>> {
    override_for(service, shared, |name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn no_blank_variable_leaves_aws_config_alone() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://a"),
            ("AWS_ENDPOINT_URL_SSM", "http://s"),
        ];
        assert_eq!(override_for(Service::Ssm, None, env(&vars)), None);
        assert_eq!(override_for(Service::Ec2, None, env(&[])), None);
    }

    #[test]
    fn a_blank_global_variable_means_aws_own_endpoints() {
        let vars = [("AWS_ENDPOINT_URL", "")];
        assert_eq!(override_for(Service::Sts, None, env(&vars)), Some(None));
    }

    #[test]
    fn a_blank_global_variable_yields_to_the_service_variable() {
        let vars = [
            ("AWS_ENDPOINT_URL", ""),
            ("AWS_ENDPOINT_URL_CLOUDTRAIL", "http://c"),
        ];
        assert_eq!(
            override_for(Service::CloudTrail, None, env(&vars)),
            Some(Some("http://c".into()))
        );
    }

    #[test]
    fn a_blank_service_variable_yields_to_the_global_one_then_the_shared_one() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://g"),
            ("AWS_ENDPOINT_URL_SSM", ""),
        ];
        assert_eq!(
            override_for(Service::Ssm, None, env(&vars)),
            Some(Some("http://g".into()))
        );
        // The EC2 client is not touched by SSM's variable.
        assert_eq!(override_for(Service::Ec2, None, env(&vars)), None);
        let only = [("AWS_ENDPOINT_URL_SSM", "")];
        assert_eq!(
            override_for(Service::Ssm, Some("http://profile"), env(&only)),
            Some(Some("http://profile".into()))
        );
    }
}
