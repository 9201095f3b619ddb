//! `~/.config/gangway/config.toml` (or `--config FILE`): fleet scope and columns, refresh
//! interval, the reason prompt, the time zone, key bindings and session recordings. A broken
//! file never stops the UI: every problem is listed with the file, line and field, and a bad
//! value costs only its own setting (issue 16); only a file that is not TOML at all falls back
//! to the defaults. A problem in `[recording]`, or a file that is not TOML, turns recordings
//! off: the file may have said so. `examples/config.toml` documents every field.
//! `examples/config.toml` documents every field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::config_accounts::{self, TopLevel};
use crate::local::RecordingSettings;
use crate::tui::keymap::{Chord, Keymap, action_named};
use crate::tui::model::{ReasonMode, Settings};

/// A section of the file: each key with where its value starts, so that one bad value is
/// reported with its line and costs only that setting (issue 16).
type Section = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// What the UI takes from the config file, plus the problem found, if any.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub keymap: Keymap,
    /// `file:line: field: problem; using the defaults`.
    pub warning: Option<String>,
}

/// The default location, `$XDG_CONFIG_HOME/gangway/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("gangway").join("config.toml"))
}

/// Reads the file if it exists. A missing default file is fine; a missing `--config` is not.
pub fn load(path: Option<&Path>, readonly: bool) -> Loaded {
    let explicit = path.is_some();
    let Some(path) = path.map(Path::to_path_buf).or_else(default_path) else {
        return defaults(readonly, None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path, readonly),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => defaults(readonly, None),
        Err(e) => defaults(
            readonly,
            Some(format!("{}: {e}; using the defaults", path.display())),
        ),
    }
}

/// Recordings stay off while the file that may have turned them off cannot be read.
const NOT_RECORDED: &str = " (sessions are not recorded until it is fixed)";

fn defaults(readonly: bool, warning: Option<String>) -> Loaded {
    let mut settings = Settings::default();
    let warning = warning.map(|warning| {
        // The file may have turned recordings off: a mistake in it must not turn them on.
        settings.records.recording.enabled = false;
        format!("{warning}{NOT_RECORDED}")
    });
    Loaded {
        settings,
        keymap: Keymap::defaults(readonly),
        warning,
    }
}

/// What is wrong in the file: where (byte offset), which field, and why.
struct Problem {
    offset: Option<usize>,
    field: String,
    message: String,
}

impl Problem {
    fn new(offset: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            offset: Some(offset),
            field: field.into(),
            message: message.into(),
        }
    }

    /// `FILE:LINE: FIELD: message`.
    fn describe(&self, text: &str, path: &Path) -> String {
        let line = self
            .offset
            .map(|o| format!(":{}", text[..o.min(text.len())].matches('\n').count() + 1))
            .unwrap_or_default();
        let message = self.message.trim().replace('\n', " ");
        format!("{}{line}: {}: {message}", path.display(), self.field)
    }
}

/// Every problem in the file, in file order, then what they cost.
fn describe_all(problems: &mut [Problem], text: &str, path: &Path, whole_file: bool) -> String {
    problems.sort_by_key(|p| p.offset);
    let listed: Vec<String> = problems.iter().map(|p| p.describe(text, path)).collect();
    let cost = if whole_file {
        "using the defaults"
    } else if problems.len() == 1 {
        "that setting keeps its default"
    } else {
        "those settings keep their defaults"
    };
    format!("{}; {cost}", listed.join("; "))
}

