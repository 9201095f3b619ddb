//! The emulator the tests run against: in-process (`start`) or as the `gangway emulator`
//! program that scripts, the AWS CLI and `gangway connect` meet (`spawn`). One way each.

use std::process::{Child, Command, Stdio};

use gangway::emulator::{EmulatorConfig, Fleet, RunningEmulator};

use super::line_after;

pub const GANGWAY: &str = env!("CARGO_BIN_EXE_gangway");

/// The in-process emulator on 127.0.0.1:0.
pub async fn start(config: EmulatorConfig) -> RunningEmulator {
    gangway::emulator::start(config)
        .await
        .expect("emulator starts on 127.0.0.1:0")
}

/// The in-process emulator serving `fleet` with everything else at its defaults.
pub async fn start_fleet(fleet: Fleet) -> RunningEmulator {
    start(EmulatorConfig::new(fleet)).await
}

/// The `gangway` binary with no AWS configuration files and no profile from the environment.
pub fn gangway() -> Command {
    gangway_at(GANGWAY)
}

/// The same for another build of the `gangway` binary.
pub fn gangway_at(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE");
    command
}

/// `gangway emulator` as a child process; killed when dropped.
pub struct SpawnedEmulator {
    child: Child,
    /// `http://127.0.0.1:PORT`, from the first stdout line.
    pub endpoint: String,
}

impl SpawnedEmulator {
    /// The child's process id (for /proc/PID/status).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SpawnedEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `gangway emulator ARGS` (listening on 127.0.0.1:0, its default) and waits for its
/// `endpoint=` line: the child picks its port and says which, so no port changes hands.
pub fn spawn(args: &[&str]) -> SpawnedEmulator {
    spawn_with_stderr(args, Stdio::null())
}

/// `gangway emulator --fleet FILE ARGS`, FILE holding `toml` (a directory of its own).
pub fn spawn_fleet(toml: &str, args: &[&str]) -> SpawnedEmulator {
    let fleet = super::cli::temp_file("fleet.toml", toml);
    spawn(&[&["--fleet", fleet.to_str().unwrap()], args].concat())
}

/// One Windows instance. The emulator still runs `/bin/sh` for it, but its agent turns LF
/// into CR in input without CR LF, as the Windows agent does (protocol.md §0 item 14).
pub const WINDOWS_FLEET: &str = r#"
[[instances]]
id = "i-0f0f0f0f0f0f0f0f1"
name = "win-1"
platform = "Windows"
platform_name = "Microsoft Windows Server 2022 Datacenter"
platform_version = "10.0.20348"
"#;

/// The same, with the request log (stderr) going where the caller wants it.
pub fn spawn_with_stderr(args: &[&str], stderr: impl Into<Stdio>) -> SpawnedEmulator {
    spawn_program(GANGWAY, args, stderr)
}

/// The same from another `gangway` build (a measurement may run a release-built emulator
/// against the debug-built test).
pub fn spawn_program(program: &str, args: &[&str], stderr: impl Into<Stdio>) -> SpawnedEmulator {
    spawn_program_with_env(program, args, &[], stderr)
}

/// The same with more environment variables for the child (a measurement's switches).
pub fn spawn_program_with_env(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    stderr: impl Into<Stdio>,
) -> SpawnedEmulator {
    let mut child = gangway_at(program)
        .envs(env.iter().copied())
        .arg("emulator")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("gangway binary runs");
    let stdout = child.stdout.take().unwrap();
    // Owned before waiting, so a panic below still kills the child.
    let mut emulator = SpawnedEmulator {
        child,
        endpoint: String::new(),
    };
    emulator.endpoint = line_after(stdout, "endpoint=", "gangway emulator");
    emulator
}
