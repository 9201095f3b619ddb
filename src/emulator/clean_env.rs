//! The emulator's own environment, kept free of anything a session could read.
//!
//! Session processes start from a cleared environment (`agent::process::session_env`), but
//! a session shell runs as the emulator's user, so it can read the emulator's *initial*
//! environment through `/proc/<emulator pid>/environ` (its `$PPID`, or found by walking up
//! or listing `/proc`). That file shows the strings the process was exec'd with; unsetting a
//! variable later does not change it. So `gangway emulator` re-execs itself once at start,
//! same binary, same arguments, same process id, with only the variables below: whatever
//! else it was started with (`AWS_SECRET_ACCESS_KEY`, tokens, a developer's whole shell
//! environment) is then in no file a session can open. `std::os::unix::process::CommandExt::exec`
//! is a safe API, so no `unsafe` is needed.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// What the emulator itself reads (PATH and LANG for sessions, TMPDIR for its per-run
/// directory, GANGWAY_LOG for logging, GANGWAY_ECHO_HOPS for the load test's echo timing,
/// `agent/echo_hops.rs`: a file name) and the locale and zone its logs use. Nothing else.
pub const KEPT_VARIABLES: [&str; 9] = [
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "GANGWAY_LOG",
    "GANGWAY_ECHO_HOPS",
    "NO_COLOR",
];

/// The variables to keep, or `None` when the environment holds nothing else already.
fn kept(
    environment: impl Iterator<Item = (OsString, OsString)>,
) -> Option<Vec<(OsString, OsString)>> {
    let all: Vec<(OsString, OsString)> = environment.collect();
    let keep: Vec<(OsString, OsString)> = all
        .iter()
        .filter(|(name, _)| KEPT_VARIABLES.iter().any(|kept| name == kept))
        .cloned()
        .collect();
    (keep.len() != all.len()).then_some(keep)
}

/// Replaces this process with the same program and arguments under [`KEPT_VARIABLES`] only,
/// when it has anything else. Returns only if there was nothing to drop, or if the exec
/// failed (then with the error: the caller goes on with the environment it has).
pub fn reexec_with_clean_environment() -> std::io::Result<()> {
    let Some(keep) = kept(std::env::vars_os()) else {
        return Ok(());
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| OsString::from("gangway"));
    // /proc/self/exe still runs this binary when its file was replaced or deleted since.
    let error = Command::new("/proc/self/exe")
        .arg0(arg0)
        .args(args)
        .env_clear()
        .envs(keep)
        .exec();
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(name, value)| (OsString::from(name), OsString::from(value)))
            .collect()
    }

    #[test]
    fn only_the_kept_variables_stay() {
        let given = env(&[
            ("PATH", "/bin"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("GANGWAY_LOG", "debug"),
            ("HOME", "/root"),
        ]);
        assert_eq!(
            kept(given.into_iter()),
            Some(env(&[("PATH", "/bin"), ("GANGWAY_LOG", "debug")]))
        );
    }

    #[test]
    fn a_clean_environment_needs_no_exec() {
        let given = env(&[("PATH", "/bin"), ("LANG", "C.UTF-8")]);
        assert_eq!(kept(given.into_iter()), None);
    }
}
