//! `gangway install-plugin [DIR]`: the `session-manager-plugin` link, said out loud, and
//! never over another program without `--force`.

use std::process::Output;

use crate::support::cli::{stdout, temp_home};
use crate::support::emulator::{GANGWAY, gangway};

fn install(args: &[&str], home: &std::path::Path) -> Output {
    gangway()
        .arg("install-plugin")
        .args(args)
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap()
}

#[test]
fn install_plugin_links_refuses_another_program_and_forces() {
    let home = temp_home();
    let dir = home.join("bin");
    let link = dir.join("session-manager-plugin");
    let gangway_path = std::fs::canonicalize(GANGWAY).unwrap();

    let first = install(&[dir.to_str().unwrap()], &home);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(std::fs::canonicalize(&link).unwrap(), gangway_path);
    assert!(stdout(&first).contains("Linked "), "{}", stdout(&first));
    assert!(
        stdout(&first).contains("is not on your PATH"),
        "{}",
        stdout(&first)
    );

    let again = install(&[dir.to_str().unwrap()], &home);
    assert!(again.status.success());
    assert!(stdout(&again).contains("already runs this gangway"));

    // Another program under that name stays unless --force.
    std::fs::remove_file(&link).unwrap();
    std::fs::write(&link, "#!/bin/sh\necho the AWS plugin\n").unwrap();
    let refused = install(&[dir.to_str().unwrap()], &home);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&link).unwrap(),
        "#!/bin/sh\necho the AWS plugin\n"
    );
    let forced = install(&[dir.to_str().unwrap(), "--force"], &home);
    assert!(forced.status.success(), "{forced:?}");
    assert_eq!(std::fs::canonicalize(&link).unwrap(), gangway_path);

    // Without DIR: ~/.local/bin when no PATH directory is in the home directory.
    let default = install(&[], &home);
    assert!(default.status.success(), "{default:?}");
    let default_link = home.join(".local/bin/session-manager-plugin");
    assert_eq!(std::fs::canonicalize(default_link).unwrap(), gangway_path);
}
