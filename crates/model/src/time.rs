//! Event time: milliseconds since the Unix epoch (UTC), parsed from RFC 3339.
//!
//! The parser is hand-written because it runs once per event on the hot path;
//! a property test checks it against chrono's RFC 3339 parser.

use std::fmt;

/// A point in event time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Milliseconds in one second.
pub const MS_PER_SEC: i64 = 1_000;
/// Milliseconds in one day.
pub const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The wall clock. Only the edges read it (the ingest time a consumer
    /// stamps, health, the live page, the control command); the engine and
    /// decoding take time as an argument, so results replay from the log.
    pub fn wall_now() -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Timestamp(since.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 (`2026-03-01T09:30:00Z`, `2026-03-01T09:30:00.250+01:00`).
    /// A numeric offset or `Z` is required; fractions finer than a millisecond
    /// are truncated. Returns a short description of what is wrong on failure.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, &'static str> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err("too short for RFC 3339 (e.g. 2026-03-01T09:30:00Z)");
        }
        let year = digits(b, 0, 4)?;
        if b[4] != b'-' || b[7] != b'-' {
            return Err("expected YYYY-MM-DD");
        }
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err("expected 'T' between date and time");
        }
        let hour = digits(b, 11, 2)?;
        if b[13] != b':' || b[16] != b':' {
            return Err("expected hh:mm:ss");
        }
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err("date out of range");
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err("time out of range");
        }
        let mut i = 19;
        let mut millis = 0i64;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    millis = millis * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return Err("expected digits after '.'");
            }
            for _ in n..3 {
                millis *= 10;
            }
        }
        let offset_secs = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() => {
                if b[i + 3] != b':' {
                    return Err("expected offset as +hh:mm");
                }
                let oh = digits(b, i + 1, 2)?;
                let om = digits(b, i + 4, 2)?;
                if oh > 23 || om > 59 {
                    return Err("offset out of range");
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return Err("expected a 'Z' or +hh:mm offset at the end"),
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
        Ok(Timestamp(secs * MS_PER_SEC + millis))
    }

    /// Formats as RFC 3339 in UTC with millisecond precision when needed.
    pub fn to_rfc3339(self) -> String {
        let mut out = String::with_capacity(24);
        self.write_rfc3339(&mut out);
        out
    }

    /// Appends the RFC 3339 form to `out`.
    pub fn write_rfc3339(self, out: &mut String) {
        use std::fmt::Write;
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let days = self.0.div_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let (h, mi, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let _ = write!(out, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if frac != 0 {
            let _ = write!(out, ".{frac:03}");
        }
        out.push('Z');
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Result<i64, &'static str> {
    let mut v = 0i64;
    for &c in b.get(at..at + n).ok_or("truncated")? {
        if !c.is_ascii_digit() {
            return Err("expected a digit");
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Ok(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in `month` (1-12) of `year`.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let t = Timestamp::parse_rfc3339("2026-03-01T09:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-01T09:30:00Z");
        let t = Timestamp::parse_rfc3339("2026-03-01T09:30:00.25+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-01T08:30:00.250Z");
        assert!(Timestamp::parse_rfc3339("2026-03-01T09:30:00").is_err());
        assert!(Timestamp::parse_rfc3339("2026-02-30T09:30:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2026-03-01T24:00:00Z").is_err());
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_chrono(secs in -1_000_000_000i64..10_000_000_000, ms in 0i64..1000,
                              off_min in -1439i32..1440, frac_digits in 0usize..7) {
            use chrono::{FixedOffset, TimeZone, SecondsFormat};
            let off = FixedOffset::east_opt(off_min * 60).unwrap();
            let dt = off.timestamp_millis_opt(secs * 1000 + ms).unwrap();
            let fmt = match frac_digits { 0 => SecondsFormat::Secs, 1..=3 => SecondsFormat::Millis,
                                          4..=6 => SecondsFormat::Micros, _ => SecondsFormat::Nanos };
            let s = dt.to_rfc3339_opts(fmt, true);
            let ours = Timestamp::parse_rfc3339(&s).unwrap();
            let theirs = chrono::DateTime::parse_from_rfc3339(&s).unwrap().timestamp_millis();
            proptest::prop_assert_eq!(ours.0, theirs, "{}", s);
            proptest::prop_assert_eq!(
                Timestamp::parse_rfc3339(&ours.to_rfc3339()).unwrap(), ours);
        }
    }
}
