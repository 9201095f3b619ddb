//! `gangway cp` after things go wrong: websocket cuts during a copy (the emulator's fault
//! injection) are resumed without losing a byte, and a download whose process was killed
//! continues from its part file and progress record instead of starting over.

use std::time::{Duration, Instant};

use aws_sdk_ssm::types::SessionState;

use crate::support::PATIENCE;
use crate::support::aws_clients::{ADMIN, ssm_at};
use crate::support::copy::{CopyRig, assert_copied, random_file, sha256_of, text};

/// The number after `key: ` in the last "copy finished" line of the log.
fn last_summary_field(log: &str, key: &str) -> u64 {
    let line = log
        .lines()
        .rev()
        .find(|line| line.contains("copy finished"))
        .expect("a copy finished line in the log");
    let at = line.find(&format!("{key}: ")).expect(key) + key.len() + 2;
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_survive_websocket_cuts() {
    let rig = CopyRig::start(&["--faults", "cut-every=1s"]).await;
    let local = rig.dir.join("local.bin");
    let sum = random_file(&local, 6 << 20);
    let remote = rig.dir.join("remote.bin");
    let up = rig
        .cp(&[local.to_str().unwrap(), &rig.remote(&remote)])
        .await;
    assert_copied(&up);
    assert_eq!(sha256_of(&remote), sum);
    let back = rig.dir.join("back.bin");
    let down = rig
        .cp(&[
            "--sessions",
            "4",
            &rig.remote(&remote),
            back.to_str().unwrap(),
        ])
        .await;
    assert_copied(&down);
    assert_eq!(sha256_of(&back), sum);
    assert!(
        last_summary_field(&rig.log(), "resumes") > 0,
        "the download went through resumed websockets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_download_continues_where_it_stopped() {
    let rig = CopyRig::start(&[]).await;
    // The emulator's instance is this machine: the "remote" file is written directly.
    let remote = rig.dir.join("remote.bin");
    let size = 12 << 20;
    let sum = random_file(&remote, size);
    let local = rig.dir.join("local.bin");
    let record = rig.dir.join("local.bin.gangway-part.progress");
    let part = rig.dir.join("local.bin.gangway-part");
    let mut child = rig.spawn_cp(&[
        "--sessions",
        "2",
        &rig.remote(&remote),
        local.to_str().unwrap(),
    ]);
    wait_for_a_recorded_range(&record).await;
    child.start_kill().unwrap();
    let killed = child.wait_with_output().await.unwrap();
    assert!(!killed.status.success());
    assert!(
        part.exists() && record.exists(),
        "the part file and record stay"
    );
    assert!(!local.exists());

    let rerun = rig
        .cp(&[
            "--sessions",
            "2",
            &rig.remote(&remote),
            local.to_str().unwrap(),
        ])
        .await;
    assert_copied(&rerun);
    assert_eq!(sha256_of(&local), sum, "{}", text(&rerun.stderr));
    assert!(
        !part.exists() && !record.exists(),
        "cleaned up after success"
    );
    let resumed = last_summary_field(&rig.log(), "resumed_bytes");
    assert!(
        resumed > 0 && resumed < size as u64,
        "the rerun fetched only what was missing ({resumed} bytes were there)"
    );
}

/// Waits until the progress record of `record` lists a verified range.
async fn wait_for_a_recorded_range(record: &std::path::Path) {
    let give_up = Instant::now() + PATIENCE;
    while !std::fs::read_to_string(record)
        .unwrap_or_default()
        .contains("\"done\":[[")
    {
        assert!(Instant::now() < give_up, "no range was recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A session that ends under a download (an administrator's TerminateSession) takes no
/// range with it: the ranges it held go back in the queue, another session is opened, and
/// the file still arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_of_a_session_that_ends_are_fetched_again() {
    let rig = CopyRig::start(&[]).await;
    let remote = rig.dir.join("remote.bin");
    let sum = random_file(&remote, 6 << 20);
    let local = rig.dir.join("local.bin");
    let child = rig.spawn_cp(&[
        "--sessions",
        "2",
        &rig.remote(&remote),
        local.to_str().unwrap(),
    ]);
    wait_for_a_recorded_range(&rig.dir.join("local.bin.gangway-part.progress")).await;
    let ssm = ssm_at(&rig.endpoint, ADMIN);
    let active = ssm
        .describe_sessions()
        .state(SessionState::Active)
        .send()
        .await
        .unwrap();
    let victim = active.sessions()[0].session_id().unwrap().to_owned();
    ssm.terminate_session()
        .session_id(&victim)
        .send()
        .await
        .unwrap();
    let out = tokio::time::timeout(PATIENCE * 5, child.wait_with_output())
        .await
        .expect("gangway cp hung")
        .unwrap();
    assert_copied(&out);
    assert_eq!(sha256_of(&local), sum);
    assert!(
        rig.log().contains("copy session lost"),
        "the terminated session was noticed and replaced"
    );
}
