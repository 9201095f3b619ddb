//! `gangway cp` of one file each way, as a real process, timed from spawn to exit; every
//! download is checked byte-exact against the file uploaded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{GANGWAY, INSTANCE, client_env};

/// A file of `bytes` pseudo-random bytes (incompressible, like the random file of issue 12),
/// and its SHA-256.
pub fn make_file(path: &Path, bytes: usize) -> [u8; 32] {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut data = Vec::with_capacity(bytes);
    while data.len() < bytes {
        // xorshift64*: fast, and no compression or run-length shortcut applies to it.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    data.truncate(bytes);
    std::fs::write(path, &data).unwrap();
    Sha256::digest(&data).into()
}

async fn cp(endpoint: &str, home: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = tokio::process::Command::new(GANGWAY)
        .arg("cp")
        .args(args)
        .envs(client_env(endpoint))
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .status()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(status.success(), "gangway cp {args:?}: {status}");
    took
}

/// Uploads `local` to the instance at `remote`.
pub async fn up(endpoint: &str, home: &Path, local: &Path, remote: &Path) -> Duration {
    let destination = format!("{INSTANCE}:{}", remote.display());
    cp(endpoint, home, &[local.to_str().unwrap(), &destination]).await
}

/// Downloads `remote` with `--sessions N` into a fresh local file, checked against `sha256`.
pub async fn down(
    endpoint: &str,
    home: &Path,
    remote: &Path,
    sessions: u16,
    sha256: &[u8; 32],
) -> Duration {
    let local: PathBuf = home.join(format!("down-{sessions}.bin"));
    let _ = std::fs::remove_file(&local);
    let source = format!("{INSTANCE}:{}", remote.display());
    let took = cp(
        endpoint,
        home,
        &[
            "--sessions",
            &sessions.to_string(),
            &source,
            local.to_str().unwrap(),
        ],
    )
    .await;
    let got: [u8; 32] = Sha256::digest(std::fs::read(&local).unwrap()).into();
    assert_eq!(&got, sha256, "the download differs from the file uploaded");
    std::fs::remove_file(&local).unwrap();
    took
}
