//! The instance's own host name inside its sessions. Each session process starts in a new
//! UTS namespace named after the instance, so `hostname` and `uname -n` answer as they would
//! on the instance. The namespace comes from util-linux's `unshare --uts` (the crate forbids
//! `unsafe`, so no pre-exec hook of ours), which takes CAP_SYS_ADMIN: the emulator running
//! as root, as in a container or CI. Whether it works is found once, by trying. Elsewhere
//! (an ordinary user, no `unshare`, not Linux) sessions keep the machine's name and only
//! `HOSTNAME` and the prompt show the instance. (An unprivileged user namespace could give
//! the name too, but only by making the shell look like root inside it.)
//!
//! The wrapper execs all the way down (`unshare` → `sh` → the program), so the session
//! keeps a single process id and the reaper sees the same tree as without it.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

const UNSHARE: &str = "/usr/bin/unshare";
/// Sets the namespace's name, then becomes the session program: `$1` is the name, the rest
/// the command line. Writing the proc file needs no `hostname` binary on the machine.
const SET_NAME_THEN_EXEC: &str =
    "printf '%s' \"$1\" > /proc/sys/kernel/hostname && shift && exec \"$@\"";
const PROBE_NAME: &str = "gangway-uts-probe";

/// Whether sessions on this machine get the instance's host name: tried once.
pub fn supported() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        let works = probe();
        tracing::info!(works, "own host names for sessions (unshare --uts)");
        works
    })
}

fn probe() -> bool {
    let mut command = Command::new(UNSHARE);
    command
        .args(wrapper_args(
            PROBE_NAME,
            "/bin/cat",
            &["/proc/sys/kernel/hostname"],
        ))
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    command
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == PROBE_NAME.as_bytes())
}

/// `unshare`'s arguments for running `program args…` in a new UTS namespace named `host_name`.
fn wrapper_args(host_name: &str, program: &str, args: &[&str]) -> Vec<String> {
    [
        "--uts",
        "--",
        "/bin/sh",
        "-c",
        SET_NAME_THEN_EXEC,
        "sh",
        host_name,
        program,
    ]
    .iter()
    .chain(args)
    .map(|arg| (*arg).to_owned())
    .collect()
}

/// What to execute for `program args…` so that it runs under `host_name`: the wrapper where
/// the machine allows one, else the program itself.
pub(super) fn command_line(host_name: &str, program: &str, args: &[&str]) -> (String, Vec<String>) {
    if supported() {
        (UNSHARE.to_owned(), wrapper_args(host_name, program, args))
    } else {
        (
            program.to_owned(),
            args.iter().map(|a| (*a).to_owned()).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_passes_name_program_and_arguments_through() {
        let args = wrapper_args("web-1", "/bin/sh", &["-c", "echo hi"]);
        assert_eq!(args[0], "--uts");
        assert_eq!(
            &args[args.len() - 4..],
            ["web-1", "/bin/sh", "-c", "echo hi"]
        );
    }
}
