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
/// The date is read by the `httpdate` crate (hyper's), which is stricter
/// than the grammar in three ways a server's clock can trip; each is
/// normalized first, as the hand-written parser before it accepted them: a
/// leap second (`:60`, which RFC 9110's grammar allows) is read as `:59`, a
/// one-digit day is padded, and a day name that does not match the date is
/// ignored (the date decides).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An HTTP-date, by `httpdate`, after the normalizations above.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    if let Ok(at) = httpdate::parse_http_date(value) {
        return Some(at);
    }
    // Only the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`) is
    // normalized: the obsolete forms are read as httpdate reads them.
    let (_day_name, rest) = value.split_once(", ")?;
    let mut parts: Vec<String> = rest.split(' ').map(str::to_owned).collect();
    if let Some(day) = parts.first_mut() {
        if day.len() == 1 {
            day.insert(0, '0');
        }
    }
    if let Some(clock) = parts.get_mut(3) {
        if let Some(minutes) = clock.strip_suffix(":60") {
            *clock = format!("{minutes}:59");
        }
    }
    let rest = parts.join(" ");
    // The day name is checked against the date by httpdate: try each; at
    // most one matches a valid date.
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .find_map(|name| httpdate::parse_http_date(&format!("{name}, {rest}")).ok())
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

    /// What a server's clock can send and the RFC allows or asks to be
    /// robust about, which `httpdate` alone refuses: the wait is still
    /// honoured (the hand-written parser before it honoured these).
    #[test]
    fn a_leap_second_a_one_digit_day_and_a_wrong_day_name_still_set_the_wait() {
        let now = at(784_111_700); // 1994-11-06T08:48:20Z
        for (value, wait) in [
            ("Sun, 06 Nov 1994 08:49:60 GMT", 99),
            ("Sun, 6 Nov 1994 08:49:37 GMT", 77),
            ("Mon, 06 Nov 1994 08:49:37 GMT", 77),
            ("Fri, 6 Nov 1994 08:49:60 GMT", 99),
        ] {
            assert_eq!(
                parse_retry_after(value, now),
                Some(Duration::from_secs(wait)),
                "{value}"
            );
        }
        // A day that does not exist stays refused, whatever its name.
        assert_eq!(
            parse_retry_after("Sun, 31 Nov 1994 08:49:37 GMT", now),
            None
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
