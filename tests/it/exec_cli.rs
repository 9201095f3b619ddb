//! `gangway exec TARGET -- COMMAND...` against the emulator's agent, which runs
//! NonInteractiveCommands like the real one (protocol.md §6.2.1): the remote exit status
//! becomes gangway's, stdout and stderr stay apart, the argv arrives as given, stdin is left
//! to the script, and an unfit or missing document gets an error that says what to do.

use std::process::{Output, Stdio};

use gangway::commands::exit;
use tokio::io::AsyncWriteExt;

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::cli::{aws_env, online_instance, spawn_piped};
use crate::support::emulator::{GANGWAY, SpawnedEmulator, spawn, spawn_fleet};

/// `gangway ARGS` as `key`, stdin fed `input` then closed, both outputs captured (pipes).
pub async fn gangway(endpoint: &str, key: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = spawn_piped(
        tokio::process::Command::new(GANGWAY)
            .args(args)
            .envs(aws_env(endpoint, key)),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("gangway hung")
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An emulator where `gangway setup` has run, and an instance on it.
async fn set_up() -> (SpawnedEmulator, String) {
    let emulator = spawn(&["--instances", "3"]);
    let setup = gangway(&emulator.endpoint, ADMIN, &["setup"], b"").await;
    assert!(setup.status.success(), "setup: {}", text(&setup.stderr));
    let id = online_instance(&emulator.endpoint).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (emulator, id)
}

async fn exec(emulator: &SpawnedEmulator, extra: &[&str], command: &[&str]) -> Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    gangway(&emulator.endpoint, ADMIN, &args, b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_status_is_gangways_and_stderr_stays_apart() {
    let (emulator, id) = set_up().await;
    let script = "echo out; echo err >&2; echo more; exit 3";
    let out = exec(&emulator, &[&id], &["sh", "-c", script]).await;
    assert_eq!(out.status.code(), Some(3), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\nmore\n");
    assert_eq!(text(&out.stderr), "err\n", "only the command's stderr");
    let ok = exec(&emulator, &[&id], &["true"]).await;
    assert_eq!(ok.status.code(), Some(0), "stderr: {}", text(&ok.stderr));
    // A program that does not exist: a failure status and the reason on stderr. (The real
    // agent reports 1, §6.2.1; the emulator's host-name wrapper gives sh's 127 when it runs
    // as root, so only "not 0" is asserted here.)
    let missing = exec(&emulator, &[&id], &["/no/such/program"]).await;
    assert!(!missing.status.success());
    assert!(missing.stdout.is_empty() && !missing.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_argv_arrives_as_given() {
    let (emulator, id) = set_up().await;
    let argv = [
        "a b",
        "",
        "it's",
        "\"double\"",
        "$HOME",
        "back\\slash",
        "#not-a-comment",
        "tab\there",
        "line\nbreak",
        "{{ command }}",
        "ünï",
    ];
    let mut command = vec!["printf", "[%s]\\n"];
    command.extend_from_slice(&argv);
    let out = exec(&emulator, &[&id], &command).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let expected: String = argv.iter().map(|word| format!("[{word}]\n")).collect();
    assert_eq!(text(&out.stdout), expected);
}

/// In a script: stdout into a pipe, a large output whole, and the script's own stdin left
/// unread for the commands after gangway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_works_in_scripts_and_pipes() {
    let (emulator, id) = set_up().await;
    let script = format!(
        "{GANGWAY} exec {id} -- head -c 3000000 /dev/zero | wc -c; echo \"status=$?\"; cat"
    );
    let mut child = spawn_piped(
        tokio::process::Command::new("sh")
            .args(["-c", &script])
            .envs(aws_env(&emulator.endpoint, ADMIN)),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"the script's own input\n").await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("script hung")
        .unwrap();
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("3000000"),
        "{stdout} / {}",
        text(&out.stderr)
    );
    assert_eq!(lines.next(), Some("status=0"));
    assert_eq!(
        lines.next(),
        Some("the script's own input"),
        "gangway read stdin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_document_points_to_setup() {
    let emulator = spawn(&["--instances", "3"]);
    let id = online_instance(&emulator.endpoint).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = exec(&emulator, &[&id], &["true"]).await;
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit::DOCUMENT_UNUSABLE)),
        "{}",
        text(&out.stderr)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("gangway-exec") && stderr.contains("gangway setup"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // AWS's own document works without setup: exec switches its separateOutputStream on.
    let aws = exec(
        &emulator,
        &[&id, "--document", "AWS-StartNonInteractiveCommand"],
        &["sh", "-c", "echo e >&2; exit 4"],
    )
    .await;
    assert_eq!(aws.status.code(), Some(4), "{}", text(&aws.stderr));
    assert_eq!(text(&aws.stderr), "e\n");
}

/// A NonInteractiveCommands document without separateOutputStream would merge stderr into
/// stdout and send no status: exec refuses it before starting, naming the property.
const MERGED_FLEET: &str = r#"
[[instances]]
id = "i-0e0e0e0e0e0e0e0e2"
name = "merged-1"

[[documents]]
name = "merged"
sessionType = "NonInteractiveCommands"
[documents.parameters.command]
type = "String"
[documents.properties.linux]
commands = "{{ command }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_without_separate_output_is_refused_by_name() {
    let emulator = spawn_fleet(MERGED_FLEET, &[]);
    let target = ["i-0e0e0e0e0e0e0e0e2", "--document"];
    for (document, property) in [
        ("merged", "separateOutputStream"),
        ("AWS-StartInteractiveCommand", "sessionType"),
    ] {
        let args = [target[0], target[1], document];
        let out = exec(&emulator, &args, &["true"]).await;
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(i32::from(exit::DOCUMENT_UNUSABLE)),
            "{stderr}"
        );
        assert!(
            stderr.contains(property) && stderr.contains(document),
            "{stderr}"
        );
    }
}

/// Ctrl-C on `gangway exec` ends the remote command's session too (TerminateSession), and
/// gangway exits 130 as an interrupted local command would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_the_remote_command() {
    use nix::sys::signal::Signal;

    use crate::support::cli::send_signal;
    use tokio::io::AsyncReadExt;

    let (emulator, id) = set_up().await;
    let mut child = tokio::process::Command::new(GANGWAY)
        .args([
            "exec",
            &id,
            "--",
            "sh",
            "-c",
            "echo started; exec sleep 600",
        ])
        .envs(aws_env(&emulator.endpoint, ADMIN))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut started = [0u8; 8];
    stdout.read_exact(&mut started).await.unwrap();
    assert_eq!(&started, b"started\n");
    send_signal(&child, Signal::SIGINT);
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("gangway ignored Ctrl-C")
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    no_active_sessions(&emulator).await;
}

/// Waits, with a deadline, until the emulator has no active session left.
async fn no_active_sessions(emulator: &SpawnedEmulator) {
    use aws_sdk_ssm::types::SessionState;

    let ssm = crate::support::aws_clients::ssm_at(&emulator.endpoint, ADMIN);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let active = ssm
            .describe_sessions()
            .state(SessionState::Active)
            .send()
            .await
            .unwrap();
        if active.sessions().is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the remote session stayed active"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `gangway exec … yes | head -2`: when the reader goes, gangway ends the remote session
/// instead of leaving `yes` running unread, and exits as SIGPIPE would end a local command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_ends_the_remote_command() {
    use tokio::io::AsyncReadExt;

    let (emulator, id) = set_up().await;
    let mut child = tokio::process::Command::new(GANGWAY)
        .args(["exec", &id, "--", "yes"])
        .envs(aws_env(&emulator.endpoint, ADMIN))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 4];
    stdout.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"y\ny\n");
    drop(stdout);
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("gangway kept running after its reader left")
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    no_active_sessions(&emulator).await;
}
