//! Times as people read them: in the local time zone with its name (`2026-11-29 21:00 KST`),
//! or in UTC with `--utc` or `[display] utc = true` (issue 16). The zone is read once at start
//! (`TZ`, else `/etc/localtime`) and every time carries its own abbreviation, so a summer and
//! a winter time in one list are told apart.

use std::time::SystemTime;

pub use jiff::tz::TimeZone;

/// The zone times are shown in: UTC when asked for, else the system's (UTC when it cannot be
/// read, which the name next to every time then says).
pub fn zone(utc: bool) -> TimeZone {
    if utc {
        TimeZone::UTC
    } else {
        TimeZone::try_system().unwrap_or(TimeZone::UTC)
    }
}

/// `2026-11-29 21:00 KST`; `-` for no time.
pub fn format_time(at: Option<SystemTime>, zone: &TimeZone) -> String {
    let Some(at) = at else { return "-".to_owned() };
    let Ok(stamp) = jiff::Timestamp::try_from(at) else {
        return "-".to_owned();
    };
    stamp
        .to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2026-11-29 12:00:00 UTC.
    fn noon() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_953_600)
    }

    #[test]
    fn times_carry_their_zone_name() {
        assert_eq!(
            format_time(Some(noon()), &TimeZone::UTC),
            "2026-11-29 12:00 UTC"
        );
        assert_eq!(format_time(None, &TimeZone::UTC), "-");
        let seoul = TimeZone::posix("KST-9").unwrap();
        assert_eq!(format_time(Some(noon()), &seoul), "2026-11-29 21:00 KST");
        // Summer and winter time in one zone are named apart.
        let berlin = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(format_time(Some(noon()), &berlin), "2026-11-29 13:00 CET");
        let july = noon() - Duration::from_secs(140 * 86_400);
        assert!(format_time(Some(july), &berlin).ends_with("CEST"));
    }
}
