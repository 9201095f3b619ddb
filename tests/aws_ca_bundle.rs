//! `AWS_CA_BUNDLE` is honoured for AWS API calls: a TLS endpoint signed by a private CA is
//! rejected without the bundle and trusted with it. The endpoint is `openssl s_server`, so the
//! trusted case fails later, at HTTP, which is exactly what shows the TLS trust changed.
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
