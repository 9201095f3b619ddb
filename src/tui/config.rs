//! `~/.config/gangway/config.toml` (or `--config FILE`): fleet scope and columns, refresh
//! interval, the reason prompt, key bindings, and session recordings. A broken file never
//! stops the UI: the problem is shown with the file, line and field, and the defaults are
//! used (issue 6), except that sessions are then not recorded, since the file may have said
//! so. `examples/config.toml` documents every field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::local::RecordingSettings;
use crate::tui::keymap::{Chord, Keymap, action_named};
use crate::tui::model::{ReasonMode, Settings};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    fleet: FleetSection,
    #[serde(default)]
    shell: ShellSection,
    #[serde(default)]
    keys: BTreeMap<String, Spanned<KeyList>>,
    #[serde(default)]
    display: DisplaySection,
    #[serde(default)]
    recording: RecordingSection,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DisplaySection {
    /// Times in UTC instead of the local time zone.
    #[serde(default)]
    utc: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingSection {
    enabled: Option<bool>,
    /// Absolute, or starting with `~/`.
    dir: Option<Spanned<String>>,
    /// 0: kept whatever their age.
    keep_days: Option<Spanned<u64>>,
    /// 0: no size limit.
    max_total_mb: Option<Spanned<u64>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSection {
    /// `{ Env = "dev" }`: only these instances, applied as EC2 filters.
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// Tag keys shown as columns.
    #[serde(default)]
    columns: Vec<String>,
    refresh_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ShellSection {
    #[serde(default)]
    reason: ReasonMode,
    reason_pattern: Option<Spanned<String>>,
}

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

fn defaults(readonly: bool, warning: Option<String>) -> Loaded {
    let mut settings = Settings::default();
    let warning = warning.map(|warning| {
        // The file may have turned recordings off: a mistake in it must not turn them on.
        settings.records.recording.enabled = false;
        format!("{warning} (sessions are not recorded until it is fixed)")
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

    /// `FILE:LINE: FIELD: message; using the defaults`.
    fn describe(&self, text: &str, path: &Path) -> String {
        let line = self
            .offset
            .map(|o| format!(":{}", text[..o.min(text.len())].matches('\n').count() + 1))
            .unwrap_or_default();
        let message = self.message.trim().replace('\n', " ");
        format!(
            "{}{line}: {}: {message}; using the defaults",
            path.display(),
            self.field
        )
    }
}

pub fn parse(text: &str, path: &Path, readonly: bool) -> Loaded {
    match build(text, readonly) {
        Ok((settings, keymap)) => Loaded {
            settings,
            keymap,
            warning: None,
        },
        Err(problem) => defaults(readonly, Some(problem.describe(text, path))),
    }
}

fn build(text: &str, readonly: bool) -> Result<(Settings, Keymap), Problem> {
    let file: File = toml::from_str(text).map_err(|e| Problem {
        offset: e.span().map(|s| s.start),
        // toml names the offending key between backticks ("unknown field `refresh`").
        field: e.message().split('`').nth(1).unwrap_or("syntax").to_owned(),
        message: e.message().to_owned(),
    })?;
    let mut settings = settings(file.fleet, file.shell)?;
    settings.utc = file.display.utc;
    settings.records.recording = recording(file.recording)?;
    let keymap = keymap(&file.keys, readonly)?;
    Ok((settings, keymap))
}

/// The longest retention that means something (100 years), so that days become a duration
/// without overflow.
const MAX_KEEP_DAYS: u64 = 36_500;

fn recording(section: RecordingSection) -> Result<RecordingSettings, Problem> {
    let mut recording = RecordingSettings::default();
    if let Some(enabled) = section.enabled {
        recording.enabled = enabled;
    }
    if let Some(dir) = section.dir {
        let at = dir.span().start;
        let text = dir.get_ref();
        let path = match text.strip_prefix("~/") {
            Some(rest) => dirs::home_dir()
                .map(|home| home.join(rest))
                .ok_or_else(|| Problem::new(at, "recording.dir", "no home directory for ~/"))?,
            None => PathBuf::from(text),
        };
        if !path.is_absolute() {
            return Err(Problem::new(
                at,
                "recording.dir",
                "must be an absolute path or start with ~/",
            ));
        }
        recording.dir = path;
    }
    if let Some(days) = section.keep_days {
        let value = *days.get_ref();
        if value > MAX_KEEP_DAYS {
            return Err(Problem::new(
                days.span().start,
                "recording.keep_days",
                format!("at most {MAX_KEEP_DAYS} (0 keeps recordings whatever their age)"),
            ));
        }
        recording.keep.max_age = (value > 0).then(|| Duration::from_secs(value * 86_400));
    }
    if let Some(mb) = section.max_total_mb {
        let value = *mb.get_ref();
        let bytes = value
            .checked_mul(1 << 20)
            .ok_or_else(|| Problem::new(mb.span().start, "recording.max_total_mb", "too large"))?;
        recording.keep.max_total_bytes = (value > 0).then_some(bytes);
    }
    Ok(recording)
}

fn settings(fleet: FleetSection, shell: ShellSection) -> Result<Settings, Problem> {
    let mut settings = Settings {
        tag_filters: fleet.tags.into_iter().collect(),
        tag_columns: fleet.columns,
        reason_mode: shell.reason,
        ..Settings::default()
    };
    if let Some(secs) = fleet.refresh_secs {
        if *secs.get_ref() < 5 {
            return Err(Problem::new(
                secs.span().start,
                "fleet.refresh_secs",
                "must be at least 5",
            ));
        }
        settings.refresh_every = Duration::from_secs(*secs.get_ref());
    }
    if let Some(pattern) = shell.reason_pattern {
        let regex = regex_lite::Regex::new(pattern.get_ref()).map_err(|e| {
            Problem::new(pattern.span().start, "shell.reason_pattern", e.to_string())
        })?;
        settings.reason_pattern = Some(regex);
    }
    Ok(settings)
}

fn keymap(keys: &BTreeMap<String, Spanned<KeyList>>, readonly: bool) -> Result<Keymap, Problem> {
    let mut keymap = Keymap::defaults(readonly);
    for (name, keys) in keys {
        let at = keys.span().start;
        let field = format!("keys.{name}");
        let action = action_named(name).ok_or_else(|| {
            Problem::new(
                at,
                &field,
                "no such action (see `?` in gangway for the names)",
            )
        })?;
        let texts = match keys.get_ref() {
            KeyList::One(one) => std::slice::from_ref(one),
            KeyList::Many(many) => many.as_slice(),
        };
        let chords = texts
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
            .collect::<Result<Vec<_>, _>>()?;
        keymap.rebind(action, &chords);
    }
    Ok(keymap)
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
    fn errors_name_the_file_line_and_field_and_fall_back_to_defaults() {
        let loaded = parsed("[fleet]\ncolumns = [\"Env\"]\n\n[keys]\nterminate = \"ctrl-dd\"\n");
        let warning = loaded.warning.unwrap();
        assert!(
            warning.starts_with("/home/me/.config/gangway/config.toml:5: keys.terminate:"),
            "{warning}"
        );
        assert!(loaded.settings.tag_columns.is_empty(), "defaults are used");

        let warning = parsed("[keys]\nexplode = \"x\"\n").warning.unwrap();
        assert!(
            warning.contains(":2: keys.explode: no such action"),
            "{warning}"
        );

        let warning = parsed("[fleet]\nrefresh = 10\n").warning.unwrap();
        assert!(warning.contains(":2: refresh:"), "{warning}");

        let warning = parsed("[shell]\nreason = \"sometimes\"\n").warning.unwrap();
        assert!(warning.contains(":2:"), "{warning}");

        let warning = parsed("[shell]\nreason_pattern = \"(\"\n").warning.unwrap();
        assert!(warning.contains(":2: shell.reason_pattern:"), "{warning}");

        let warning = parsed("[fleet\n").warning.unwrap();
        assert!(warning.contains(":1:"), "{warning}");
    }

    #[test]
    fn display_utc_is_read() {
        assert!(!parsed("").settings.utc);
        let loaded = parsed("[display]\nutc = true\n");
        assert_eq!(loaded.warning, None);
        assert!(loaded.settings.utc);
    }

    #[test]
    fn recording_settings_apply_and_a_broken_file_records_nothing() {
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

        let loaded = parsed("[recording]\nenabled = false\n[keys]\nquit = \"nope-key\"\n");
        assert!(!loaded.settings.records.recording.enabled);
        assert!(loaded.warning.unwrap().contains("not recorded"));
        let warning = parsed("[recording]\ndir = \"casts\"\n").warning.unwrap();
        assert!(
            warning.contains(":2: recording.dir: must be an absolute path"),
            "{warning}"
        );
        let warning = parsed("[recording]\nkeep_days = 99999999999\n")
            .warning
            .unwrap();
        assert!(warning.contains("recording.keep_days"), "{warning}");
        let warning = parsed("[recording]\nmax_total_mb = 18446744073709551615\n")
            .warning
            .unwrap();
        assert!(warning.contains("recording.max_total_mb"), "{warning}");
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
}
