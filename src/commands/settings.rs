//! The config file, for every command that reads it (the UI, `demo`, `connect`, `list`).

use std::path::Path;
use std::process::ExitCode;

use super::exit;
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
