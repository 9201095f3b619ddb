//! Volume and faults through the emulator's agent: 16 MiB byte-exact under random socket
//! cuts (frames lost with the socket), duplication and reordering across resumes, and two more
//! cuts; 50 concurrent sessions echoing 1 MiB each;
//! periodic cuts from `cut-every`. Same client as `emulator_agent.rs` (proto + tungstenite).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gangway::emulator::faults::FaultSpec;
use gangway::proto::SplitMix64;
use sha2::{Digest, Sha256};

use crate::support::PATIENCE;
use crate::support::agent_client::{Client, config, instance_in, open_command, start_session};
use crate::support::aws_clients::{DEV, ssm};
use crate::support::emulator::start;

/// At the real agent's pace (~1 MiB/s) this is about 20 s; it was 64 MiB when the emulator
/// read as fast as it could.
const SIXTEEN_MIB: u64 = 16 * 1024 * 1024;

/// What `seq 1 N | head -c LIMIT` prints, hashed.
fn expected_seq_digest(limit: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut line = String::new();
    let mut number = 1u64;
    while written < limit {
        line.clear();
        line.push_str(&number.to_string());
        line.push('\n');
        let take = (limit - written).min(line.len() as u64) as usize;
        hasher.update(&line.as_bytes()[..take]);
        written += take as u64;
        number += 1;
    }
    hasher.finalize().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_arrive_byte_exact_under_faults_and_two_cuts() {
    let mut config = config(3);
    // Faults as they really happen (docs/emulator.md): `drop` cuts the socket with what is in
    // flight on it, dup/reorder only right after a resume. About 4 random cuts plus the two
    // below; the frames each cut loses come back one per 100 ms (head-only resend,
    // protocol.md §7.4). The agent keeps its real pace: it decides how much is in flight at
    // a cut, so without it a cut would lose far more than it can with AWS.
    config.faults = FaultSpec::parse("drop=0.0001,dup=0.2,reorder=0.2,seed=11").unwrap();
    let emulator = start(config).await;
    // Raw mode so the PTY passes bytes unchanged (no \n -> \r\n).
    let command = format!("stty raw -echo; seq 1 100000000 | head -c {SIXTEEN_MIB}");
    let expected = tokio::task::spawn_blocking(|| expected_seq_digest(SIXTEEN_MIB));

    let mut client = open_command(&emulator, "AWS-StartInteractiveCommand", &command).await;
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let sink_hasher = Arc::clone(&hasher);
    client.sink = Some(Box::new(move |bytes| {
        sink_hasher.lock().unwrap().update(bytes)
    }));

    for cut_at in [SIXTEEN_MIB / 3, 2 * SIXTEEN_MIB / 3] {
        client
            .pump_until(Duration::from_secs(600), |c| c.received_bytes >= cut_at)
            .await;
        client.cut();
    }
    client
        .pump_until(Duration::from_secs(600), |c| {
            c.received_bytes >= SIXTEEN_MIB
        })
        .await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert_eq!(client.received_bytes, SIXTEEN_MIB);
    assert!(client.resumes >= 2, "resumed {} times", client.resumes);
    let digest: [u8; 32] = hasher.lock().unwrap().clone().finalize().into();
    assert_eq!(
        digest,
        expected.await.unwrap(),
        "SHA-256 of the 16 MiB differs"
    );
    let stats = client.session.stats();
    eprintln!(
        "16 MiB: {} resumes, client stats: duplicates {} out-of-order {} retransmissions {}",
        client.resumes,
        stats.duplicates_received,
        stats.out_of_order_received,
        stats.retransmissions
    );
    assert!(stats.duplicates_received > 0 && stats.out_of_order_received > 0);
}

fn session_data(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    data.truncate(len);
    // As the agent's output scan passes them (protocol.md §5.3; agent: shell.go, func
    // processStdoutData): a valid U+FFFD (EF BF BD) would come back as its first byte
    // alone, and undecodable bytes held at the end of the last read are never sent; so no
    // EF BF BD, and the data ends in ASCII.
    for at in 0..data.len().saturating_sub(2) {
        if data[at..at + 3] == *b"\xEF\xBF\xBD" {
            data[at + 2] = 0xBC;
        }
    }
    let tail = data.len().saturating_sub(3);
    for byte in &mut data[tail..] {
        *byte = b'.';
    }
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_sessions_each_echo_a_distinct_mebibyte() {
    const SESSIONS: u64 = 50;
    const LEN: usize = 1024 * 1024;
    let emulator = Arc::new(start(config(6)).await);
    let target = instance_in(&emulator, "dev");
    let mut tasks = Vec::new();
    for index in 0..SESSIONS {
        let emulator = Arc::clone(&emulator);
        let target = target.id.clone();
        tasks.push(tokio::spawn(async move {
            let dev = ssm(&emulator, DEV);
            let command = format!("stty raw -echo; printf READY; head -c {LEN}");
            let started = start_session(
                &dev,
                &target,
                Some("AWS-StartInteractiveCommand"),
                Some(&command),
            )
            .await;
            let mut client = Client::open(dev, started).await;
            // Nothing may be sent before the first output (protocol.md §4.1).
            client.until_stdout_contains("READY").await;
            let data = session_data(index, LEN);
            client.send_paced(&data, 64).await;
            client
                .pump_until(Duration::from_secs(600), |c| c.stdout.len() >= LEN + 5)
                .await;
            assert_eq!(client.until_closed(PATIENCE).await, "");
            assert_eq!(&client.stdout[..5], b"READY");
            assert!(
                client.stdout[5..] == data[..],
                "session {index} echo differs"
            );
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(emulator.state().sessions.active().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_every_fault_forces_resumes_and_nothing_is_lost() {
    let mut config = config(3);
    config.faults = FaultSpec::parse("cut-every=700ms").unwrap();
    let emulator = start(config).await;
    // Lasts at least 20 × 0.25 s = 5 s, so several 700 ms cuts must happen.
    let command = "for i in $(seq 1 20); do echo line-$i; sleep 0.25; done";
    let mut client = open_command(&emulator, "AWS-StartInteractiveCommand", command).await;
    match client.until_ended(PATIENCE).await {
        Some(output) => assert_eq!(output, ""),
        // A cut can land just as the shell exits with everything acked: the session then
        // ends with no socket to carry channel_closed, and the resume finds it gone (a
        // loaded machine, slow to resume, hit this 6 times in 96 runs). Its History entry
        // says how it ended; the output check below says nothing was lost.
        None => {
            eprintln!("the session ended while the client was cut off");
            let ended = emulator.state().sessions.history();
            let record = ended
                .iter()
                .find(|record| record.id == client.started.session_id)
                .expect("the session in History");
            assert_eq!(
                record.end_reason.as_deref(),
                Some("The shell exited with code 0.")
            );
        }
    }
    let expected: String = (1..=20).map(|i| format!("line-{i}\r\n")).collect();
    assert_eq!(client.stdout_text(), expected);
    assert!(client.resumes >= 1, "the socket was never cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A client that queues 4 MiB of input at once (4096 messages in flight, as the proto
/// default allows): every input frame is acked, and the acks must not starve the output.
async fn a_burst_of_four_mib_of_input_is_echoed_intact() {
    const LEN: usize = 4 * 1024 * 1024;
    let emulator = start(config(3)).await;
    let command = format!("stty raw -echo; printf READY; head -c {LEN}");
    let mut client = open_command(&emulator, "AWS-StartInteractiveCommand", &command).await;
    client.until_stdout_contains("READY").await;
    let data = session_data(1, LEN);
    client.send(&data);
    client
        .pump_until(Duration::from_secs(600), |c| c.stdout.len() >= LEN + 5)
        .await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    assert!(client.stdout[5..] == data[..], "the echo differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A shell that does not read its input for a while: past its high-water mark the agent
/// refuses input unacked (§5.2 "not ready"), the client keeps the rest, and once the shell
/// reads, every byte arrives. (The agent used to ack everything, so a fast upload into a
/// slow shell queued in the emulator until a 64 MiB guard ended the session.)
async fn a_shell_that_is_not_reading_holds_the_client_back_and_loses_nothing() {
    const LEN: usize = 32 << 20;
    const WINDOW: usize = 1024;
    let emulator = start(config(3)).await;
    let gate = std::env::temp_dir().join(format!("gangway-gate-{}", uuid::Uuid::new_v4()));
    let command = format!(
        "stty raw -echo; printf READY; while [ ! -e {} ]; do sleep 0.05; done; head -c {LEN} | sha256sum",
        gate.display()
    );
    let mut client = open_command(&emulator, "AWS-StartInteractiveCommand", &command).await;
    client.until_stdout_contains("READY").await;
    let data = session_data(3, LEN);

    let sent = client
        .send_until_stalled(&data, WINDOW, Duration::from_secs(2))
        .await;
    let acked_bytes = (sent / 1024).saturating_sub(client.session.unacked_count()) * 1024;
    assert!(
        sent < LEN,
        "the agent took all {LEN} bytes while the shell was not reading"
    );
    // The agent queues at most 8 MiB for the shell; behind the refused message it also
    // acks and holds what arrives ahead of order, at most the client's window (4096
    // messages of 1 KiB by default).
    let bound = (8 << 20) + 4096 * 1024 + (1 << 20);
    assert!(
        acked_bytes < bound,
        "{acked_bytes} bytes acked while the shell was not reading"
    );
    assert!(client.session.stats().retransmissions > 0);

    std::fs::write(&gate, b"").unwrap();
    client.send_paced(&data[sent..], WINDOW).await;
    assert_eq!(client.until_closed(PATIENCE).await, "");
    let _ = std::fs::remove_file(&gate);
    let digest = hex::encode(Sha256::digest(&data));
    assert!(
        client.stdout_text().contains(&digest),
        "remote digest differs: {:?}",
        client.stdout_text()
    );
}
