//! `AWS_CA_BUNDLE` is honoured for AWS API calls and for the data-channel websocket: a TLS
//! endpoint signed by a private CA is rejected without the bundle and trusted with it. The API
//! endpoint is `openssl s_server`, so the trusted case fails later, at HTTP, which is exactly
//! what shows the TLS trust changed; the websocket endpoint is a real wss:// server.
#![allow(clippy::unwrap_used)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const GANGWAY: &str = env!("CARGO_BIN_EXE_gangway");

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .expect("this test needs the openssl command");
    assert!(status.success(), "openssl {args:?}");
}

/// A private CA and a leaf certificate for 127.0.0.1 signed by it.
fn make_certificates() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ca-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=gangway test CA",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "ext",
        ],
    );
    dir
}

struct TlsServer {
    child: Child,
    endpoint: String,
}

impl TlsServer {
    /// `s_server -rev` answers every line with garbage, never HTTP, and never hangs.
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
                "leaf.pem",
                "-key",
                "leaf.key",
                "-rev",
                "-quiet",
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let address = format!("127.0.0.1:{port}");
        while TcpStream::connect(&address).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self {
            child,
            endpoint: format!("https://{address}"),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn list(endpoint: &str, ca_bundle: Option<&Path>) -> Output {
    let mut command = Command::new(GANGWAY);
    command
        .args(["list", "--output", "json"])
        .env_clear()
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAGANGWAYADMIN")
        .env("AWS_SECRET_ACCESS_KEY", "gangway")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint);
    if let Some(bundle) = ca_bundle {
        command.env("AWS_CA_BUNDLE", bundle);
    }
    command.output().unwrap()
}

#[test]
fn a_private_ca_is_trusted_only_through_aws_ca_bundle() {
    let dir = make_certificates();
    let server = TlsServer::start(&dir);

    let untrusted = list(&server.endpoint, None);
    let stderr = String::from_utf8(untrusted.stderr).unwrap();
    assert_eq!(untrusted.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("UnknownIssuer") && stderr.contains("AWS_CA_BUNDLE"),
        "{stderr}"
    );

    let trusted = list(&server.endpoint, Some(&dir.join("ca.pem")));
    let stderr = String::from_utf8(trusted.stderr).unwrap();
    assert!(!trusted.status.success());
    assert!(
        !stderr.contains("certificate"),
        "TLS passed, HTTP failed: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let missing = list(&server.endpoint, Some(&dir.join("no-such.pem")));
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(missing.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("AWS_CA_BUNDLE=") && stderr.contains("cannot be used"),
        "{stderr}"
    );
}

/// A wss:// server with the leaf certificate: accepts one websocket and reports the first
/// text message (the OpenDataChannel frame).
async fn wss_server(dir: &Path) -> (String, tokio::sync::oneshot::Receiver<String>) {
    use futures_util::StreamExt;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_file_iter(dir.join("leaf.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (opened, open_text) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut opened = Some(opened);
        // The untrusted attempt fails its handshake; the trusted one gets through.
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                continue;
            };
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = ws.next().await
                && let Some(opened) = opened.take()
            {
                let _ = opened.send(text.to_string());
            }
        }
    });
    let url = format!("wss://127.0.0.1:{port}/v1/data-channel/admin-0123456789abcdef0");
    (url, open_text)
}

#[tokio::test]
async fn the_data_channel_websocket_trusts_a_private_ca_only_through_aws_ca_bundle() {
    use gangway::transport::{Dialer, SecretString};
    use std::collections::HashMap;

    let dir = make_certificates();
    let (url, open_text) = wss_server(&dir).await;
    let url = SecretString::from(url);
    let token = SecretString::from("secret-token-value".to_owned());

    let untrusted = Dialer::with_env(HashMap::new()).unwrap();
    let error = untrusted.dial(&url, &token).await.unwrap_err().to_string();
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(
        !error.contains("wss://") && !error.contains("secret-token"),
        "{error}"
    );

    let bundle = dir.join("ca.pem").display().to_string();
    let trusted = Dialer::with_env(HashMap::from([("AWS_CA_BUNDLE".to_owned(), bundle)])).unwrap();
    let _socket = trusted.dial(&url, &token).await.unwrap();
    let open: serde_json::Value = serde_json::from_str(&open_text.await.unwrap()).unwrap();
    assert_eq!(open["TokenValue"], "secret-token-value");
}