pub fn parse(text: &str, path: &Path, readonly: bool) -> Loaded {
    let sections: BTreeMap<Spanned<String>, TopLevel> = match toml::from_str(text) {
        Ok(sections) => sections,
        // A file that is not TOML (or whose top level is not sections) says nothing usable.
        Err(e) => {
            let mut problems = [Problem {
                offset: e.span().map(|s| s.start),
                // toml names the offending key between backticks ("invalid type … `fleet`").
                field: e.message().split('`').nth(1).unwrap_or("syntax").to_owned(),
                message: e.message().to_owned(),
            }];
            return defaults(
                readonly,
                Some(describe_all(&mut problems, text, path, true)),
            );
        }
    };
    let mut settings = Settings::default();
    let mut keymap = Keymap::defaults(readonly);
    let mut problems = Vec::new();
    let mut recording_broken = false;
    for (name, entry) in &sections {
        let section = match (name.get_ref().as_str(), entry) {
            ("accounts", TopLevel::Tables(tables)) => {
                let mut found = Vec::new();
                settings.accounts = config_accounts::accounts(tables, &mut found);
                problems.extend(
                    found
                        .into_iter()
                        .map(|(at, f, why)| Problem::new(at, f, why)),
                );
                continue;
            }
            (_, TopLevel::Section(section)) => section,
            (other, _) => {
                let why = if other == "accounts" {
                    "must be [[accounts]] tables"
                } else {
                    "must be a [section]"
                };
                problems.push(Problem::new(name.span().start, other, why));
                continue;
            }
        };
        match name.get_ref().as_str() {
            "fleet" => fleet(section, &mut settings, &mut problems),
            "shell" => shell(section, &mut settings, &mut problems),
            "display" => display(section, &mut settings, &mut problems),
            "keys" => keys(section, &mut keymap, &mut problems),
            "recording" => {
                let before = problems.len();
                settings.records.recording = recording(section, &mut problems);
                if problems.len() > before {
                    // It may have said `enabled = false`: record nothing until it is fixed.
                    settings.records.recording.enabled = false;
                    recording_broken = true;
                }
            }
            other => problems.push(Problem::new(
                name.span().start,
                other,
                "unknown section (fleet, shell, display, keys, recording, [[accounts]])",
            )),
        }
    }
    let warning = (!problems.is_empty()).then(|| {
        let listed = describe_all(&mut problems, text, path, false);
        if recording_broken {
            format!("{listed}{NOT_RECORDED}")
        } else {
            listed
        }
    });
    Loaded {
        settings,
        keymap,
        warning,
    }
}

/// The value as `T`, or a problem at its line (`section.key: why`).
fn value<T: serde::de::DeserializeOwned>(
    section: &str,
    key: &Spanned<String>,
    value: &Spanned<toml::Value>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match value.get_ref().clone().try_into::<T>() {
        Ok(typed) => Some(typed),
        Err(e) => {
            problems.push(Problem::new(
                value.span().start,
                format!("{section}.{}", key.get_ref()),
                e.message().to_owned(),
            ));
            None
        }
    }
}

fn unknown(section: &str, key: &Spanned<String>, known: &str) -> Problem {
    Problem::new(
        key.span().start,
        format!("{section}.{}", key.get_ref()),
        format!("unknown field (expected {known})"),
    )
}

fn fleet(section: &Section, settings: &mut Settings, problems: &mut Vec<Problem>) {
    for (key, raw) in section {
        match key.get_ref().as_str() {
            "tags" => {
                if let Some(tags) = value::<BTreeMap<String, String>>("fleet", key, raw, problems) {
                    settings.tag_filters = tags.into_iter().collect();
                }
            }
            "columns" => {
                if let Some(columns) = value::<Vec<String>>("fleet", key, raw, problems) {
                    settings.tag_columns = columns;
                }
            }
            "refresh_secs" => match value::<u64>("fleet", key, raw, problems) {
                Some(secs) if secs < 5 => problems.push(Problem::new(
                    raw.span().start,
                    "fleet.refresh_secs",
                    "must be at least 5",
                )),
                Some(secs) => settings.refresh_every = Duration::from_secs(secs),
                None => {}
            },
            _ => problems.push(unknown("fleet", key, "tags, columns, refresh_secs")),
        }
    }
}

fn shell(section: &Section, settings: &mut Settings, problems: &mut Vec<Problem>) {
    let mut example: Option<(usize, String)> = None;
    for (key, raw) in section {
        match key.get_ref().as_str() {
            "reason" => {
                if let Some(mode) = value::<ReasonMode>("shell", key, raw, problems) {
                    settings.reason_mode = mode;
                }
            }
            "reason_pattern" => {
                let Some(pattern) = value::<String>("shell", key, raw, problems) else {
                    continue;
                };
                match regex_lite::Regex::new(&pattern) {
                    Ok(regex) => settings.reason_pattern = Some(regex),
                    Err(e) => problems.push(Problem::new(
                        raw.span().start,
                        "shell.reason_pattern",
                        e.to_string(),
                    )),
                }
            }
            "reason_example" => {
                if let Some(text) = value::<String>("shell", key, raw, problems) {
                    example = Some((raw.span().start, text));
                }
            }
            "embedded" => {
                if let Some(on) = value::<bool>("shell", key, raw, problems) {
                    settings.embedded_shells = on;
                }
            }
            "prefix" => {
                let Some(text) = value::<String>("shell", key, raw, problems) else {
                    continue;
                };
                match crate::tui::chord::Chord::parse(&text) {
                    Some(chord) => settings.prefix = chord,
                    None => problems.push(Problem::new(
                        raw.span().start,
                        "shell.prefix",
                        format!(
                            "`{}` is not a key like ctrl-] or ctrl-a",
                            crate::text::fit(&text, 20)
                        ),
                    )),
                }
            }
            _ => problems.push(unknown(
                "shell",
                key,
                "reason, reason_pattern, reason_example, embedded, prefix",
            )),
        }
    }
    let Some(pattern) = &settings.reason_pattern else {
        return;
    };
    settings.reason_example = match example {
        Some((at, text)) if !pattern.is_match(&text) => {
            problems.push(Problem::new(
                at,
                "shell.reason_example",
                "does not match reason_pattern",
            ));
            crate::tui::reason_example::example(pattern)
        }
        Some((_, text)) => Some(text),
        None => crate::tui::reason_example::example(pattern),
    };
}

