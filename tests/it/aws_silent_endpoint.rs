//! An endpoint that accepts TCP connections and never answers (a black-holing proxy, a
//! wrong port on a busy host): gangway must give up within its stated bound with a message
//! that says so, not after 92 s of silence (issue 16).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::emulator::GANGWAY;

/// The bound gangway promises (src/aws/client.rs OPERATION_TIMEOUT) and a margin for a
/// loaded machine; the old behaviour took about 92 s.
const BOUND: Duration = Duration::from_secs(25);
const MARGIN: Duration = Duration::from_secs(20);

#[test]
fn a_silent_endpoint_fails_within_the_bound_with_a_message() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps every connection open without a byte of answer.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("silent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let mut child = Command::new(GANGWAY)
        .args(["list", "--region", "us-east-1", "--endpoint-url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAGANGWAYADMIN")
        .env("AWS_SECRET_ACCESS_KEY", "gangway")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = started + BOUND + MARGIN;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("gangway list still waiting after {:?}", started.elapsed());
        }
        std::thread::park_timeout(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}"))
            && stderr.contains("did not answer within 25 s"),
        "{stderr}"
    );
    assert!(elapsed < BOUND + MARGIN, "{elapsed:?}");
}
