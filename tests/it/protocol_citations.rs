//! Every "§N.N" and "quirk N" cited in the code and the docs must name a heading, or an item of
//! the quirk list, in `docs/protocol.md`. Comments lean on these citations instead of repeating
//! the protocol; one that points nowhere sends the reader looking for a section that is gone.
//!
//! The heading scheme this checks: a protocol section is a Markdown heading whose text starts
//! with its number, `## §5 …`, `### §5.2 …`, `#### §4.4.1 …`; a quirk is a top-level numbered
//! item `N. …` under the `## §9` heading.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Where citations live: code of every target, the fuzz harness, and the docs.
const SCANNED: &[(&str, &str)] = &[
    ("src", "rs"),
    ("tests", "rs"),
    ("benches", "rs"),
    ("examples", "rs"),
    ("fuzz", "rs"),
    ("docs", "md"),
];

/// The section whose numbered items are the quirks.
const QUIRK_SECTION: &str = "9";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            // A fuzz build keeps its own target directory inside fuzz/.
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            files_under(&path, extension, out);
        } else if path.extension().is_some_and(|ext| ext == extension) {
            out.push(path);
        }
    }
}

/// The dotted number starting at `text` ("5.2" out of "5.2).") or None when there is none.
fn section_number(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut end = 0;
    loop {
        let start = end;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            // Only possible at the start: a dot is consumed only when a digit follows it.
            return None;
        }
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
            end += 1;
        } else {
            return Some(&text[..end]);
        }
    }
}

/// True when the `§` right after `before` belongs to another Markdown file, as in
/// "style.md §3": those sections are not the protocol's.
fn cites_other_document(before: &str) -> bool {
    let trimmed = before.trim_end_matches([' ', '`', '*', ')', ']']);
    trimmed.ends_with(".md") && !trimmed.ends_with("protocol.md")
}

#[derive(Debug, PartialEq)]
enum Citation {
    Section(String),
    Quirk(String),
}

fn citations(line: &str) -> Vec<Citation> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices('§') {
        if cites_other_document(&line[..at]) {
            continue;
        }
        if let Some(number) = section_number(&line[at + '§'.len_utf8()..]) {
            found.push(Citation::Section(number.to_owned()));
        }
    }
    let lower = line.to_ascii_lowercase();
    for (at, word) in lower.match_indices("quirk ") {
        if let Some(number) = section_number(&lower[at + word.len()..]) {
            found.push(Citation::Quirk(number.to_owned()));
        }
    }
    found
}

/// The section numbers of the headings, and the quirk numbers of the quirk list.
fn anchors(protocol: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut sections = BTreeSet::new();
    let mut quirks = BTreeSet::new();
    let mut in_quirks = false;
    for line in protocol.lines() {
        if line.starts_with('#') {
            let title = line.trim_start_matches('#').trim_start();
            let number = title.strip_prefix('§').and_then(section_number);
            if let Some(number) = number {
                sections.insert(number.to_owned());
            }
            in_quirks = line.starts_with("## ") && number == Some(QUIRK_SECTION);
        } else if in_quirks
            && let Some((number, _)) = line.split_once(". ")
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
        {
            quirks.insert(number.to_owned());
        }
    }
    (sections, quirks)
}

#[test]
fn every_protocol_citation_names_a_section_or_quirk_of_docs_protocol_md() {
    let root = repo_root();
    let protocol = fs::read_to_string(root.join("docs/protocol.md")).expect("docs/protocol.md");
    let (sections, quirks) = anchors(&protocol);
    // Guards against a heading scheme this test no longer understands, which would make
    // every citation look dangling, or none.
    for expected in ["0", "2", "2.1", "4.4.1", "5.3", "6.2.1", "7.4", "10"] {
        assert!(
            sections.contains(expected),
            "no heading `§{expected}` found"
        );
    }
    assert_eq!(quirks.len(), 32, "quirk items found: {quirks:?}");

    let mut files = Vec::new();
    for (dir, extension) in SCANNED {
        files_under(&root.join(dir), extension, &mut files);
    }
    files.push(root.join("README.md"));
    // This file's own examples are not citations.
    files.retain(|file| !file.ends_with("tests/it/protocol_citations.rs"));
    files.sort();

    let mut checked = 0;
    let mut dangling = Vec::new();
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (index, line) in text.lines().enumerate() {
            for citation in citations(line) {
                checked += 1;
                let resolves = match &citation {
                    Citation::Section(number) => sections.contains(number),
                    Citation::Quirk(number) => quirks.contains(number),
                };
                if !resolves {
                    dangling.push(format!("{shown}:{}: {citation:?}", index + 1));
                }
            }
        }
    }
    // The code cites the notes a couple of hundred times; far fewer means the scan is broken.
    assert!(checked > 100, "only {checked} citations found");
    assert!(
        dangling.is_empty(),
        "{} citation(s) name nothing in docs/protocol.md:\n{}",
        dangling.len(),
        dangling.join("\n")
    );
}

#[test]
fn citations_are_read_as_written() {
    assert_eq!(
        citations("the payload (§2.1: \"the rest\"), see §5.2. And §4.4.1 quirk 9."),
        [
            Citation::Section("2.1".into()),
            Citation::Section("5.2".into()),
            Citation::Section("4.4.1".into()),
            Citation::Quirk("9".into()),
        ]
    );
    assert_eq!(
        citations("Handshake payloads (§4.3–§4.5)."),
        [
            Citation::Section("4.3".into()),
            Citation::Section("4.5".into())
        ]
    );
    assert!(citations("in the Elm architecture (style.md §3)").is_empty());
    assert_eq!(
        citations("`docs/protocol.md` §1.4"),
        [Citation::Section("1.4".into())]
    );
    assert_eq!(
        citations("the §4.4 quirk"),
        [Citation::Section("4.4".into())]
    );
}

#[test]
fn a_dangling_citation_is_caught() {
    let (sections, quirks) =
        anchors("## §9 Quirks\n\n1. one\n2. two\n\n### §9.1 More\n3. not a quirk\n");
    assert!(sections.contains("9") && sections.contains("9.1"));
    assert!(!sections.contains("9.9"));
    assert_eq!(quirks, BTreeSet::from(["1".to_owned(), "2".to_owned()]));
}
