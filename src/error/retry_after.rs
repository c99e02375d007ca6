//! Reading waits: the `Retry-After` header and the waits Meta writes in text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest wait any answer can impose: the longest wait Meta documents
/// (72 hours after 133016). A hostile or broken server — or a wait written in
/// an error's text — cannot park a session for years.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(72 * 3600);

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an IMF-fixdate
/// (`"Wed, 21 Oct 2026 07:28:00 GMT"`), the latter relative to `now`.
/// A date in the past means "now" (zero). Anything else is `None`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_imf_fixdate(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → seconds since the Unix epoch.
fn parse_imf_fixdate(value: &str) -> Option<u64> {
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
        || !(1970..=9999).contains(&year)
    {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    days.checked_mul(86_400)?
        .checked_add(hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// Finds a wait written in words, such as "Please wait 30 minutes" or
/// "try again in 2 hours": the first number followed by a time unit.
pub(crate) fn wait_in_text(text: &str) -> Option<Duration> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).find_map(|pair| {
        let amount: u64 = pair.first()?.parse().ok()?;
        let unit = pair.get(1)?.to_ascii_lowercase();
        let seconds = match unit.trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" | "hr" => 3_600,
            "day" => 86_400,
            _ => return None,
        };
        Some(Duration::from_secs(amount.checked_mul(seconds)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(
            parse_retry_after("120", at(0)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", at(0)), Some(Duration::ZERO));
    }

    #[test]
    fn http_dates() {
        // 1994-11-06T08:49:37Z = 784111777
        let value = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse_imf_fixdate(value), Some(784_111_777));
        assert_eq!(
            parse_retry_after(value, at(784_111_700)),
            Some(Duration::from_secs(77))
        );
        assert_eq!(
            parse_retry_after(value, at(784_200_000)),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_imf_fixdate("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
    }

    #[test]
    fn garbage_is_none() {
        for value in [
            "",
            "-1",
            "soon",
            "1.5",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1000000000000 08:49:37 GMT",
            "Sun, 06 Nov 10000 08:49:37 GMT",
            "Sun, 06 Nov 18446744073709551615 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(value, at(0)), None, "{value}");
        }
    }

    #[test]
    fn waits_written_in_words() {
        assert_eq!(
            wait_in_text("Please wait 30 minutes and try again"),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            wait_in_text("Try again in 2 hours."),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(
            wait_in_text("retry after 45 seconds"),
            Some(Duration::from_secs(45))
        );
        assert_eq!(wait_in_text("You entered 3 wrong PINs"), None);
        assert_eq!(wait_in_text(""), None);
    }
}
