//! RFC 3339 timestamps in UTC, read and written without a date-time crate: the protocol
//! only needs `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to and from Unix time, which
//! is a day count in the proleptic Gregorian calendar plus the seconds of the day.

/// Days from 1970-01-01 to the given civil date (negative before it).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count from March 1 of year 0 so that the leap day ends a year; eras of 400 years
    // (146,097 days) repeat exactly.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over the bytes of the text being parsed.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        let mut value = 0u32;
        for &b in head {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.0 = rest;
        Some(value)
    }

    /// One byte that is one of `options`.
    fn byte(&mut self, options: &[u8]) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        if !options.contains(&b) {
            return None;
        }
        self.0 = rest;
        Some(b)
    }
}

/// Unix seconds of an RFC 3339 text; `zone_required: false` reads a text without a zone
/// as UTC. A date or time out of range (month 13, February 30, 24:00) is refused; a
/// leap second (`:60`) reads as the second before it.
pub(crate) fn parse(text: &str, zone_required: bool) -> Option<f64> {
    let mut c = Cursor(text.as_bytes());
    let year = i64::from(c.digits(4)?);
    c.byte(b"-")?;
    let month = c.digits(2)?;
    c.byte(b"-")?;
    let day = c.digits(2)?;
    c.byte(b"Tt ")?;
    let hour = c.digits(2)?;
    c.byte(b":")?;
    let minute = c.digits(2)?;
    c.byte(b":")?;
    let second = c.digits(2)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut fraction = 0.0;
    if c.byte(b".,").is_some() {
        let digits = c.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let mut scale = 0.1;
        for &b in &c.0[..digits] {
            fraction += f64::from(b - b'0') * scale;
            scale /= 10.0;
        }
        c.0 = &c.0[digits..];
    }
    let offset_minutes: i64 = match c.byte(b"Zz+-") {
        Some(b'Z' | b'z') => 0,
        Some(sign) => {
            let hours = i64::from(c.digits(2)?);
            c.byte(b":");
            let minutes = i64::from(c.digits(2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            if sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        None if zone_required => return None,
        None => 0,
    };
    if !c.0.is_empty() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400
        + i64::from(hour) * 3_600
        + i64::from(minute) * 60
        + i64::from(second.min(59))
        - offset_minutes * 60;
    Some(seconds as f64 + fraction)
}

/// `unix` (seconds) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; the epoch for a time outside years
/// 0 to 9999 (or not a number).
pub(crate) fn format(unix: f64) -> String {
    const EPOCH: &str = "1970-01-01T00:00:00Z";
    if !unix.is_finite() {
        return EPOCH.into();
    }
    let micros = (unix * 1e6).round();
    if micros.abs() > 3e17 {
        return EPOCH.into();
    }
    let micros = micros as i64;
    let (secs, sub) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return EPOCH.into();
    }
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{sub:06}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_round_trip_across_eras_and_leap_days() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28),
            1
        );
    }

    #[test]
    fn parses_zones_fractions_and_refuses_what_is_not_a_time() {
        assert_eq!(parse("1970-01-01T00:00:00Z", true), Some(0.0));
        assert_eq!(parse("2024-06-01T12:00:00Z", true), Some(1_717_243_200.0));
        assert_eq!(
            parse("2024-06-01T14:00:00+02:00", true),
            Some(1_717_243_200.0)
        );
        assert_eq!(parse("2024-06-01t07:30:00-04:30z", true), None);
        assert_eq!(
            parse("2024-06-01T07:30:00-04:30", true),
            Some(1_717_243_200.0)
        );
        let frac = parse("2024-06-01T12:00:00.25Z", true).expect("fraction");
        assert!((frac - 1_717_243_200.25).abs() < 1e-6);
        assert_eq!(parse("2024-06-01T12:00:00", true), None);
        assert_eq!(parse("2024-06-01T12:00:00", false), Some(1_717_243_200.0));
        assert_eq!(parse("2024-06-01 12:00:00Z", true), Some(1_717_243_200.0));
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-06-01T24:00:00Z",
            "2024-06-01T12:00:00.Z",
            "2024-06-01T12:00:00Zjunk",
            "24-06-01T12:00:00Z",
            "2024-06-01T12:00:00+25:00",
        ] {
            assert_eq!(parse(bad, true), None, "{bad:?}");
        }
        assert_eq!(
            parse("2016-12-31T23:59:60Z", true),
            parse("2016-12-31T23:59:59Z", true)
        );
    }

    #[test]
    fn formats_in_utc_with_microseconds() {
        assert_eq!(format(0.0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format(1_717_243_200.123_456), "2024-06-01T12:00:00.123456Z");
        assert_eq!(format(-1.5), "1969-12-31T23:59:58.500000Z");
        assert_eq!(format(f64::NAN), "1970-01-01T00:00:00Z");
        assert_eq!(format(1e12), "1970-01-01T00:00:00Z", "year 33658");
        let t = 1_700_000_000.5;
        assert_eq!(parse(&format(t), true), Some(t));
    }
}
