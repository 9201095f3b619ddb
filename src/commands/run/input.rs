//! The script `gangway run` sends: `--command` lines, a `--script` file, or stdin; each a
//! clear error when it cannot be used.

use std::io::Read;
use std::path::Path;

use crate::cli::RunArgs;
use crate::text::escape_for_terminal;

/// More than this is no script AWS would take (its parameters are limited to a few tens of
/// KiB); reading stops here instead of filling memory.
pub const MAX_SCRIPT_BYTES: usize = 1024 * 1024;

/// The script's lines, in order.
pub fn script(args: &RunArgs, stdin_is_terminal: bool) -> Result<Vec<String>, String> {
    let text = if !args.commands.is_empty() {
        return non_empty(args.commands.clone());
    } else if let Some(path) = &args.script {
        from_file(path)?
    } else if stdin_is_terminal {
        return Err(
            "no script: give --command LINE (repeatable), --script FILE, or pipe it on stdin"
                .into(),
        );
    } else {
        from_reader(std::io::stdin().lock(), "stdin")?
    };
    non_empty(text.lines().map(str::to_owned).collect())
}

fn non_empty(lines: Vec<String>) -> Result<Vec<String>, String> {
    if lines.iter().all(|line| line.trim().is_empty()) {
        return Err("the script is empty".into());
    }
    Ok(lines)
}

fn from_file(path: &Path) -> Result<String, String> {
    let shown = escape_for_terminal(&path.display().to_string()).into_owned();
    let file = std::fs::File::open(path)
        .map_err(|err| format!("cannot read the script file {shown}: {err}"))?;
    from_reader(file, &format!("the script file {shown}"))
}

fn from_reader(reader: impl Read, what: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SCRIPT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read {what}: {err}"))?;
    if bytes.len() > MAX_SCRIPT_BYTES {
        return Err(format!(
            "{what} is larger than {} KiB",
            MAX_SCRIPT_BYTES / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        format!(
            "{what} is not UTF-8 text (invalid byte at offset {})",
            err.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_input_is_refused_with_its_offset() {
        let error = from_reader(&b"echo ok\n\xff\xfe"[..], "stdin").unwrap_err();
        assert_eq!(error, "stdin is not UTF-8 text (invalid byte at offset 8)");
    }

    #[test]
    fn empty_scripts_are_refused() {
        assert!(non_empty(vec![" ".into(), String::new()]).is_err());
        assert_eq!(
            non_empty(vec!["uname -n".into()]),
            Ok(vec!["uname -n".into()])
        );
    }
}
