//! `gangway connect` ends its remote session when it is signalled: shell-type sessions ignore
//! the TerminateSession flag (protocol.md §6.1, quirk 26), so gangway calls the
//! TerminateSession API, and the session shows as Terminated in History.
use std::time::Duration;

use crate::support::aws_clients::{ADMIN, only_active_session, ssm_at, until_terminated};
use crate::support::cli::online_instance;
use crate::support::emulator::spawn;
use crate::support::pty::PtyConnect;

/// Far below the emulator's detached grace (60 s) and the idle timeout (20 min).
const ENDED_WITHIN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_remote_session() {
    use nix::sys::signal::Signal;

    use crate::support::cli::send_signal;

    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
    session.write(b"echo marker-$((40+2))\r").await;
    session.expect("marker-42").await;
    let session_id = only_active_session(&ssm).await;

    send_signal(&session.child, Signal::SIGTERM);
    assert_eq!(session.finish().await, 143, "{}", session.text());

    // Well inside the emulator's 60 s detached grace, after which a session nobody resumes
    // ends anyway: only TerminateSession can have ended it this soon.
    until_terminated(&ssm, ENDED_WITHIN, &session_id).await;
}
