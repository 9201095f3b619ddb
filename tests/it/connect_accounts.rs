//! `gangway connect --profile a,b` (issue 13): the target is looked for in every account,
//! the session opened with the credentials of the account that has it, and an account that
//! cannot build its clients (a profile in no AWS file) or cannot list (a role that cannot
//! be assumed) is one line on stderr instead of the end of the command. Against a spawned
//! emulator serving two accounts in two regions; the AWS files are the test's own.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::accounts::Sandbox;
use crate::support::emulator::GANGWAY;

/// `gangway ARGS` with a script on stdin (pipe mode), as the sandbox's user.
fn connect(sandbox: &Sandbox, endpoint: &str, args: &[&str], script: &str) -> Output {
    let mut child = Command::new(GANGWAY)
        .args(args)
        .env_clear()
        .envs(sandbox.env(endpoint))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn an_account_without_clients_is_one_line_and_the_target_in_another_still_connects() {
    let sandbox = Sandbox::new("connect-missing");
    let emulator = sandbox.emulator();
    let out = connect(
        &sandbox,
        &emulator.endpoint,
        &["connect", "--profile", "main,nope", "a-east-web"],
        "echo hi-$((6*7))\nexit\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("hi-42"), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("gangway: nope: "), "{stderr}");
    assert!(lines[0].contains("`nope` does not exist"), "{stderr}");

    // Every account without clients: its error is the command's, once per account.
    let out = connect(
        &sandbox,
        &emulator.endpoint,
        &["connect", "--profile", "nope,gone", "a-east-web"],
        "exit\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("`nope` does not exist"), "{stderr}");
    assert!(stderr.contains("`gone` does not exist"), "{stderr}");
}

#[test]
fn the_session_opens_in_the_account_that_has_the_target_and_a_locked_role_is_one_line() {
    let sandbox = Sandbox::new("connect-accounts");
    let emulator = sandbox.emulator();
    // b-west-cache is account B's, in eu-west-1, where account A has instances too: the
    // session must go through B's eu-west-1 client, not the first eu-west-1 one.
    let out = connect(
        &sandbox,
        &emulator.endpoint,
        &[
            "connect",
            "--profile",
            "main,other",
            "--region",
            "us-east-1,eu-west-1",
            "b-west-cache",
        ],
        "echo in-b-$((2*3))\nexit\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("in-b-6"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");

    // `locked` builds its clients but cannot assume its role: its listing fails, which is
    // one line, and main's a-east-web still opens.
    let out = connect(
        &sandbox,
        &emulator.endpoint,
        &["connect", "--profile", "main,locked", "a-east-web"],
        "echo past-the-lock\nexit\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("past-the-lock"), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("gangway: locked/us-east-1: "),
        "{stderr}"
    );
    assert!(lines[0].contains("sts:AssumeRole"), "{stderr}");
}
