//! A tunnel started from the UI's effect path against the emulator: `Effect::StartTunnel`
//! through the executor (the tunnel layer on this runtime), bytes echoed through the local
//! port by a server behind the instance, the connection counted in the model, then
//! `Effect::StopTunnel` ends it with its reason.
use std::time::Duration;

use gangway::emulator::Fleet;
use gangway::tui::effect::Effect;
use gangway::tui::executor::Executor;
use gangway::tui::fixtures;
use gangway::tui::keymap::Keymap;
use gangway::tui::model::{Model, Settings, ShellTarget};
use gangway::tui::msg::Msg;
use gangway::tui::tunnel_list::{TunnelRequest, TunnelState};
use gangway::tui::update::update;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::support::PATIENCE;
use crate::support::aws_clients::{ADMIN, REGION, aws_client};
use crate::support::emulator::start_fleet;
use crate::support::forward::{EchoServer, INSTANCE, INSTANCE_NAME, fleet_file};

/// Applies answers until `done` holds for the model, or fails after the deadline.
async fn until(
    model: &mut Model,
    answers: &mut UnboundedReceiver<Msg>,
    what: &str,
    done: impl Fn(&Model) -> bool,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    while !done(model) {
        let msg = tokio::time::timeout_at(deadline, answers.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}: {:?}", model.tunnels))
            .expect("executor gone");
        update(model, msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_from_the_ui_carries_bytes_counts_connections_and_stops() {
    let echo = EchoServer::start().await;
    let fleet = Fleet::load(&fleet_file(&[(5432, echo.addr)], &[])).unwrap();
    let emulator = start_fleet(fleet).await;
    let client = aws_client(&emulator.endpoint, ADMIN);
    let mut model = Model::new(
        fixtures::now(),
        vec![REGION.into()],
        Keymap::defaults(false),
        Settings::default(),
    );
    let (sender, mut answers) = unbounded_channel();
    let executor = Executor::new(vec![client], sender, Vec::new(), model.access_scope());
    let target = ShellTarget {
        instance_id: gangway::aws::InstanceId::from_aws(INSTANCE),
        name: Some(INSTANCE_NAME.into()),
        region: REGION.into(),
    };
    let request = TunnelRequest {
        local_port: 0,
        remote_port: 5432,
        host: None,
    };
    let id = model.tunnels.add(target.clone(), request.clone());
    executor.spawn(Effect::StartTunnel {
        id,
        target,
        request,
    });
    until(&mut model, &mut answers, "listening", |m| {
        m.tunnels.items[0].state == TunnelState::Listening
    })
    .await;
    let local = model.tunnels.items[0].local.expect("listening address");
    assert_ne!(local.port(), 0);

    let mut stream = tokio::time::timeout(PATIENCE, TcpStream::connect(local))
        .await
        .unwrap()
        .unwrap();
    let payload: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    stream.write_all(&payload).await.unwrap();
    let mut back = vec![0u8; payload.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, payload);
    until(&mut model, &mut answers, "the connection counted", |m| {
        m.tunnels.items[0].connections == 1
    })
    .await;
    until(&mut model, &mut answers, "the traffic sampled", |m| {
        let row = &m.tunnels.items[0];
        row.bytes_up >= payload.len() as u64 && row.bytes_down >= payload.len() as u64
    })
    .await;

    executor.spawn(Effect::StopTunnel(id));
    until(&mut model, &mut answers, "the end", |m| {
        !m.tunnels.items[0].is_running()
    })
    .await;
    assert_eq!(
        model.tunnels.items[0].state,
        TunnelState::Ended("stopped".into())
    );
    // The listener is gone: the port refuses (or the connection closes at once).
    let after = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(local)).await;
    if let Ok(Ok(mut stream)) = after {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "still forwarding");
    }
    executor.stop_tunnels().await;
}
