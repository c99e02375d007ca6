//! Reading waits: the `Retry-After` header and the waits Meta writes in text.

use std::time::{Duration, SystemTime};

/// The longest wait any answer can impose: the longest wait Meta documents
/// (72 hours after 133016). A hostile or broken server — or a wait written in
/// an error's text — cannot park a session for years.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(72 * 3600);

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2026 07:28:00 GMT"`, and the obsolete RFC 850 and asctime
/// forms RFC 9110 §5.6.7 asks recipients to accept), the latter relative to
/// `now`. A date in the past means "now" (zero). Anything else is `None`.
///
/// The date is read by the `httpdate` crate (hyper's), not by hand.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
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
    use std::time::UNIX_EPOCH;

    fn unix(value: &str) -> Option<u64> {
        let at = httpdate::parse_http_date(value).ok()?;
        Some(at.duration_since(UNIX_EPOCH).ok()?.as_secs())
    }

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
        assert_eq!(unix(value), Some(784_111_777));
        assert_eq!(
            parse_retry_after(value, at(784_111_700)),
            Some(Duration::from_secs(77))
        );
        assert_eq!(
            parse_retry_after(value, at(784_200_000)),
            Some(Duration::ZERO)
        );
        assert_eq!(unix("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(unix("Tue, 29 Feb 2028 12:00:00 GMT"), Some(1_835_438_400));
        // The obsolete forms a recipient must accept (RFC 9110 §5.6.7).
        for obsolete in ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert_eq!(
                parse_retry_after(obsolete, at(784_111_700)),
                Some(Duration::from_secs(77)),
                "{obsolete}"
            );
        }
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
