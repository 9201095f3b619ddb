//! A watchdog that ends the sessions' processes when the emulator itself dies without
//! cleaning up (`kill -9`, a crash, an abort): without it a session's background jobs
//! (`sleep 1000 &`) outlive the emulator, since a PTY hang-up reaches only the shell and its
//! foreground job.
//!
//! The crate forbids `unsafe`, which rules out a pre-exec `PR_SET_PDEATHSIG`, and a cgroup
//! or PID namespace per session needs privileges the emulator usually lacks. So one small
//! `/bin/sh` per emulator process, started on the first session, holds the read end of a
//! pipe whose write end only the emulator has. The emulator writes `+<pid>` for each
//! session process it starts and `-<pid>` once that session's processes are killed. When
//! the pipe reaches end-of-file (the emulator is gone, however it went), the watchdog
//! SIGKILLs every session still listed: the process, its process group and, through
//! procps' `pkill -s` where installed, every process of its terminal session. It ignores
//! the terminal's signals and has its own process group, so a Ctrl-C or SIGTERM meant for
//! the emulator does not end it first.
//!
//! Limits: a process that leaves its session and group on purpose (`setsid`, a double fork
//! into a new group) escapes, as does everything when the watchdog itself is SIGKILLed.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Reads `+pid`/`-pid` lines until end-of-file, then kills what is still listed.
const SCRIPT: &str = r#"trap '' INT HUP TERM QUIT PIPE
pids=' '
while read -r line; do
  case $line in
    +*) pids="$pids${line#+} " ;;
    -*) gone=${line#-}; kept=' '
        for p in $pids; do [ "$p" = "$gone" ] || kept="$kept$p "; done
        pids=$kept ;;
  esac
done
for p in $pids; do
  pkill -KILL -s "$p" 2>/dev/null
  kill -KILL -- "-$p" 2>/dev/null
  kill -KILL "$p" 2>/dev/null
done
exit 0"#;

struct Watchdog {
    /// Kept so the child is not dropped (it is reaped by whoever inherits it).
    _child: Child,
    pipe: ChildStdin,
}

fn watchdog() -> &'static Mutex<Option<Watchdog>> {
    static WATCHDOG: OnceLock<Mutex<Option<Watchdog>>> = OnceLock::new();
    WATCHDOG.get_or_init(|| Mutex::new(start()))
}

fn start() -> Option<Watchdog> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let spawned = Command::new("/bin/sh")
        .args(["-c", SCRIPT, "gangway-session-watchdog"])
        .env_clear()
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    match spawned {
        Ok(mut child) => {
            let pipe = child.stdin.take()?;
            Some(Watchdog {
                _child: child,
                pipe,
            })
        }
        Err(err) => {
            tracing::warn!(
                "no session watchdog ({err}): sessions' processes may outlive a killed emulator"
            );
            None
        }
    }
}

fn send(line: &str) {
    let mut guard = watchdog()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(dog) = guard.as_mut()
        && dog.pipe.write_all(line.as_bytes()).is_err()
    {
        tracing::warn!(
            "the session watchdog is gone: sessions' processes may outlive a killed emulator"
        );
        *guard = None;
    }
}

/// The session process `pid` (a session or process-group leader) is to be killed if the
/// emulator dies.
pub fn watch(pid: u32) {
    send(&format!("+{pid}\n"));
}

/// `pid`'s processes were killed: forget it, so a later process with a reused pid is safe.
pub fn forget(pid: u32) {
    send(&format!("-{pid}\n"));
}
