//! `gangway cp` says clearly what is wrong, with its own exit status, and touches nothing:
//! a remote file that does not exist, a destination it may not write on either side, an
//! unknown target, a Windows target (refused: the copy needs a POSIX shell and coreutils).

use gangway::commands::exit;

use crate::support::copy::{CopyRig, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_is_wrong_and_exit_with_their_own_status() {
    let rig = CopyRig::start(&[]).await;
    let file = rig.dir.join("file.txt");
    std::fs::write(&file, b"x").unwrap();
    let file_arg = file.to_str().unwrap();
    let check = |out: &std::process::Output, status: u8, words: &[&str]| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(i32::from(status)), "{stderr}");
        for word in words {
            assert!(stderr.contains(word), "{word:?} not in {stderr:?}");
        }
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    };

    let missing = rig.dir.join("nope.bin");
    let out = rig
        .cp(&[
            &rig.remote(&missing),
            rig.dir.join("here").to_str().unwrap(),
        ])
        .await;
    check(
        &out,
        exit::COPY_REMOTE,
        &["nope.bin", "No such file or directory"],
    );
    assert!(!rig.dir.join("here").exists());

    // A directory the instance may not write in: /sys for root (which may write anywhere
    // else), a read-only directory for anyone else.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&file).unwrap()) == 0;
    let locked = if root {
        std::path::PathBuf::from("/sys")
    } else {
        let locked = rig.dir.join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .unwrap();
        locked
    };
    let out = rig
        .cp(&[file_arg, &rig.remote(&locked.join("gangway-cp-test"))])
        .await;
    check(
        &out,
        exit::COPY_REMOTE,
        &["cannot write", "Permission denied"],
    );

    let out = rig
        .cp(&[
            &rig.remote(&file),
            rig.dir.join("file.txt/under").to_str().unwrap(),
        ])
        .await;
    check(&out, exit::COPY_LOCAL, &["cannot write", "file.txt/under"]);

    let out = rig
        .cp(&[
            rig.dir.join("absent").to_str().unwrap(),
            &rig.remote(&rig.dir),
        ])
        .await;
    check(&out, exit::COPY_LOCAL, &["cannot read", "absent"]);

    let out = rig.cp(&[file_arg, "no-such-host:/tmp/"]).await;
    check(&out, exit::USAGE, &["no instance matches", "no-such-host"]);

    let out = rig.cp(&[file_arg, "/tmp/elsewhere"]).await;
    check(&out, exit::USAGE, &["TARGET:PATH"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_targets_are_refused_with_the_reason() {
    use crate::support::emulator::{WINDOWS_FLEET, spawn_fleet};
    let home = crate::support::cli::temp_home();
    let emulator = spawn_fleet(WINDOWS_FLEET, &[]);
    let out = crate::exec_cli::gangway(
        &emulator.endpoint,
        crate::support::aws_clients::ADMIN,
        &[
            "cp",
            "win-1:C:/logs/app.log",
            home.join("app.log").to_str().unwrap(),
        ],
        b"",
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit::TARGET_UNAVAILABLE)),
        "{stderr}"
    );
    assert!(
        stderr.contains("Windows") && stderr.contains("POSIX shell"),
        "{stderr}"
    );
    assert!(!home.join("app.log").exists());
}
