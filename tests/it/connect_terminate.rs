//! `gangway connect` ends its remote session when it is signalled: shell-type sessions ignore
//! the TerminateSession flag (protocol.md §6.1, quirk 26), so gangway calls the
//! TerminateSession API, and the session shows as Terminated in History.
use std::time::Duration;

use aws_sdk_ssm::types::SessionState;

use crate::support::aws_clients::{ADMIN, ssm_at};
use crate::support::cli::online_instance;
use crate::support::emulator::spawn;
use crate::support::pty::PtyConnect;

/// Far below the emulator's detached grace (60 s) and the idle timeout (20 min).
const ENDED_WITHIN: Duration = Duration::from_secs(20);

async fn sessions(ssm: &aws_sdk_ssm::Client, state: SessionState) -> Vec<(String, String)> {
    let out = ssm.describe_sessions().state(state).send().await.unwrap();
    out.sessions()
        .iter()
        .map(|s| {
            let status = s
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            (s.session_id().unwrap_or_default().to_owned(), status)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_remote_session() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap();
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let mut session = PtyConnect::spawn(&emulator.endpoint, ADMIN, &[id], 24, 80).await;
    session.write(b"echo marker-$((40+2))\r").await;
    session.expect("marker-42").await;
    let active = sessions(&ssm, SessionState::Active).await;
    assert_eq!(active.len(), 1, "{active:?}");
    let session_id = active[0].0.clone();

    let pid = Pid::from_raw(i32::try_from(session.child.id().unwrap()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    assert_eq!(session.finish().await, 143, "{}", session.text());

    // Well inside the emulator's 60 s detached grace, after which a session nobody resumes
    // ends anyway: only TerminateSession can have ended it this soon.
    let deadline = tokio::time::Instant::now() + ENDED_WITHIN;
    loop {
        let history = sessions(&ssm, SessionState::History).await;
        if history
            .iter()
            .any(|(sid, status)| *sid == session_id && status == "Terminated")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session {session_id} still not Terminated in History: {history:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
