//! The config file, for every command that reads it (the UI, `demo`, `connect`, `exec`,
//! `list`, `replay`).

use std::path::Path;
use std::process::ExitCode;

use super::exit;
use crate::shell::SessionRecords;
use crate::text::escape_for_terminal;
use crate::tui::config;

/// The config file for every command that reads it. A file named with `--config` must exist
/// (issue 16, bug 9: a typo once ran silently with the defaults); the default one may not.
/// Other problems in the file are warnings: the UI shows them, the commands print them.
pub fn load_config(path: Option<&Path>, readonly: bool) -> Result<config::Loaded, ExitCode> {
    if let Some(path) = path
        && !path.exists()
    {
        eprintln!(
            "gangway: the config file {} does not exist",
            escape_for_terminal(&path.display().to_string())
        );
        return Err(ExitCode::from(exit::USAGE));
    }
    Ok(config::load(path, readonly))
}

/// The scope of a command that lists or picks instances: the config file named (or the
/// default one) read, then its tags with `--tag`'s. An error has been printed already.
pub fn scope(
    config: Option<&Path>,
    tags: &[(String, String)],
) -> Result<Vec<(String, String)>, ExitCode> {
    Ok(scope_tags(load_config(config, false)?, tags))
}

/// What a command that runs a session needs from the config file: the scope (as [`scope`])
/// and where the session is recorded and keeps its activity file (`[recording]`).
pub fn session_settings(
    config: Option<&Path>,
    tags: &[(String, String)],
) -> Result<(Vec<(String, String)>, SessionRecords), ExitCode> {
    let loaded = load_config(config, false)?;
    let records = loaded.settings.records.clone();
    Ok((scope_tags(loaded, tags), records))
}

/// The config's `[[accounts]]` when the command line named no profile: `--profile` (one or
/// a list) always wins over the file.
pub fn with_config_accounts(
    options: &mut crate::aws::AwsOptions,
    accounts: &[crate::aws::AccountSpec],
) {
    if options.accounts.is_empty() && options.profile.is_none() {
        options.accounts = accounts.to_vec();
    }
}

/// The tags a target must carry: the config file's `[fleet] tags`, then `--tag`. A problem in
/// the config file is said on stderr and costs only that setting.
pub fn scope_tags(loaded: config::Loaded, tags: &[(String, String)]) -> Vec<(String, String)> {
    if let Some(warning) = loaded.warning {
        eprintln!("gangway: {}", escape_for_terminal(&warning));
    }
    let mut scope = loaded.settings.tag_filters;
    scope.extend(tags.iter().cloned());
    scope
}
