//! Where gangway's state lives and how its files are made: directories only the user may
//! enter (0700) and files only the user may read (0600), since recordings hold whatever a
//! remote shell printed and activity files say who is connected where.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `$XDG_STATE_HOME/gangway` (or the platform's equivalent): logs, recordings, activity.
pub fn state_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("gangway")
}

/// Creates `dir` (and its parents) if needed and makes sure that only the user may enter it:
/// a directory that exists with group or other bits is narrowed to 0700, and one that cannot
/// be narrowed (someone else's) is an error.
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let metadata = std::fs::metadata(dir)?;
    if !metadata.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A new file only the user may read or write; fails if the name is taken.
pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Session ids come from AWS (`<caller>-<17 hex>`, §1.1); a file name made from one must not
/// climb out of its directory or hide. True for ids of letters, digits, `-`, `_`, `.` and `@`
/// (IAM names allow `+=,.@_-`; `+=,` are left out to keep names plain), at most 128 bytes,
/// not starting with a dot.
pub fn valid_file_stem(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_refuse_paths_and_hidden_names() {
        assert!(valid_file_stem("dev-0123456789abcdef0"));
        assert!(valid_file_stem("me@example.com-0123456789abcdef0"));
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "a\u{1b}b",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(!valid_file_stem(bad), "{bad:?}");
        }
    }

    #[test]
    fn private_dir_narrows_an_open_directory() {
        let root = std::env::temp_dir().join(format!("gangway-private-{}", std::process::id()));
        let dir = root.join("a/b");
        private_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let file = dir.join("f");
        create_private_file(&file).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            create_private_file(&file).is_err(),
            "an existing name is refused"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
