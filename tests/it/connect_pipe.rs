//! `gangway connect` with pipes (no terminal): 32 MiB in and back byte-exact, with and
//! without the emulator's faults; and the error cases, each one line with its status.

use std::process::Stdio;

use gangway::commands::exit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::support::aws_clients::{ADMIN, DEV};
use crate::support::cli::{aws_env, exited, fleet, online_instance, pipe_round_trip, spawn_piped};
use crate::support::emulator::{GANGWAY, WINDOWS_FLEET, spawn, spawn_fleet};
use crate::support::{PATIENCE, unreachable_endpoint};

const SIZE: usize = 32 << 20;

async fn round_trip(emulator_args: &[&str]) {
    let emulator = spawn(emulator_args);
    let instance = online_instance(&emulator.endpoint).await;
    pipe_round_trip(&emulator.endpoint, instance["id"].as_str().unwrap(), SIZE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_mode_moves_32_mib_each_way_byte_exact() {
    // Benchmark-only pace: this checks gangway's own byte-exactness at volume, not an AWS
    // figure; the real agent's pace (~1 MiB/s) would only add its sleeps.
    round_trip(&["--instances", "3", "--agent-pace", "off"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_mode_survives_drops_duplicates_reordering_and_cuts() {
    round_trip(&[
        "--instances",
        "3",
        // The real pace: it decides how much is in flight when a cut loses it.
        // Faults as they really happen: `drop` cuts the socket with what is in flight on it,
        // dup/reorder only right after a resume (docs/emulator.md).
        "--faults",
        "drop=0.00005,dup=0.2,reorder=0.2,cut-every=3s,seed=5",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_on_stdin_runs_in_the_remote_shell() {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .args(["connect", instance["name"].as_str().unwrap()])
            .envs(aws_env(&emulator.endpoint, ADMIN)),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"echo piped-$((3*3))\nexit\n")
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("hung")
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("piped-9"), "stdout: {text}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `connect` expecting failure: (status, stderr).
async fn connect_error(env: Vec<(String, String)>, args: &[&str]) -> (i32, String) {
    let out = tokio::time::timeout(
        PATIENCE,
        Command::new(GANGWAY)
            .arg("connect")
            .args(args)
            .envs(env)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("hung")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_clear_line_with_their_status() {
    let emulator = spawn(&[]);
    let env = || aws_env(&emulator.endpoint, ADMIN);

    let (status, stderr) = connect_error(env(), &["no-such-host"]).await;
    assert_eq!(status, i32::from(exit::USAGE), "{stderr}");
    assert!(stderr.contains("no instance matches"), "{stderr}");

    let bad_key = aws_env(&emulator.endpoint, "AKIAUNKNOWNKEY");
    let (status, stderr) = connect_error(bad_key, &["web-1"]).await;
    assert_eq!(status, i32::from(exit::CREDENTIALS), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Temporary credentials that expired: AWS's ExpiredTokenException, and advice that
    // fits where they came from (the environment here, not an SSO login).
    let mut expired = aws_env(&emulator.endpoint, "ASIAGANGWAYEXPIRED");
    expired.push(("AWS_SESSION_TOKEN".into(), "IQoJb3JpZ2luX2VjEXAMPLE".into()));
    let (status, stderr) = connect_error(expired, &["web-1"]).await;
    assert_eq!(status, i32::from(exit::CREDENTIALS), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("security token included in the request is expired"),
        "{stderr}"
    );
    assert!(stderr.contains("export fresh ones"), "{stderr}");
    assert!(
        !stderr.contains("sso") && !stderr.contains("IQoJb3"),
        "{stderr}"
    );

    let unreachable = aws_env(&unreachable_endpoint(), ADMIN);
    let (status, stderr) = connect_error(unreachable, &["web-1"]).await;
    assert_eq!(status, i32::from(exit::UNREACHABLE), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // A stopped or offline instance is explained before any session starts.
    let unavailable = fleet(&emulator.endpoint)
        .await
        .into_iter()
        .find(|i| {
            i["ping_status"] != "Online"
                || !i["state"]
                    .as_str()
                    .unwrap_or("")
                    .eq_ignore_ascii_case("running")
        })
        .expect("the demo fleet has an unavailable instance");
    let (status, stderr) = connect_error(env(), &[unavailable["id"].as_str().unwrap()]).await;
    assert_eq!(status, i32::from(exit::TARGET_UNAVAILABLE), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_outside_the_tag_scope_is_denied() {
    let emulator = spawn(&["--instances", "6"]);
    // `dev` may only open sessions on Env=dev instances.
    let prod = fleet(&emulator.endpoint)
        .await
        .into_iter()
        .find(|i| i["tags"]["Env"] == "prod" && i["ping_status"] == "Online")
        .expect("a prod instance");
    let (status, stderr) = connect_error(
        aws_env(&emulator.endpoint, DEV),
        &[prod["id"].as_str().unwrap()],
    )
    .await;
    assert_eq!(status, i32::from(exit::ACCESS_DENIED), "{stderr}");
    assert!(stderr.contains("access denied"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// Pipe mode to a Windows target: each line ending (LF, CR LF, a CR LF split between
/// writes) reaches the shell as one CR, the Enter key, and the end of stdin as `exit` on a
/// line of its own, since PowerShell does not end on EOT (issue 11, item 9). A raw-mode
/// command shows the bytes exactly as the remote side got them; on the Unix path (EOT at
/// the end) `head` would wait for bytes that never come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windows_target_gets_cr_line_endings_and_exit_at_the_end() {
    let emulator = spawn_fleet(WINDOWS_FLEET, &[]);
    let expected: &[u8] = b"a\rb\rc\r\rexit\r";
    let command = format!(
        "command=stty raw -echo; printf READY; head -c {} | od -An -v -tx1",
        expected.len()
    );
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .args([
                "connect",
                "win-1",
                "--document",
                "AWS-StartInteractiveCommand",
            ])
            .args(["--parameter", &command])
            .envs(aws_env(&emulator.endpoint, ADMIN)),
    );
    // Input only once the pty is raw, so that its own ICRNL cannot change what we check.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 256];
        while !seen.windows(5).any(|w| w == b"READY") {
            let n = stdout.read(&mut buffer).await.unwrap();
            assert!(n > 0, "stdout ended before READY");
            seen.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("no READY");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a\r\nb\r").await.unwrap();
    stdin.flush().await.unwrap();
    // The LF of that CR LF in a write of its own (a read of its own or not, one CR either
    // way; the unit tests split it for sure), then a last line with no line ending.
    stdin.write_all(b"\nc").await.unwrap();
    drop(stdin);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stdout.read_to_end(&mut rest)).await;
    if read.is_err() {
        // Killed, so that its stderr ends and the failure below can show it.
        child.start_kill().unwrap();
    }
    let (status, stderr) = exited(&mut child, PATIENCE, "gangway did not exit").await;
    seen.extend_from_slice(&rest);
    let text = String::from_utf8_lossy(&seen);
    assert!(read.is_ok(), "hung; stdout: {text:?} stderr: {stderr}");
    let hex = text.split_once("READY").map_or("", |(_, after)| after);
    let got: Vec<u8> = hex
        .split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect();
    assert_eq!(got, expected, "stdout: {text:?} stderr: {stderr}");
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
}
