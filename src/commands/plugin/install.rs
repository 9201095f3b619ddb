//! `gangway install-plugin [DIR]`: a `session-manager-plugin` symlink to this gangway, so
//! the AWS CLI (which runs the program of that name from PATH) hands its sessions to it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::PLUGIN_NAME;
use crate::cli::InstallPluginArgs;
use crate::commands::exit;
use crate::text::escape_for_terminal;

/// Entry point of `gangway install-plugin`.
pub fn run(args: &InstallPluginArgs) -> ExitCode {
    match install(args) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::from(exit::OK)
        }
        Err(error) => {
            eprintln!("gangway: {error}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn shown(path: &Path) -> String {
    escape_for_terminal(&path.display().to_string()).into_owned()
}

fn install(args: &InstallPluginArgs) -> Result<Vec<String>, String> {
    let gangway = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|error| format!("cannot tell where this gangway is: {error}"))?;
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let home = dirs::home_dir();
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_dir(&path_dirs, home.as_deref(), writable)
            .ok_or("no home directory to put ~/.local/bin in; name a directory")?,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", shown(&dir)))?;
    let link = dir.join(PLUGIN_NAME);
    let mut lines = Vec::new();
    if std::fs::symlink_metadata(&link).is_ok() {
        if std::fs::canonicalize(&link).ok().as_deref() == Some(gangway.as_path()) {
            lines.push(format!(
                "{} already runs this gangway ({}); nothing to do.",
                shown(&link),
                shown(&gangway)
            ));
            lines.extend(path_notes(&dir, &path_dirs));
            return Ok(lines);
        }
        if !args.force {
            return Err(format!(
                "{} exists and is not this gangway; pass --force to replace it (the AWS CLI's \
                 own plugin, if that is what it is, can be reinstalled from AWS later)",
                shown(&link)
            ));
        }
        std::fs::remove_file(&link)
            .map_err(|error| format!("cannot replace {}: {error}", shown(&link)))?;
        lines.push(format!("Replaced the previous {}.", shown(&link)));
    }
    std::os::unix::fs::symlink(&gangway, &link)
        .map_err(|error| format!("cannot create {}: {error}", shown(&link)))?;
    lines.push(format!(
        "Linked {} -> {}: `aws ssm start-session` now runs its sessions through gangway.",
        shown(&link),
        shown(&gangway)
    ));
    lines.extend(path_notes(&dir, &path_dirs));
    Ok(lines)
}

/// What the user must know about PATH: the link's directory is not on it, or another
/// `session-manager-plugin` comes first and is the one the AWS CLI would run.
fn path_notes(dir: &Path, path_dirs: &[PathBuf]) -> Vec<String> {
    let same = |a: &Path, b: &Path| {
        a == b || std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
    };
    let Some(position) = path_dirs.iter().position(|entry| same(entry, dir)) else {
        return vec![format!(
            "Note: {} is not on your PATH; add it, or the AWS CLI will not find the plugin.",
            shown(dir)
        )];
    };
    path_dirs[..position]
        .iter()
        .map(|entry| entry.join(PLUGIN_NAME))
        .filter(|earlier| earlier.exists())
        .map(|earlier| {
            format!(
                "Note: {} comes first on your PATH, so the AWS CLI runs that one; remove it or \
                 install into its directory with --force.",
                shown(&earlier)
            )
        })
        .collect()
}

/// The first absolute PATH directory inside the home directory that `writable` accepts
/// (where a user's own programs go: ~/.local/bin, ~/bin, ~/.cargo/bin), else ~/.local/bin.
fn default_dir(
    path_dirs: &[PathBuf],
    home: Option<&Path>,
    writable: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let home = home?;
    path_dirs
        .iter()
        .find(|dir| dir.is_absolute() && dir.starts_with(home) && writable(dir))
        .cloned()
        .or_else(|| Some(home.join(".local").join("bin")))
}

fn writable(dir: &Path) -> bool {
    dir.is_dir() && nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// Whether `argv0` names the plugin (a symlink or a copy of gangway under that name).
pub fn is_plugin_name(argv0: &OsStr) -> bool {
    Path::new(argv0).file_name() == Some(OsStr::new(PLUGIN_NAME))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_default_is_a_writable_path_directory_in_home() {
        let home = Path::new("/home/u");
        let path = [
            PathBuf::from("/usr/local/bin"),
            PathBuf::from("relative/bin"),
            PathBuf::from("/home/u/.cargo/bin"),
            PathBuf::from("/home/u/bin"),
        ];
        let writable = |dir: &Path| dir != Path::new("/home/u/.cargo/bin");
        assert_eq!(
            default_dir(&path, Some(home), writable),
            Some(PathBuf::from("/home/u/bin"))
        );
        assert_eq!(
            default_dir(&path[..2], Some(home), |_| true),
            Some(PathBuf::from("/home/u/.local/bin"))
        );
        assert_eq!(default_dir(&path, None, |_| true), None);
    }

    #[test]
    fn plugin_names() {
        assert!(is_plugin_name(OsStr::new("session-manager-plugin")));
        assert!(is_plugin_name(OsStr::new(
            "/usr/local/bin/session-manager-plugin"
        )));
        assert!(!is_plugin_name(OsStr::new("gangway")));
        assert!(!is_plugin_name(OsStr::new("session-manager-plugin.old")));
    }
}
