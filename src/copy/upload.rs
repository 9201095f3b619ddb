//! Local → instance through one session. The agent does not pace what it writes to the pty,
//! so one session carries gangway's full upload speed; base64 costs a third more bytes and
//! buys safety through any line discipline (see `script.rs`). Each file is checked against
//! its SHA-256 on the instance before it replaces the destination; a file already there with
//! the same SHA-256 is left alone, which is what makes a rerun of an interrupted `-r` upload
//! continue where it stopped.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::remote::RemoteShell;
use super::script::{self, Reply, Stat};
use super::{CopyError, Progress, Remote, Summary, join_remote};

/// Bytes read and encoded at a time: a whole number of upload lines (about 1 MiB).
const READ_BYTES: usize = script::UPLOAD_LINE_BYTES * 1400;
/// Encoded chunks waiting for the channel.
const QUEUED_CHUNKS: usize = 4;
/// Sessions opened for one upload before giving up (the first one included).
const SESSION_ATTEMPTS: u32 = 3;

/// What to create on the instance, in order: directories before what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Directory(Vec<u8>),
    File {
        local: PathBuf,
        remote: Vec<u8>,
        size: u64,
    },
}

/// Copies `source` (a file, or with `recursive` a directory) to `destination` on the
/// instance, `cp`-style: into it when it is a directory.
pub async fn upload(
    remote: &Remote,
    source: &Path,
    destination: &[u8],
    recursive: bool,
    progress: &Arc<Progress>,
) -> Result<Summary, CopyError> {
    let metadata = std::fs::metadata(source).map_err(|error| CopyError::LocalRead {
        path: source.to_owned(),
        error,
    })?;
    if metadata.is_dir() && !recursive {
        return Err(CopyError::LocalIsDirectory {
            path: source.to_owned(),
        });
    }
    let mut shell = RemoteShell::open(remote).await?;
    let result = async {
        let into = stat(&mut shell, destination).await?;
        let name = source
            .file_name()
            .map(|n| n.as_encoded_bytes().to_vec())
            .unwrap_or_default();
        let root = match into {
            Stat::Directory if !name.is_empty() => join_remote(destination, &name),
            Stat::File { .. } if metadata.is_dir() => {
                return Err(CopyError::RemoteNotADirectory {
                    path: destination.to_owned(),
                });
            }
            _ => destination.to_owned(),
        };
        let items = if metadata.is_dir() {
            walk(source, &root)?
        } else {
            vec![Item::File {
                local: source.to_owned(),
                remote: root,
                size: metadata.len(),
            }]
        };
        progress.add_total(
            items
                .iter()
                .map(|item| match item {
                    Item::File { size, .. } => *size,
                    Item::Directory(_) => 0,
                })
                .sum(),
        );
        send_items(remote, &mut shell, &items, progress).await
    }
    .await;
    shell.close().await;
    result
}

async fn stat(shell: &mut RemoteShell, path: &[u8]) -> Result<Stat, CopyError> {
    shell.send(script::stat(path)).await?;
    match shell.reply().await? {
        Reply::Stat(stat) => Ok(stat),
        other => Err(unexpected(other)),
    }
}

pub(super) fn unexpected(reply: Reply) -> CopyError {
    CopyError::Session(super::SessionFailure::Remote(format!(
        "the copy script answered out of turn ({reply:?})"
    )))
}

/// Every directory and regular file under `source`, mapped under `root`. Symbolic links
/// and special files are skipped, as `find -type f` would.
fn walk(source: &Path, root: &[u8]) -> Result<Vec<Item>, CopyError> {
    let mut items = vec![Item::Directory(root.to_owned())];
    let mut pending = vec![(source.to_owned(), root.to_owned())];
    while let Some((dir, remote_dir)) = pending.pop() {
        let read_error = |error| CopyError::LocalRead {
            path: dir.clone(),
            error,
        };
        let mut entries = std::fs::read_dir(&dir)
            .map_err(read_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let path = entry.path();
            let remote = join_remote(&remote_dir, entry.file_name().as_encoded_bytes());
            let kind = entry.file_type().map_err(|error| CopyError::LocalRead {
                path: path.clone(),
                error,
            })?;
            if kind.is_dir() {
                items.push(Item::Directory(remote.clone()));
                pending.push((path, remote));
            } else if kind.is_file() {
                let size = entry
                    .metadata()
                    .map_err(|error| CopyError::LocalRead {
                        path: path.clone(),
                        error,
                    })?
                    .len();
                items.push(Item::File {
                    local: path,
                    remote,
                    size,
                });
            }
        }
    }
    Ok(items)
}

