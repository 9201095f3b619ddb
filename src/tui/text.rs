//! Text that reaches the screen. Names, tags and reasons come from users of the AWS account, so
//! they may hold ESC sequences, NUL or other control characters: every such character is shown
//! as a visible escape before ratatui sees it (ratatui would silently drop it, which hides that
//! the value is odd). Widths are counted in terminal cells with unicode-width so Korean and other
//! wide characters keep the columns aligned.

use std::borrow::Cow;

/// Longest text (in cells) shown for one value; the detail pane wraps, tables truncate anyway.
pub const MAX_VALUE_CELLS: usize = 512;

/// Control characters (C0, DEL, C1) and bidi overrides become visible escapes such as `\e`.
pub fn escape(text: &str) -> Cow<'_, str> {
    crate::aws::escape_for_terminal(text)
}

/// Escapes, then cuts to at most `max_cells` terminal cells, marking a cut with `…`.
pub fn fit(text: &str, max_cells: usize) -> String {
    crate::aws::escape_and_fit(text, max_cells).into_owned()
}

/// Escaped text limited to [`MAX_VALUE_CELLS`].
pub fn safe(text: &str) -> String {
    fit(text, MAX_VALUE_CELLS)
}

/// Width in terminal cells.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `95s` → `1m35s`; `3700s` → `1h01m`. Negative durations never reach here.
pub fn human_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        (h, _) if h >= 48 => format!("{}d{:02}h", h / 24, h % 24),
        _ => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[31mred"), "a\\e[31mred");
        assert_eq!(escape("nul\0"), "nul\\0");
        assert_eq!(escape("c1\u{9b}x"), "c1\\u{9b}x");
        assert_eq!(escape("bidi\u{202e}"), "bidi\\u{202e}");
    }

    #[test]
    fn fit_counts_wide_characters_as_two_cells() {
        assert_eq!(fit("웹서버", 6), "웹서버");
        assert_eq!(fit("웹서버", 5), "웹서…");
        assert_eq!(width(&fit("웹서버-한국어", 7)), 7);
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    #[test]
    fn very_long_values_are_cut() {
        let long = "x".repeat(10_000);
        assert_eq!(width(&safe(&long)), MAX_VALUE_CELLS);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(95), "1m35s");
        assert_eq!(human_duration(3700), "1h01m");
        assert_eq!(human_duration(3 * 86_400), "3d00h");
    }
}
