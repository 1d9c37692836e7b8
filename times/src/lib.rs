//! The two ways S3 writes a time, read into seconds since the Unix epoch: ISO 8601 UTC in XML listings
//! (`2026-12-02T01:02:03.000Z`) and the HTTP date of `Last-Modified` (`Wed, 02 Dec 2026 01:02:03 GMT`). Shared by
//! the host (sync compares listed times) and the component (the blobstore face reports them). Pure.

/// Seconds since the Unix epoch of an ISO 8601 UTC time as S3 lists it (`2026-12-02T01:02:03.000Z`); fractions
/// of a second are dropped.
pub fn iso8601_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits(s.get(r)?);
    seconds((num(0..4)?, num(5..7)?, num(8..10)?), (num(11..13)?, num(14..16)?, num(17..19)?))
}

/// Seconds since the Unix epoch of an HTTP date in its one current form, IMF-fixdate (RFC 9110 §5.6.7):
/// `Wed, 02 Dec 2026 01:02:03 GMT`. The obsolete RFC 850 and asctime forms are refused.
pub fn http_date_seconds(s: &str) -> Option<i64> {
    let (_weekday, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day = digits(parts.next().filter(|d| d.len() == 2)?)?;
    let month = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let year = digits(parts.next().filter(|y| y.len() == 4)?)?;
    let clock = parts.next().filter(|c| c.len() == 8)?;
    if parts.next() != Some("GMT") || parts.next().is_some() || clock.as_bytes()[2] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits(clock.get(r)?);
    seconds((year, month, day), (num(0..2)?, num(3..5)?, num(6..8)?))
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A run of ASCII digits as a number (no sign, no spaces, which `str::parse` would accept or refuse unevenly).
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Seconds since the epoch of a checked civil date and time of day (a leap second counts as the next second).
fn seconds((y, m, d): (i64, i64, i64), (hh, mm, ss): (i64, i64, i64)) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), March-based years.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_as_s3_lists_them() {
        assert_eq!(iso8601_seconds("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(iso8601_seconds("2026-12-02T01:02:03.000Z"), Some(1_796_173_323));
        assert_eq!(iso8601_seconds("2000-02-29T23:59:59Z"), Some(951_868_799));
        for bad in ["", "2026-12-02", "2026-13-02T00:00:00Z", "2026-12-02 01:02:03Z", "2026-12-02T+1:02:03Z"] {
            assert_eq!(iso8601_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates_as_headers_carry_them() {
        assert_eq!(http_date_seconds("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date_seconds("Wed, 02 Dec 2026 01:02:03 GMT"), Some(1_796_173_323));
        assert_eq!(http_date_seconds("Tue, 29 Feb 2000 23:59:59 GMT"), Some(951_868_799));
        for bad in [
            "",
            "Wed, 02 Dec 2026 01:02:03 UTC",
            "Wed, 2 Dec 2026 01:02:03 GMT",
            "Wed, 02 Dez 2026 01:02:03 GMT",
            "Wed, 02 Dec 2026 01:02:03 GMT extra",
            "Wednesday, 02-Dec-26 01:02:03 GMT",
            "Wed Dec  2 01:02:03 2026",
            "Wed, 02 Dec 2026 1:02:033 GMT",
        ] {
            assert_eq!(http_date_seconds(bad), None, "{bad}");
        }
    }
}