async fn send_items(
    remote: &Remote,
    shell: &mut RemoteShell,
    items: &[Item],
    progress: &Arc<Progress>,
) -> Result<Summary, CopyError> {
    let mut summary = Summary::default();
    for item in items {
        match item {
            Item::Directory(path) => {
                shell.send(script::mkdir(path)).await?;
                match shell.reply().await? {
                    Reply::Ok => {}
                    Reply::Error(reason) => {
                        return Err(CopyError::RemoteWrite {
                            path: path.clone(),
                            reason,
                        });
                    }
                    other => return Err(unexpected(other)),
                }
            }
            Item::File {
                local,
                remote: path,
                size,
            } => {
                let mut attempt = 1;
                loop {
                    let before = progress.done();
                    match send_file(shell, local, path, progress).await {
                        Ok(skipped) => {
                            summary.files += 1;
                            summary.bytes += size;
                            summary.skipped += u64::from(skipped);
                            break;
                        }
                        Err(CopyError::Session(failure))
                            if failure.is_transient() && attempt < SESSION_ATTEMPTS =>
                        {
                            tracing::warn!(%failure, attempt, "upload session lost; opening another");
                            attempt += 1;
                            summary.resumes += shell.resumes;
                            // The file is sent again from its start.
                            progress.rewind(progress.done().saturating_sub(before));
                            let fresh = RemoteShell::open(remote).await?;
                            std::mem::replace(shell, fresh).abandon();
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
        }
    }
    summary.resumes += shell.resumes;
    Ok(summary)
}

/// One file: its SHA-256 first (so the instance can say it has it already, and check what
/// arrived), then its bytes as base64 lines, then end-of-file. Returns true when the
/// instance had it already.
async fn send_file(
    shell: &mut RemoteShell,
    local: &Path,
    remote: &[u8],
    progress: &Arc<Progress>,
) -> Result<bool, CopyError> {
    let read_error = |error| CopyError::LocalRead {
        path: local.to_owned(),
        error,
    };
    let mode = std::fs::metadata(local)
        .map_err(read_error)?
        .permissions()
        .mode();
    let digest = {
        let local = local.to_owned();
        tokio::task::spawn_blocking(move || sha256_file(&local))
            .await
            .map_err(|error| read_error(std::io::Error::other(error)))?
            .map_err(read_error)?
    };
    shell.send(script::receive(remote, &digest, mode)).await?;
    match shell.reply().await? {
        Reply::Go => {}
        Reply::Same => {
            let size = std::fs::metadata(local).map(|m| m.len()).unwrap_or(0);
            progress.advance(size);
            return Ok(true);
        }
        Reply::Error(reason) => {
            return Err(CopyError::RemoteWrite {
                path: remote.to_owned(),
                reason,
            });
        }
        other => return Err(unexpected(other)),
    }
    let (chunks, mut encoded) = mpsc::channel::<std::io::Result<(Vec<u8>, u64)>>(QUEUED_CHUNKS);
    let reader_path = local.to_owned();
    let reader = tokio::task::spawn_blocking(move || encode_file(&reader_path, &chunks));
    let mut sent = 0;
    while let Some(chunk) = encoded.recv().await {
        let (lines, raw) = chunk.map_err(read_error)?;
        shell.send(lines).await?;
        sent += raw;
        progress.advance(raw);
    }
    let _ = reader.await;
    shell.send(vec![script::END_OF_FILE]).await?;
    match shell.reply().await? {
        Reply::Ok => Ok(false),
        Reply::Mismatch => Err(CopyError::Verify {
            path: remote.to_owned(),
            detail: format!(
                "the instance's SHA-256 of the {sent} bytes it received is not the local file's (did the file change while it was sent?)"
            ),
        }),
        Reply::Error(reason) => Err(CopyError::RemoteWrite {
            path: remote.to_owned(),
            reason,
        }),
        other => Err(unexpected(other)),
    }
}

/// Reads the file and hands over base64 lines chunk by chunk (a blocking thread).
fn encode_file(path: &Path, chunks: &mpsc::Sender<std::io::Result<(Vec<u8>, u64)>>) {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            let _ = chunks.blocking_send(Err(error));
            return;
        }
    };
    let mut buffer = vec![0; READ_BYTES];
    loop {
        let filled = match read_full(&mut file, &mut buffer) {
            Ok(0) => return,
            Ok(filled) => filled,
            Err(error) => {
                let _ = chunks.blocking_send(Err(error));
                return;
            }
        };
        let line = script::UPLOAD_LINE_CHARS + 1;
        let mut lines = Vec::with_capacity(filled.div_ceil(script::UPLOAD_LINE_BYTES) * line);
        script::encode_lines(&buffer[..filled], &mut lines);
        if chunks.blocking_send(Ok((lines, filled as u64))).is_err() {
            return;
        }
    }
}

/// Fills `buffer` unless the file ends first; returns how much it read.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The SHA-256 of a local file, as lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1024 * 1024];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => hasher.update(&buffer[..n]),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_maps_under_its_root_directories_first() {
        let dir = std::env::temp_dir().join(format!("gangway-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("a.txt"), b"a").unwrap();
        std::fs::write(dir.join("sub/deeper/b.bin"), b"bb").unwrap();
        std::os::unix::fs::symlink("a.txt", dir.join("link")).unwrap();
        let items = walk(&dir, b"/srv/x").unwrap();
        let position = |wanted: &Item| items.iter().position(|i| i == wanted).unwrap();
        let sub = position(&Item::Directory(b"/srv/x/sub".to_vec()));
        let deeper = position(&Item::Directory(b"/srv/x/sub/deeper".to_vec()));
        let b = position(&Item::File {
            local: dir.join("sub/deeper/b.bin"),
            remote: b"/srv/x/sub/deeper/b.bin".to_vec(),
            size: 2,
        });
        assert_eq!(items[0], Item::Directory(b"/srv/x".to_vec()));
        assert!(sub < deeper && deeper < b);
        assert_eq!(items.len(), 5, "the link is skipped: {items:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
