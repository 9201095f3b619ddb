//! `gangway ssh-proxy` (AWS-StartSSHSession on stdin/stdout, for ssh's ProxyCommand):
//! arbitrary binary both ways, byte-exact (no CR, LF or EOT rewriting on this path).

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::cli::{aws_env, exited, pipe_payload, spawn_piped};
use crate::support::emulator::{GANGWAY, spawn};
use crate::support::forward::{EchoServer, INSTANCE_NAME, fleet_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_proxy_carries_arbitrary_binary_both_ways() {
    // "sshd" is an echo server on the instance's port 2222.
    let echo = EchoServer::start().await;
    let fleet = fleet_file(&[(2222, echo.addr)], &[]);
    let emulator = spawn(&["--fleet", fleet.to_str().unwrap()]);
    let mut child = spawn_piped(
        Command::new(GANGWAY)
            .args(["ssh-proxy", INSTANCE_NAME, "2222"])
            .envs(aws_env(&emulator.endpoint, ADMIN)),
    );
    // Every byte value, and the ones a terminal path would rewrite, alone and in runs:
    // a lone LF (the plugin's quirk turns it into CR), CR LF, EOT, Ctrl-C.
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend_from_slice(b"\n\r\n\x04\x03\x1c\n");
    data.extend(pipe_payload(2 << 20));
    let expected = Sha256::digest(&data);
    let size = data.len();
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        // One lone LF in a write of its own first: the plugin's quirk works per read.
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
        stdin.write_all(&data).await.unwrap();
        stdin
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut back = vec![0u8; size + 1];
    tokio::time::timeout(PATIENCE * 2, stdout.read_exact(&mut back))
        .await
        .expect("the echo did not come back")
        .unwrap();
    assert_eq!(back[0], b'\n');
    assert_eq!(Sha256::digest(&back[1..]), expected);
    // The SSH client is done: stdin ends, and ssh-proxy exits 0 (as the plugin does).
    drop(writer.await.unwrap());
    let (status, stderr) = exited(
        &mut child,
        PATIENCE,
        "ssh-proxy did not exit after stdin ended",
    )
    .await;
    assert_eq!(status.code(), Some(0), "{stderr}");
}
