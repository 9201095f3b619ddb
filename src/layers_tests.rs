//! The dependency arrows of docs/architecture.md, checked: each folder of `src/` may name only
//! the crate modules listed for it. A `crate::x` path anywhere in a file (a `use` line or an
//! inline path) counts; `super::` stays inside a folder by construction.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Layer → the crate modules it may use besides itself. Lower layers first.
const ALLOWED: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("secret", &[]),
    // What gangway keeps on this machine: recordings and activity files.
    ("local", &[]),
    ("logging", &["local"]),
    ("proto", &[]),
    ("iam", &[]),
    // EventBridge patterns, input transformers and the alert rules, sans-IO: `gangway alerts`
    // and the emulator's EventBridge decide and word a delivery alike.
    ("alerts", &[]),
    ("transport", &["proto", "secret"]),
    // The emulator shares nothing with the client side but the protocol core, so that it can
    // catch a client bug instead of repeating it.
    ("emulator", &["proto", "iam", "alerts"]),
    ("aws", &["secret", "text"]),
    ("shell", &["aws", "transport", "text", "secret", "local"]),
    // tui runs tunnels started from the fleet on its own runtime (issue 12): it uses the
    // tunnel layer's `Tunnel` as `forward` does, so there is one tunnel, not a second one.
    (
        "tui",
        &["aws", "shell", "text", "secret", "local", "tunnel"],
    ),
    // Port forwarding and SSH: sessions open through shell's open_channel_with.
    ("tunnel", &["aws", "proto", "shell", "text", "transport"]),
    ("copy", &["aws", "shell", "transport", "text"]),
    ("cli", &["aws", "copy", "text"]),
    (
        "commands",
        &[
            "alerts",
            "aws",
            "cli",
            "copy",
            "emulator",
            "iam",
            "local",
            "logging",
            "shell",
            "text",
            "transport",
            "tui",
            "tunnel",
        ],
    ),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::NAME` in `source`, with the line it stands on.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
    }
    found
}

#[test]
fn dependencies_point_inward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut seen_layers = BTreeSet::new();
    for (layer, allowed) in ALLOWED {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        rust_files(&src.join(format!("{layer}.rs")), &mut files);
        assert!(!files.is_empty(), "layer `{layer}` has no files");
        seen_layers.insert(*layer);
        for file in files {
            let source = std::fs::read_to_string(&file).expect("readable source");
            for (line, name) in crate_paths(&source) {
                if name != *layer && !allowed.contains(&name.as_str()) {
                    violations.push(format!(
                        "{}:{line}: `{layer}` uses crate::{name}",
                        file.strip_prefix(&src).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "arrows pointing outward:\n{}",
        violations.join("\n")
    );
    // A new top-level module must be given its place in the table above.
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    for line in lib.lines() {
        if let Some(name) = line
            .strip_prefix("pub mod ")
            .and_then(|l| l.strip_suffix(';'))
        {
            assert!(
                seen_layers.contains(name),
                "module `{name}` is not in ALLOWED"
            );
        }
    }
}

#[test]
fn the_checker_sees_outward_arrows() {
    let found = crate_paths("use crate::cli::Cli; // crate::tui\nlet x = crate::aws::escape();");
    assert_eq!(found, [(1, "cli".to_owned()), (2, "aws".to_owned())]);
}
