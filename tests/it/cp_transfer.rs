//! `gangway cp` moves files byte-exact both ways through the emulator's agent at its real
//! pace (1 KiB per ms per session): a 64 MiB random file up through one session and down
//! over several, and a directory tree with `-r`, odd names and empty files included.

use std::collections::BTreeMap;
use std::path::Path;

use gangway::commands::exit;

use crate::support::copy::{CopyRig, assert_copied, random_file, sha256_of, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_file_goes_up_and_comes_back_byte_exact() {
    let rig = CopyRig::start(&[]).await;
    let local = rig.dir.join("local.bin");
    let sum = random_file(&local, 64 << 20);
    let remote_dir = rig.dir.join("remote");
    std::fs::create_dir(&remote_dir).unwrap();
    // Into an existing directory: the file keeps its name there.
    let up = rig
        .cp(&[local.to_str().unwrap(), &rig.remote(&remote_dir)])
        .await;
    assert_copied(&up);
    let remote = remote_dir.join("local.bin");
    assert_eq!(sha256_of(&remote), sum, "the upload is byte-exact");
    assert_eq!(
        std::fs::read_dir(&remote_dir).unwrap().count(),
        1,
        "no part file is left beside it"
    );
    let back = rig.dir.join("back.bin");
    let down = rig
        .cp(&[
            "--sessions",
            "16",
            &rig.remote(&remote),
            back.to_str().unwrap(),
        ])
        .await;
    assert_copied(&down);
    assert_eq!(sha256_of(&back), sum, "the download is byte-exact");
    let left: Vec<_> = std::fs::read_dir(&rig.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("gangway-part"))
        .collect();
    assert!(left.is_empty(), "part file and record are gone: {left:?}");
    assert!(
        up.stdout.is_empty() && down.stdout.is_empty() && down.stderr.is_empty(),
        "quiet when not on a terminal: {}",
        text(&down.stderr)
    );
}

/// Every file under `root` by relative path, with its SHA-256 (`None` for a directory).
fn tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                found.insert(relative, None);
                pending.push(path);
            } else {
                found.insert(relative, Some(sha256_of(&path)));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_goes_both_ways_with_r() {
    let rig = CopyRig::start(&[]).await;
    let source = rig.dir.join("project");
    std::fs::create_dir_all(source.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(source.join("empty dir")).unwrap();
    std::fs::write(source.join("a.txt"), b"hello\n").unwrap();
    std::fs::write(source.join("empty"), b"").unwrap();
    std::fs::write(
        source.join("odd 'name'\nwith a newline"),
        b"odd\r\n\x04\x03",
    )
    .unwrap();
    random_file(&source.join("sub/deeper/b.bin"), 300 * 1024 + 7);
    let remote_parent = rig.dir.join("remote");
    std::fs::create_dir(&remote_parent).unwrap();

    let refused = rig
        .cp(&[source.to_str().unwrap(), &rig.remote(&remote_parent)])
        .await;
    assert_eq!(refused.status.code(), Some(i32::from(exit::COPY_LOCAL)));
    assert!(
        text(&refused.stderr).contains("use -r"),
        "{}",
        text(&refused.stderr)
    );

    let up = rig
        .cp(&["-r", source.to_str().unwrap(), &rig.remote(&remote_parent)])
        .await;
    assert_copied(&up);
    let uploaded = remote_parent.join("project");
    assert_eq!(tree(&uploaded), tree(&source), "the tree arrives whole");

    let refused = rig
        .cp(&[&rig.remote(&uploaded), rig.dir.join("x").to_str().unwrap()])
        .await;
    assert_eq!(refused.status.code(), Some(i32::from(exit::COPY_REMOTE)));
    assert!(text(&refused.stderr).contains("is a directory (use -r"));

    // Into a path that does not exist yet: it becomes the copy.
    let back = rig.dir.join("back");
    let down = rig
        .cp(&[
            "-r",
            "--sessions",
            "4",
            &rig.remote(&uploaded),
            back.to_str().unwrap(),
        ])
        .await;
    assert_copied(&down);
    assert_eq!(tree(&back), tree(&source), "and comes back whole");

    // Again: the files are already there with the same SHA-256, and stay.
    let again = rig
        .cp(&["-r", source.to_str().unwrap(), &rig.remote(&remote_parent)])
        .await;
    assert_copied(&again);
    assert_eq!(tree(&uploaded), tree(&source));
}