fn display(section: &Section, settings: &mut Settings, problems: &mut Vec<Problem>) {
    for (key, raw) in section {
        match key.get_ref().as_str() {
            "utc" => {
                if let Some(utc) = value::<bool>("display", key, raw, problems) {
                    settings.utc = utc;
                }
            }
            _ => problems.push(unknown("display", key, "utc")),
        }
    }
}

/// The longest retention that means something (100 years), so that days become a duration
/// without overflow.
const MAX_KEEP_DAYS: u64 = 36_500;

fn recording(section: &Section, problems: &mut Vec<Problem>) -> RecordingSettings {
    let mut recording = RecordingSettings::default();
    for (key, raw) in section {
        let at = raw.span().start;
        match key.get_ref().as_str() {
            "enabled" => {
                if let Some(enabled) = value::<bool>("recording", key, raw, problems) {
                    recording.enabled = enabled;
                }
            }
            "dir" => {
                let Some(text) = value::<String>("recording", key, raw, problems) else {
                    continue;
                };
                let path = match text.strip_prefix("~/") {
                    Some(rest) => match dirs::home_dir() {
                        Some(home) => home.join(rest),
                        None => {
                            problems.push(Problem::new(
                                at,
                                "recording.dir",
                                "no home directory for ~/",
                            ));
                            continue;
                        }
                    },
                    None => PathBuf::from(&text),
                };
                if path.is_absolute() {
                    recording.dir = path;
                } else {
                    problems.push(Problem::new(
                        at,
                        "recording.dir",
                        "must be an absolute path or start with ~/",
                    ));
                }
            }
            "keep_days" => match value::<u64>("recording", key, raw, problems) {
                Some(days) if days > MAX_KEEP_DAYS => problems.push(Problem::new(
                    at,
                    "recording.keep_days",
                    format!("at most {MAX_KEEP_DAYS} (0 keeps recordings whatever their age)"),
                )),
                Some(days) => {
                    recording.keep.max_age = (days > 0).then(|| Duration::from_secs(days * 86_400));
                }
                None => {}
            },
            "max_total_mb" => {
                if let Some(mb) = value::<u64>("recording", key, raw, problems) {
                    match mb.checked_mul(1 << 20) {
                        Some(bytes) => recording.keep.max_total_bytes = (mb > 0).then_some(bytes),
                        None => {
                            problems.push(Problem::new(at, "recording.max_total_mb", "too large"))
                        }
                    }
                }
            }
            _ => problems.push(unknown(
                "recording",
                key,
                "enabled, dir, keep_days, max_total_mb",
            )),
        }
    }
    recording
}

