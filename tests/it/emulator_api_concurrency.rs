//! The emulator under concurrent and misbehaving clients: no request waits on another, and
//! the session registry hands out unique ids under contention.

use std::collections::HashSet;

use gangway::emulator::Fleet;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::support::aws_clients::{ADMIN, DEV, ec2, ssm};
use crate::support::emulator::start_fleet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_start_sessions_get_unique_ids() {
    let fleet = Fleet::generated(10);
    let emulator = start_fleet(fleet.clone()).await;
    let mut tasks = JoinSet::new();
    for index in 0..64 {
        let client = ssm(&emulator, ADMIN);
        let target = fleet.instances[index % 9].id.clone();
        tasks.spawn(async move {
            let output = client.start_session().target(target).send().await.unwrap();
            output.session_id().unwrap().to_owned()
        });
    }
    let mut ids = HashSet::new();
    while let Some(id) = tasks.join_next().await {
        assert!(ids.insert(id.unwrap()));
    }
    assert_eq!(ids.len(), 64);
    let active = emulator.state().sessions.active();
    assert_eq!(
        active.iter().map(|r| r.id.clone()).collect::<HashSet<_>>(),
        ids
    );
}

#[tokio::test]
async fn stalled_and_garbage_connections_do_not_block_other_clients() {
    let emulator = start_fleet(Fleet::demo()).await;
    let address = emulator.local_addr;
    // Half a request line, never finished; a body shorter than its Content-Length; raw junk.
    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut short_body = TcpStream::connect(address).await.unwrap();
    short_body
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAction=Desc")
        .await
        .unwrap();
    let mut junk = TcpStream::connect(address).await.unwrap();
    junk.write_all(&[0u8, 0xff, 0x16, 0x03, 0x01, b'\n', b'\r', 0x80])
        .await
        .unwrap();

    let output = ec2(&emulator, DEV)
        .describe_instances()
        .send()
        .await
        .unwrap();
    assert!(!output.reservations().is_empty());
    let sessions = ssm(&emulator, DEV)
        .describe_sessions()
        .state(aws_sdk_ssm::types::SessionState::Active)
        .send()
        .await
        .unwrap();
    assert!(sessions.sessions().is_empty());
    drop((stalled, short_body, junk));
}

#[tokio::test]
async fn shutdown_closes_the_port_and_ends_sessions() {
    let fleet = Fleet::generated(3);
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, DEV);
    let session = client
        .start_session()
        .target(&fleet.instances[0].id)
        .send()
        .await
        .unwrap();
    let state = std::sync::Arc::clone(emulator.state());
    let address = emulator.local_addr;
    emulator.shutdown().await;
    assert!(
        TcpStream::connect(address).await.is_err(),
        "nothing listens any more"
    );
    let record = state.sessions.get(session.session_id().unwrap()).unwrap();
    assert!(!record.is_active(), "sessions end with the emulator");
}

#[tokio::test]
async fn wildcard_addresses_need_allow_remote_and_advertise_loopback() {
    let mut config = gangway::emulator::EmulatorConfig::new(Fleet::demo());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let refused = gangway::emulator::start(config.clone()).await;
    assert!(matches!(
        refused,
        Err(gangway::emulator::EmulatorError::RemoteNotAllowed(_))
    ));
    config.allow_remote = true;
    let emulator = gangway::emulator::start(config).await.unwrap();
    let port = emulator.local_addr.port();
    assert_eq!(emulator.endpoint, format!("http://127.0.0.1:{port}"));
    let output = ec2(&emulator, DEV).describe_images().send().await.unwrap();
    assert_eq!(output.images().len(), 3);
}
