//! Where the credentials come from, as far as the environment and the shared config file
//! tell: enough to say what to do when AWS rejects them ("run `aws sso login`" is the right
//! advice for an SSO profile and the wrong one for keys exported into the shell).
//!
//! Only the keys of the one profile in use are read, never a secret value.

use std::path::PathBuf;

use super::error::AwsError;
use crate::text::escape_for_terminal;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` in the environment; `temporary` with `AWS_SESSION_TOKEN`.
    Environment { temporary: bool },
    /// A profile with `sso_session` or `sso_start_url`.
    Sso { profile: String },
    /// A profile with `credential_process`.
    Process { profile: String },
    /// A profile that assumes a role (`role_arn`).
    AssumedRole { profile: String },
    /// A profile with keys, or nothing this module recognises.
    Profile { profile: String },
    /// Static credentials given in code (tests, the demo), or nothing could be read.
    #[default]
    Unknown,
}

impl CredentialSource {
    /// What aws-config's default chain will use, approximately: an explicit `--profile`, else
    /// keys in the environment, else `AWS_PROFILE` or `default`.
    pub(crate) fn detect(explicit_profile: Option<&str>) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if explicit_profile.is_none() && var("AWS_ACCESS_KEY_ID").is_some() {
            return Self::Environment {
                temporary: var("AWS_SESSION_TOKEN").is_some(),
            };
        }
        let profile = explicit_profile
            .map(str::to_owned)
            .or_else(|| var("AWS_PROFILE"))
            .unwrap_or_else(|| "default".to_owned());
        let keys = shared_file(CONFIG_FILE)
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| profile_keys(&text, &profile))
            .unwrap_or_default();
        Self::from_keys(profile, &keys)
    }

    /// An explicit `--profile` that neither shared file defines. aws-config would only say so
    /// deep inside a credentials error, after the first call; the user needs the name and the
    /// files looked in.
    pub(crate) fn missing_profile(profile: &str) -> Option<AwsError> {
        if is_defined(profile) {
            return None;
        }
        let looked_in = [CONFIG_FILE, CREDENTIALS_FILE]
            .iter()
            .filter_map(|file| shared_file(*file))
            .collect::<Vec<_>>()
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        Some(AwsError::Credentials {
            detail: escape_for_terminal(&format!(
                "the profile `{profile}` does not exist in {looked_in}"
            ))
            .into_owned(),
            hint: "check the spelling, or add the profile (`aws configure --profile NAME`)".into(),
        })
    }

    fn from_keys(profile: String, keys: &[String]) -> Self {
        let has = |key: &str| keys.iter().any(|k| k == key);
        if has("sso_session") || has("sso_start_url") {
            Self::Sso { profile }
        } else if has("credential_process") {
            Self::Process { profile }
        } else if has("role_arn") {
            Self::AssumedRole { profile }
        } else {
            Self::Profile { profile }
        }
    }

    /// One sentence: what to do about credentials AWS refused, or that are missing.
    /// `expired` when AWS said they expired.
    pub(crate) fn hint(&self, expired: bool) -> Option<String> {
        Some(match self {
            Self::Sso { profile } => format!("run `aws sso login --profile {profile}`"),
            Self::Environment { temporary: true } if expired => {
                "the temporary credentials in AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN have expired; \
                 export fresh ones"
                    .into()
            }
            Self::Environment { .. } => {
                "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or unset them to use a \
                 profile (AWS_PROFILE or --profile)"
                    .into()
            }
            Self::Process { profile } => format!(
                "check the credential_process of profile `{profile}` in {}",
                shown(CONFIG_FILE)
            ),
            Self::AssumedRole { profile } if expired => format!(
                "the credentials profile `{profile}` assumes its role with have expired; refresh them"
            ),
            Self::AssumedRole { profile } => {
                format!("check role_arn and source_profile of profile `{profile}`")
            }
            Self::Profile { profile } if expired => format!(
                "the temporary credentials of profile `{profile}` have expired; refresh them"
            ),
            Self::Profile { profile } if !is_defined(profile) => format!(
                "no profile `{profile}` in {} or {} and no AWS_ACCESS_KEY_ID in the \
                 environment: pass --profile, set AWS_PROFILE, or export \
                 AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                shown(CONFIG_FILE),
                shown(CREDENTIALS_FILE)
            ),
            Self::Profile { profile } => format!(
                "check the credentials of profile `{profile}` in {} or {}",
                shown(CONFIG_FILE),
                shown(CREDENTIALS_FILE)
            ),
            Self::Unknown => return None,
        })
    }
}

/// One of the two shared files: the variable that moves it, and its place under `~/.aws`.
#[derive(Clone, Copy)]
struct SharedFile {
    var: &'static str,
    name: &'static str,
}

const CONFIG_FILE: SharedFile = SharedFile {
    var: "AWS_CONFIG_FILE",
    name: "config",
};
const CREDENTIALS_FILE: SharedFile = SharedFile {
    var: "AWS_SHARED_CREDENTIALS_FILE",
    name: "credentials",
};

/// The variable's path, else `~/.aws/NAME`, as aws-config reads them.
fn shared_file(file: SharedFile) -> Option<PathBuf> {
    match std::env::var_os(file.var).filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => dirs::home_dir().map(|home| home.join(".aws").join(file.name)),
    }
}

/// The file as a hint names it: the path the variable gives, else `~/.aws/NAME`.
fn shown(file: SharedFile) -> String {
    match std::env::var_os(file.var).filter(|v| !v.is_empty()) {
        Some(path) => escape_for_terminal(&PathBuf::from(path).display().to_string()).into_owned(),
        None => format!("~/.aws/{}", file.name),
    }
}

/// Whether either shared file defines the profile.
fn is_defined(profile: &str) -> bool {
    [(CONFIG_FILE, true), (CREDENTIALS_FILE, false)]
        .iter()
        .any(|(file, is_config)| {
            shared_file(*file)
                .and_then(|path| std::fs::read_to_string(path).ok())
                .is_some_and(|text| defines_profile(&text, profile, *is_config))
        })
}

/// Whether a section names the profile: `[profile NAME]` (or `[default]`) in the config file,
/// `[NAME]` in the credentials file. aws-config ignores a bare `[NAME]` in the config file
/// (it warns that config profiles need the `profile` prefix), so it does not count.
fn defines_profile(text: &str, profile: &str, is_config: bool) -> bool {
    text.lines().any(|line| {
        let Some(header) = line
            .trim()
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
        else {
            return false;
        };
        let header = header.trim();
        match header.strip_prefix("profile ") {
            Some(name) => is_config && name.trim() == profile,
            None => header == profile && (!is_config || profile == "default"),
        }
    })
}

/// The key names in the profile's section: `[profile NAME]`, or `[default]` for `default`.
fn profile_keys(text: &str, profile: &str) -> Vec<String> {
    profile_entries(text, profile)
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// The `key = value` lines of one profile's section (keys in lower case, both trimmed).
fn profile_entries(text: &str, profile: &str) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim();
            let name = header.strip_prefix("profile ").map(str::trim);
            inside = name == Some(profile) || (profile == "default" && header == "default");
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            entries.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    entries
}

/// The profile's own `endpoint_url` in the config file (the profile as [`CredentialSource::detect`]
/// picks it), for when aws-config cannot read it: it stops at an empty `AWS_ENDPOINT_URL`.
pub(crate) fn profile_endpoint_url(explicit_profile: Option<&str>) -> Option<String> {
    let profile = explicit_profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "default".to_owned());
    let text = shared_file(CONFIG_FILE).and_then(|path| std::fs::read_to_string(path).ok())?;
    profile_entries(&text, &profile)
        .into_iter()
        .find(|(key, value)| key == "endpoint_url" && !value.is_empty())
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[default]
region = us-east-1

[profile dev]
sso_session = corp
sso_account_id = 123456789012

[profile tool]
credential_process = /usr/bin/helper

[profile ops]
role_arn = arn:aws:iam::123456789012:role/ops
source_profile = default
";

    #[test]
    fn a_profile_entry_keeps_its_value() {
        let text = "[default]\nregion = x\n[profile emu]\nendpoint_url = http://127.0.0.1:1\n";
        let entries = profile_entries(text, "emu");
        assert_eq!(
            entries,
            vec![("endpoint_url".to_owned(), "http://127.0.0.1:1".to_owned())]
        );
    }

    fn source(profile: &str) -> CredentialSource {
        CredentialSource::from_keys(profile.to_owned(), &profile_keys(CONFIG, profile))
    }

    #[test]
    fn each_profile_kind_is_recognised() {
        assert!(matches!(source("dev"), CredentialSource::Sso { .. }));
        assert!(matches!(source("tool"), CredentialSource::Process { .. }));
        assert!(matches!(
            source("ops"),
            CredentialSource::AssumedRole { .. }
        ));
        assert!(matches!(
            source("default"),
            CredentialSource::Profile { .. }
        ));
        assert!(matches!(
            source("missing"),
            CredentialSource::Profile { .. }
        ));
    }

    #[test]
    fn only_sso_profiles_are_told_to_log_in() {
        assert_eq!(
            source("dev").hint(true).as_deref(),
            Some("run `aws sso login --profile dev`")
        );
        for other in ["tool", "ops", "default"] {
            assert!(
                !source(other).hint(true).unwrap_or_default().contains("sso"),
                "{other}"
            );
        }
        let env = CredentialSource::Environment { temporary: true };
        assert!(
            env.hint(true)
                .unwrap_or_default()
                .contains("AWS_SESSION_TOKEN have expired")
        );
        assert_eq!(CredentialSource::Unknown.hint(true), None);
    }
}