/// Each binding on its own: a bad one is reported and the action keeps its default keys.
fn keys(section: &Section, keymap: &mut Keymap, problems: &mut Vec<Problem>) {
    for (name, raw) in section {
        let at = raw.span().start;
        let field = format!("keys.{}", name.get_ref());
        let Some(action) = action_named(name.get_ref()) else {
            problems.push(Problem::new(
                name.span().start,
                &field,
                "no such action (see `?` in gangway for the names)",
            ));
            continue;
        };
        let Some(list) = value::<KeyList>("keys", name, raw, problems) else {
            continue;
        };
        let texts = match &list {
            KeyList::One(one) => std::slice::from_ref(one),
            KeyList::Many(many) => many.as_slice(),
        };
        let chords: Result<Vec<Chord>, Problem> = texts
            .iter()
            .map(|text| {
                Chord::parse(text).ok_or_else(|| {
                    let shown = crate::text::fit(text, 20);
                    Problem::new(
                        at,
                        &field,
                        format!("`{shown}` is not a key (examples: ctrl-d, enter, x, f5)"),
                    )
                })
            })
            .collect();
        match chords {
            Ok(chords) => keymap.rebind(action, &chords),
            Err(problem) => problems.push(problem),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::tui::keymap::{Action, Scope};

    fn parsed(text: &str) -> Loaded {
        parse(
            text,
            Path::new("/home/me/.config/gangway/config.toml"),
            false,
        )
    }

    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!("../../examples/config.toml");
        let loaded = parsed(text);
        assert_eq!(loaded.warning, None);
        assert_eq!(loaded.settings.reason_mode, ReasonMode::Optional);
        assert_eq!(loaded.settings.tag_columns, ["Env", "Team"]);
    }

    #[test]
    fn keys_and_settings_apply() {
        let loaded = parsed(
            "[fleet]\ntags = { Env = \"dev\" }\nrefresh_secs = 30\n[shell]\nreason = \"required\"\nreason_pattern = '^OPS-\\d+'\n[keys]\nterminate = [\"x\", \"ctrl-k\"]\nquit = \"ctrl-q\"\n",
        );
        assert_eq!(loaded.warning, None);
        assert_eq!(
            loaded.settings.tag_filters,
            [("Env".to_owned(), "dev".to_owned())]
        );
        assert_eq!(loaded.settings.refresh_every, Duration::from_secs(30));
        assert!(
            loaded
                .settings
                .reason_pattern
                .unwrap()
                .is_match("OPS-12 fix")
        );
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(
            loaded.keymap.resolve(Scope::Sessions, &x),
            Some(Action::Terminate)
        );
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(loaded.keymap.resolve(Scope::Fleet, &q), None);
    }

    #[test]
    fn errors_name_the_file_line_and_field_and_cost_only_that_setting() {
        let loaded = parsed("[fleet]\ncolumns = [\"Env\"]\n\n[keys]\nterminate = \"ctrl-dd\"\n");
        let warning = loaded.warning.unwrap();
        assert!(
            warning.starts_with("/home/me/.config/gangway/config.toml:5: keys.terminate:"),
            "{warning}"
        );
        assert!(
            warning.ends_with("that setting keeps its default"),
            "{warning}"
        );
        assert_eq!(loaded.settings.tag_columns, ["Env"], "the good key applies");

        let warning = parsed("[keys]\nexplode = \"x\"\n").warning.unwrap();
        assert!(
            warning.contains(":2: keys.explode: no such action"),
            "{warning}"
        );

        let warning = parsed("[fleet]\nrefresh = 10\n").warning.unwrap();
        assert!(
            warning.contains(":2: fleet.refresh: unknown field"),
            "{warning}"
        );

        let warning = parsed("[shell]\nreason = \"sometimes\"\n").warning.unwrap();
        assert!(warning.contains(":2: shell.reason:"), "{warning}");

        let warning = parsed("[shell]\nreason_pattern = \"(\"\n").warning.unwrap();
        assert!(warning.contains(":2: shell.reason_pattern:"), "{warning}");

        let warning = parsed("[fleet\n").warning.unwrap();
        assert!(warning.contains(":1:"), "{warning}");
        assert!(warning.contains("; using the defaults"), "{warning}");
    }

    #[test]
    fn every_problem_is_listed_and_the_rest_applies() {
        let loaded = parsed(
            "[fleet]\nrefresh_secs = 2\ncolumns = [\"Team\"]\n[shell]\nreason = \"required\"\nreason_pattern = \"(\"\n[keys]\nquit = \"ctrl-q\"\nterminate = 5\n[colours]\nx = 1\n",
        );
        let warning = loaded.warning.unwrap();
        let lines: Vec<usize> = warning
            .split("; ")
            .filter_map(|part| part.split(':').nth(1)?.parse().ok())
            .collect();
        assert_eq!(lines, [2, 6, 9, 10], "{warning}");
        assert!(
            warning.contains("fleet.refresh_secs: must be at least 5"),
            "{warning}"
        );
        assert!(warning.contains("keys.terminate:"), "{warning}");
        assert!(warning.contains("colours: unknown section"), "{warning}");
        assert!(
            warning.ends_with("those settings keep their defaults"),
            "{warning}"
        );
        // What was right still applies.
        assert_eq!(loaded.settings.tag_columns, ["Team"]);
        assert_eq!(loaded.settings.reason_mode, ReasonMode::Required);
        assert_eq!(loaded.settings.refresh_every, Duration::from_secs(60));
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            loaded.keymap.resolve(Scope::Fleet, &q),
            None,
            "quit moved to ctrl-q"
        );
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(
            loaded.keymap.resolve(Scope::Sessions, &ctrl_d),
            Some(Action::Terminate),
            "terminate keeps its default key"
        );
    }

    #[test]
    fn the_reason_prompt_gets_an_example_that_fits_the_pattern() {
        let made = parsed("[shell]\nreason_pattern = '^OPS-\\d+'\n");
        assert_eq!(made.warning, None);
        assert_eq!(made.settings.reason_example.as_deref(), Some("OPS-123"));
        let given =
            parsed("[shell]\nreason_pattern = '^OPS-\\d+'\nreason_example = \"OPS-7 disk\"\n");
        assert_eq!(given.settings.reason_example.as_deref(), Some("OPS-7 disk"));
        let wrong = parsed("[shell]\nreason_pattern = '^OPS-\\d+'\nreason_example = \"fix\"\n");
        assert!(
            wrong
                .warning
                .unwrap()
                .contains(":3: shell.reason_example: does not match")
        );
    }

    #[test]
    fn display_utc_is_read() {
        assert!(!parsed("").settings.utc);
        let loaded = parsed("[display]\nutc = true\n");
        assert_eq!(loaded.warning, None);
        assert!(loaded.settings.utc);
    }

    #[test]
    fn recording_settings_apply_and_a_broken_recording_records_nothing() {
        let loaded = parsed(
            "[recording]\nenabled = false\ndir = \"/var/tmp/casts\"\nkeep_days = 0\nmax_total_mb = 5\n",
        );
        assert_eq!(loaded.warning, None);
        let recording = loaded.settings.records.recording;
        assert!(!recording.enabled);
        assert_eq!(recording.dir, Path::new("/var/tmp/casts"));
        assert_eq!(recording.keep.max_age, None);
        assert_eq!(recording.keep.max_total_bytes, Some(5 << 20));
        assert!(
            parsed("").settings.records.recording.enabled,
            "on by default"
        );
        // A mistake elsewhere costs only its own setting: recordings stay as the file says.
        let loaded = parsed("[recording]\nenabled = false\n[keys]\nquit = \"nope-key\"\n");
        assert!(!loaded.settings.records.recording.enabled);
        // A mistake in [recording] records nothing until it is fixed.
        let loaded = parsed("[recording]\nenabled = \"no\"\n");
        assert!(!loaded.settings.records.recording.enabled);
        assert!(loaded.warning.unwrap().contains("not recorded"));
        let loaded = parsed("[recording]\ndir = \"casts\"\n");
        assert!(!loaded.settings.records.recording.enabled);
        let warning = loaded.warning.unwrap();
        assert!(
            warning.contains(":2: recording.dir: must be an absolute path"),
            "{warning}"
        );
        let warning = parsed("[recording]\nkeep_days = 99999999999\n")
            .warning
            .unwrap();
        assert!(warning.contains("recording.keep_days"), "{warning}");
        let warning = parsed("[recording]\nmax_total_mb = 9223372036854775807\n")
            .warning
            .unwrap();
        assert!(
            warning.contains(":2: recording.max_total_mb: too large"),
            "{warning}"
        );
        // Beyond TOML's integers: the file does not parse, and nothing is recorded.
        let loaded = parsed("[recording]\nmax_total_mb = 18446744073709551615\n");
        assert!(loaded.warning.unwrap().contains(":2:"));
        assert!(!loaded.settings.records.recording.enabled);
        // Not TOML at all: the defaults, and no recording.
        let loaded = parsed("[recording\n");
        assert!(!loaded.settings.records.recording.enabled);
    }

    #[test]
    fn a_missing_default_file_is_silent_but_a_missing_explicit_file_is_not() {
        let loaded = load(Some(Path::new("/nonexistent/gangway.toml")), false);
        assert!(
            loaded
                .warning
                .unwrap()
                .contains("/nonexistent/gangway.toml")
        );
    }

    #[test]
    fn shells_are_embedded_unless_the_config_says_otherwise_with_a_prefix_of_choice() {
        let default = parsed("");
        assert!(default.settings.embedded_shells);
        assert_eq!(default.settings.prefix.to_string(), "ctrl-]");
        let chosen = parsed("[shell]\nembedded = false\nprefix = \"ctrl-a\"\n");
        assert!(!chosen.settings.embedded_shells);
        assert_eq!(chosen.settings.prefix.to_string(), "ctrl-a");
        let bad = parsed("[shell]\nprefix = \"hyper-x\"\n");
        assert!(
            bad.warning
                .unwrap()
                .contains(":2: shell.prefix: `hyper-x` is not a key"),
        );
        assert_eq!(bad.settings.prefix.to_string(), "ctrl-]");
    }
}
