//! Durations as people read them in the UI's columns and status lines.

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
    fn durations_read_naturally() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(95), "1m35s");
        assert_eq!(human_duration(3700), "1h01m");
        assert_eq!(human_duration(3 * 86_400), "3d00h");
    }
}
