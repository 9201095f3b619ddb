//! The transport against a fake service+agent built from `proto` alone (no emulator):
//! echo of large input, resume after cuts with nothing lost, resume refused, websocket
//! refused, channel_closed reasons, corrupted links, and the CONNECT proxy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gangway::transport::{
    Backoff, ChannelEvent, ChannelOptions, Dialer, Resumer, SecretString, SessionChannel,
    SessionEndpoint, TransportError,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::fake_service::{Behaviour, FakeService, Record, SESSION_ID};

fn endpoint(service: &FakeService) -> SessionEndpoint {
    SessionEndpoint {
        session_id: SESSION_ID.into(),
        stream_url: SecretString::new(service.url.clone()),
        token: SecretString::new("token-0"),
    }
}

/// ResumeSession stand-in: mints `token-N`, registers it with the fake service.
fn resumer(record: &Record, calls: Arc<AtomicUsize>, give_up: bool) -> Resumer {
    let tokens = Arc::clone(&record.valid_tokens);
    Arc::new(move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        let tokens = Arc::clone(&tokens);
        Box::pin(async move {
            if give_up {
                return Ok(None);
            }
            let token = format!("token-{n}");
            tokens.lock().unwrap().push(token.clone());
            Ok(Some(SecretString::new(token)))
        })
    })
}

fn fast_options() -> ChannelOptions {
    ChannelOptions {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            attempts: 8,
        },
        ..ChannelOptions::default()
    }
}

fn dialer() -> Dialer {
    Dialer::with_env(HashMap::new()).unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Sends `data` in odd-sized pieces from another task and collects the echo.
async fn echo_through(channel: &mut SessionChannel, data: Vec<u8>) -> (Vec<u8>, Vec<ChannelEvent>) {
    let input = channel.input();
    let expected = data.len();
    let sender = tokio::spawn(async move {
        for piece in data.chunks(3000) {
            input.send_input(piece.to_vec()).await.unwrap();
        }
    });
    let mut got = Vec::new();
    let mut others = Vec::new();
    let mut ready = false;
    while got.len() < expected {
        match channel.next_event().await.unwrap() {
            ChannelEvent::Output(bytes) if !ready => {
                assert_eq!(bytes, b"READY\n");
                ready = true;
            }
            ChannelEvent::Output(bytes) => got.extend(bytes),
            event if event.is_final() => panic!("ended early: {event:?}"),
            event => others.push(event),
        }
    }
    sender.await.unwrap();
    (got, others)
}

#[tokio::test]
async fn large_input_is_echoed_byte_exact() {
    let service = FakeService::start(Behaviour::default()).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut channel = SessionChannel::open(
        endpoint(&service),
        dialer(),
        resumer(&service.record, calls.clone(), false),
        fast_options(),
    )
    .await
    .unwrap();
    assert_eq!(channel.next_event().await, Some(ChannelEvent::Opened));
    let data = pattern(4 << 20);
    let (got, _) = echo_through(&mut channel, data.clone()).await;
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no resume without a cut");
    let opens = service.record.opens.lock().unwrap().clone();
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0]["MessageSchemaVersion"], "1.0");
    assert_eq!(opens[0]["TokenValue"], "token-0");
}

#[tokio::test]
async fn cut_sockets_are_resumed_and_nothing_is_lost() {
    let behaviour = Behaviour {
        cut_after_frames: vec![300, 700, 50],
        ..Behaviour::default()
    };
    let service = FakeService::start(behaviour).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut channel = SessionChannel::open(
        endpoint(&service),
        dialer(),
        resumer(&service.record, calls.clone(), false),
        fast_options(),
    )
    .await
    .unwrap();
    let data = pattern(2 << 20);
    let (got, events) = echo_through(&mut channel, data.clone()).await;
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echo differs after resume");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one ResumeSession per cut");
    let reconnects = events
        .iter()
        .filter(|e| **e == ChannelEvent::Reconnected)
        .count();
    assert_eq!(reconnects, 3);
    // §1.4 / §7.2: same ClientId, fresh RequestId and the new token on every reconnect.
    let opens = service.record.opens.lock().unwrap().clone();
    assert_eq!(opens.len(), 4);
    let client_ids: Vec<_> = opens.iter().map(|o| o["ClientId"].clone()).collect();
    assert!(client_ids.windows(2).all(|w| w[0] == w[1]));
    let mut request_ids: Vec<_> = opens.iter().map(|o| o["RequestId"].to_string()).collect();
    request_ids.dedup();
    assert_eq!(request_ids.len(), 4);
    assert_eq!(opens[3]["TokenValue"], "token-3");
}

