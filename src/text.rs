//! Terminal-safe text: the one place that escapes text for a screen, measures it in terminal
//! columns and fits it to a width. Everything that prints text it did not write (names, tags,
//! reasons and error messages from AWS, fleet files, remote output summaries) goes through here,
//! in tables, the UI and JSON alike.
//!
//! Tag values are written by whoever can tag an instance, so they may hold escape sequences
//! that would move the cursor, change the title or hide text on the reader's terminal. Each such
//! character is shown as a visible escape (ratatui would silently drop it, which hides that the
//! value is odd). Widths are counted in terminal cells so Korean and other wide characters keep
//! columns aligned. This module sits at the bottom of the dependency graph: it imports nothing
//! from the crate.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

/// Control characters (C0, DEL, C1), bidirectional overrides and the Unicode line/paragraph
/// separators (which start a new line in some terminals) shown as visible escapes.
///
/// ESC becomes `\e`, the usual whitespace controls become `\t`, `\n`, `\r`, NUL `\0`, anything
/// else `\x07` or `\u{9b}`. Printable text, including wide characters, is borrowed untouched.
pub fn escape_for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        if needs_escape(ch) {
            push_escaped(&mut out, ch);
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(ch: char) -> bool {
    ch.is_control()
        || is_bidi_control(ch)
        || is_invisible(ch)
        || matches!(ch, '\u{2028}' | '\u{2029}')
}

/// Zero-width characters draw nothing, so `web\u{200b}-1` looks exactly like `web-1`: a
/// look-alike instance name. Shown escaped like the controls (issue 17, F9).
fn is_invisible(ch: char) -> bool {
    matches!(ch, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Bidi embeddings, overrides and isolates reorder what follows them on screen (the
/// "Trojan Source" trick), so a tag could make an instance look like another one.
fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, ch: char) {
    match ch {
        '\u{1b}' => out.push_str("\\e"),
        '\0' => out.push_str("\\0"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => {
            // Writing into a String cannot fail.
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Pretty JSON whose strings carry no character a terminal or a JSON viewer would act on:
/// serde_json escapes only C0 controls, so DEL, the C1 controls (U+009B is an 8-bit CSI),
/// bidi overrides, line separators and zero-width characters are written as `\uXXXX` here,
/// the same set [`escape_for_terminal`] makes visible in tables. The JSON means the same.
pub fn write_json_pretty<W: std::io::Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut serializer =
        serde_json::Serializer::with_formatter(writer, TerminalSafeJson(Default::default()));
    value.serialize(&mut serializer)
}

struct TerminalSafeJson(serde_json::ser::PrettyFormatter<'static>);

/// One compact JSON value and a newline (JSON Lines), with the strings of
/// [`write_json_pretty`]: nothing a terminal would act on.
pub fn write_json_line<W: std::io::Write, T: serde::Serialize + ?Sized>(
    mut writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(&mut writer, TerminalSafeLine);
    value.serialize(&mut serializer)?;
    writer.write_all(b"\n").map_err(serde_json::Error::io)
}

struct TerminalSafeLine;

impl serde_json::ser::Formatter for TerminalSafeLine {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_safe_fragment(writer, fragment)
    }
}

fn write_safe_fragment<W: ?Sized + std::io::Write>(
    writer: &mut W,
    fragment: &str,
) -> std::io::Result<()> {
    let mut plain_from = 0;
    for (at, ch) in fragment.char_indices() {
        if needs_escape(ch) {
            writer.write_all(&fragment.as_bytes()[plain_from..at])?;
            // Every character needs_escape accepts lies in the Basic Multilingual Plane.
            write!(writer, "\\u{:04x}", u32::from(ch))?;
            plain_from = at + ch.len_utf8();
        }
    }
    writer.write_all(&fragment.as_bytes()[plain_from..])
}

impl serde_json::ser::Formatter for TerminalSafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_safe_fragment(writer, fragment)
    }

    // Layout is the pretty printer's; only string contents differ.
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Longest text (in cells) shown for one value; the detail pane wraps, tables truncate anyway.
pub const MAX_VALUE_CELLS: usize = 512;

/// Display width in terminal columns of text that has already been escaped. The same count
/// [`escape_and_fit`] cuts by, so a fitted value never measures wider than its budget.
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Escapes `text`, then cuts it to at most `max_columns` terminal columns, ending with `…`
/// when something was cut. Wide characters are never split in half.
pub fn escape_and_fit(text: &str, max_columns: usize) -> Cow<'_, str> {
    let escaped = escape_for_terminal(text);
    if display_width(&escaped) <= max_columns {
        return escaped;
    }
    if max_columns == 0 {
        return Cow::Borrowed("");
    }
    let budget = max_columns - 1; // one column for the ellipsis
    let mut out = String::new();
    let mut used = 0;
    for ch in escaped.chars() {
        let width = ch.width().unwrap_or(0);
        if used + width > budget {
            break;
        }
        used += width;
        out.push(ch);
    }
    out.push('…');
    Cow::Owned(out)
}

/// Escapes, then cuts to at most `max_cells` terminal cells, as an owned string.
pub fn fit(text: &str, max_cells: usize) -> String {
    escape_and_fit(text, max_cells).into_owned()
}

/// Escaped text limited to [`MAX_VALUE_CELLS`].
pub fn safe(text: &str) -> String {
    fit(text, MAX_VALUE_CELLS)
}

/// Escapes `text` and breaks it into lines of at most `width` cells, at spaces where it can
/// (a word is only split when it is wider than a whole line). Nothing is dropped: a message
/// that must be read whole (an error's reason) is wrapped with this instead of cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let escaped = escape_for_terminal(text);
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in escaped.split(' ') {
        let word_width = display_width(word);
        let gap = usize::from(!line.is_empty());
        if used + gap + word_width <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + word_width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        // A word wider than a line is split by cells, wide characters kept whole.
        for ch in word.chars() {
            let cells = ch.width().unwrap_or(0);
            if used + cells > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(ch);
            used += cells;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape_for_terminal("web-1"),
            Cow::Borrowed("web-1")
        ));
        assert!(matches!(escape_for_terminal("서울-웹"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(escape_for_terminal("a\u{1b}[31mred"), "a\\e[31mred");
        assert_eq!(escape_for_terminal("nul\0byte"), "nul\\0byte");
        assert_eq!(escape_for_terminal("bell\u{7}"), "bell\\x07");
        assert_eq!(escape_for_terminal("del\u{7f}"), "del\\x7f");
        assert_eq!(escape_for_terminal("line\r\nnext\t"), "line\\r\\nnext\\t");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_escaped() {
        // U+009B is the 8-bit CSI: some terminals act on it like ESC [.
        assert_eq!(escape_for_terminal("x\u{9b}2J"), "x\\u{9b}2J");
        assert_eq!(escape_for_terminal("\u{202e}txt"), "\\u{202e}txt");
        assert_eq!(escape_for_terminal("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn zero_width_characters_are_shown() {
        assert_eq!(escape_for_terminal("web\u{200b}-1"), "web\\u{200b}-1");
        assert_eq!(
            escape_for_terminal("\u{feff}a\u{200d}b"),
            "\\u{feff}a\\u{200d}b"
        );
    }

    #[test]
    fn json_strings_carry_no_terminal_controls_and_mean_the_same() {
        let hostile =
            "x\u{9b}2J\u{9d}0;t\u{9c}\u{7f}\u{202e}\u{202c}\u{2028}\u{200b}\u{feff}\u{1b}é한";
        let value = serde_json::json!({ "tags": { "Name": hostile }, "list": [hostile] });
        let mut out = Vec::new();
        write_json_pretty(&mut out, &value).expect("serialises");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(!text.chars().any(needs_escape_in_json), "{text}");
        assert!(text.contains("\\u009b") && text.contains("\\u202e") && text.contains("\\ufeff"));
        assert!(
            text.contains("é한"),
            "printable text stays as it is: {text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, value);
        // Same layout as serde_json's pretty printer.
        let plain = serde_json::json!({ "a": [1, 2], "b": "c" });
        let mut out = Vec::new();
        write_json_pretty(&mut out, &plain).expect("serialises");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            serde_json::to_string_pretty(&plain).expect("serialises")
        );
    }

    /// Line breaks and indentation are JSON's own layout; everything else must be escaped.
    fn needs_escape_in_json(ch: char) -> bool {
        ch != '\n' && needs_escape(ch)
    }

    #[test]
    fn escaped_output_has_no_control_characters() {
        let nasty: String = (0u32..0x200).filter_map(char::from_u32).collect();
        let escaped = escape_for_terminal(&nasty);
        assert!(!escaped.chars().any(|c| c.is_control()));
    }

    #[test]
    fn very_long_text_is_kept_whole_by_escape_and_cut_by_fit() {
        let long = "\u{1b}".repeat(100_000);
        assert_eq!(escape_for_terminal(&long).len(), 200_000);
        let fitted = escape_and_fit(&long, 20);
        assert_eq!(display_width(&fitted), 20);
        assert!(fitted.ends_with('…'));
    }

    #[test]
    fn fitting_never_splits_wide_characters() {
        let fitted = escape_and_fit("한국어태그", 6);
        assert_eq!(fitted, "한국…");
        assert_eq!(display_width(&fitted), 5);
        assert_eq!(escape_and_fit("short", 10), "short");
        assert_eq!(escape_and_fit("abc", 0), "");
    }

    #[test]
    fn fit_counts_wide_characters_as_two_cells() {
        assert_eq!(fit("웹서버", 6), "웹서버");
        assert_eq!(fit("웹서버", 5), "웹서…");
        assert_eq!(display_width(&fit("웹서버-한국어", 7)), 7);
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    #[test]
    fn very_long_values_are_cut() {
        let long = "x".repeat(10_000);
        assert_eq!(display_width(&safe(&long)), MAX_VALUE_CELLS);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_keeps_every_word() {
        let text = "denied because the session belongs to another user";
        let lines = wrap(text, 20);
        assert_eq!(
            lines,
            ["denied because the", "session belongs to", "another user"]
        );
        assert_eq!(lines.join(" "), text);
        assert_eq!(
            wrap("arn:aws:ssm:us-east-1", 8),
            ["arn:aws:", "ssm:us-e", "ast-1"]
        );
        assert_eq!(wrap("웹서버 a", 3), ["웹", "서", "버", "a"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("a\u{1b}b", 10), ["a\\eb"]);
    }

    proptest::proptest! {
        #[test]
        fn nothing_escapable_survives_and_clean_text_is_untouched(text in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}\\u{202a}-\\u{202e}a-z한]{0,64}") {
            let escaped = escape_for_terminal(&text);
            proptest::prop_assert!(!escaped.chars().any(needs_escape));
            if !text.chars().any(needs_escape) {
                proptest::prop_assert_eq!(escaped.as_ref(), text.as_str());
            }
        }

        #[test]
        fn wrapped_lines_fit_and_lose_nothing(text in "[a-z ]{0,80}", width in 1usize..30) {
            let lines = wrap(&text, width);
            for line in &lines {
                proptest::prop_assert!(display_width(line) <= width);
            }
            let words = |t: &str| t.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>().concat();
            proptest::prop_assert_eq!(words(&lines.concat()), words(&text));
        }

        #[test]
        fn fitting_respects_the_width(text in "\\PC{0,80}", columns in 0usize..50) {
            proptest::prop_assert!(display_width(&escape_and_fit(&text, columns)) <= columns);
        }
    }
}
