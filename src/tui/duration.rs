//! Durations as people read them in the UI's columns and status lines, and the spans and
//! times they type (`:history since=2h`, `gangway audit --since 2h`).

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

/// `30m`, `2h`, `7d` (`:history since=…`, `gangway audit --since`).
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{}` is not a span like 30m, 2h or 7d",
            crate::text::fit(text, 20)
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = text.split_at(split);
    let count: u64 = digits.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(count.saturating_mul(unit_secs)))
}

pub fn parse_time(text: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| {
            format!(
                "`{}` is not a time like 2026-11-29T08:00:00Z",
                crate::text::fit(text, 30)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(95), "1m35s");
        assert_eq!(human_duration(3700), "1h01m");
        assert_eq!(human_duration(3 * 86_400), "3d00h");
    }
}