#[tokio::test]
async fn a_session_gone_while_disconnected_is_reported() {
    let behaviour = Behaviour {
        cut_after_frames: vec![2],
        ..Behaviour::default()
    };
    let service = FakeService::start(behaviour).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut channel = SessionChannel::open(
        endpoint(&service),
        dialer(),
        resumer(&service.record, calls, true),
        fast_options(),
    )
    .await
    .unwrap();
    channel.send_input(b"hello".to_vec()).await.unwrap();
    channel.resize(100, 40).await.unwrap();
    let end = loop {
        let event = channel.next_event().await.unwrap();
        if event.is_final() {
            break event;
        }
    };
    assert_eq!(end, ChannelEvent::Lost(TransportError::SessionTimedOut));
}

#[tokio::test]
async fn a_refused_websocket_is_one_clear_line_without_secrets() {
    let behaviour = Behaviour {
        refuse_status: Some(403),
        ..Behaviour::default()
    };
    let service = FakeService::start(behaviour).await;
    let error = SessionChannel::open(
        endpoint(&service),
        dialer(),
        resumer(&service.record, Arc::default(), false),
        fast_options(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error, TransportError::Refused { status: 403 });
    let text = error.to_string();
    assert!(
        !text.contains("data-channel/") && !text.contains("token-0"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named_without_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let endpoint = SessionEndpoint {
        session_id: SESSION_ID.into(),
        stream_url: SecretString::new(format!(
            "ws://127.0.0.1:{port}/v1/data-channel/secret-sid?x=1"
        )),
        token: SecretString::new("token-0"),
    };
    let error = SessionChannel::open(
        endpoint,
        dialer(),
        resumer(&Record::default(), Arc::default(), false),
        fast_options(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(error, TransportError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret-sid"));
}

#[tokio::test]
async fn channel_closed_carries_the_reason_and_size_goes_after_open() {
    let behaviour = Behaviour {
        close_after_bytes: Some((5, "Session terminated: idle for 2 seconds".into())),
        ..Behaviour::default()
    };
    let service = FakeService::start(behaviour).await;
    let mut channel = SessionChannel::open(
        endpoint(&service),
        dialer(),
        resumer(&service.record, Arc::default(), false),
        fast_options(),
    )
    .await
    .unwrap();
    channel.resize(132, 43).await.unwrap();
    channel.send_input(b"12345".to_vec()).await.unwrap();
    let end = loop {
        let event = channel.next_event().await.unwrap();
        if event.is_final() {
            break event;
        }
    };
    assert_eq!(
        end,
        ChannelEvent::Closed {
            reason: Some("Session terminated: idle for 2 seconds".into())
        }
    );
    assert_eq!(*service.record.sizes.lock().unwrap(), [(132, 43)]);
}

#[tokio::test]
async fn a_link_that_corrupts_every_frame_is_reported() {
    let behaviour = Behaviour {
        garbage_frames: 200,
        ..Behaviour::default()
    };
    let service = FakeService::start(behaviour).await;
    let mut channel = SessionChannel::open(
        endpoint(&service),
        dialer(),
        resumer(&service.record, Arc::default(), false),
        fast_options(),
    )
    .await
    .unwrap();
    let end = loop {
        let event = channel.next_event().await.unwrap();
        if event.is_final() {
            break event;
        }
    };
    assert!(
        matches!(
            end,
            ChannelEvent::Lost(TransportError::CorruptedFrames { .. })
        ),
        "{end:?}"
    );
}

/// A CONNECT proxy that tunnels every request to `target_port` on loopback and records
/// the CONNECT lines it saw.
async fn start_proxy(target_port: u16) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    head.push(client.read_u8().await.unwrap());
                }
                let head = String::from_utf8(head).unwrap();
                log.lock()
                    .unwrap()
                    .push(head.lines().next().unwrap().to_owned());
                let mut upstream = tokio::net::TcpStream::connect(("127.0.0.1", target_port))
                    .await
                    .unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn the_websocket_goes_through_an_http_proxy_via_connect() {
    let service =
        FakeService::start_at_host(Behaviour::default(), "ssmmessages.gangway.test").await;
    let (proxy_port, seen) = start_proxy(service.port()).await;
    let env = HashMap::from([(
        "HTTP_PROXY".to_owned(),
        format!("http://127.0.0.1:{proxy_port}"),
    )]);
    let mut channel = SessionChannel::open(
        endpoint(&service),
        Dialer::with_env(env).unwrap(),
        resumer(&service.record, Arc::default(), false),
        fast_options(),
    )
    .await
    .unwrap();
    let (got, _) = echo_through(&mut channel, b"through the proxy".to_vec()).await;
    assert_eq!(got, b"through the proxy");
    let lines = seen.lock().unwrap().clone();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("CONNECT ssmmessages.gangway.test:"),
        "{lines:?}"
    );
}
