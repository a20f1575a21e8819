//! Calendar periods (`day`, `week` ISO Monday start, `month`, `quarter`) in a
//! configured IANA time zone, and the per-rep store of period accumulators.
//!
//! The current period at stream time `t` holds the events with
//! `period_start(t) <= occurred_at <= t`. A closed period stays open to late
//! events until `end + grace`, after which it is dropped.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::{Accumulator, ReleaseSpare};

/// A kind of calendar period.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PeriodKind {
    /// Local calendar day.
    Day,
    /// ISO week, Monday 00:00 local.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter (Jan, Apr, Jul, Oct).
    Quarter,
}

impl PeriodKind {
    /// All kinds, shortest first.
    pub const ALL: [PeriodKind; 4] = [
        PeriodKind::Day,
        PeriodKind::Week,
        PeriodKind::Month,
        PeriodKind::Quarter,
    ];

    /// Output name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
        }
    }

    /// Parses an output name.
    pub fn parse(s: &str) -> Option<PeriodKind> {
        PeriodKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One concrete period: `[start, end)` in UTC milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Period {
    /// Which kind.
    pub kind: PeriodKind,
    /// First instant (inclusive).
    pub start: i64,
    /// First instant after (exclusive).
    pub end: i64,
}

impl Period {
    /// Whether `t_ms` falls inside.
    #[inline]
    pub fn contains(&self, t_ms: i64) -> bool {
        self.start <= t_ms && t_ms < self.end
    }
}

/// Computes period boundaries in a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
}

impl Calendar {
    /// A calendar in an IANA zone (`UTC`, `Europe/Berlin`).
    pub fn new(tz_name: &str) -> Result<Self, String> {
        tz_name
            .parse::<Tz>()
            .map(|tz| Calendar { tz })
            .map_err(|_| format!("time zone {tz_name:?} is not an IANA zone name (e.g. \"UTC\", \"Europe/Berlin\")"))
    }

    /// The zone name.
    pub fn tz_name(&self) -> &'static str {
        self.tz.name()
    }

    /// The period of `kind` containing `t_ms`.
    pub fn period(&self, kind: PeriodKind, t_ms: i64) -> Period {
        let local = self
            .tz
            .timestamp_millis_opt(t_ms)
            .single()
            .map(|d| d.date_naive());
        // Out-of-range instants cannot come from a parsed RFC 3339 year 0-9999; fall back to UTC.
        let date = local.unwrap_or_else(|| NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default());
        let (start, next) = match kind {
            PeriodKind::Day => (date, date + Duration::days(1)),
            PeriodKind::Week => {
                let s = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (s, s + Duration::days(7))
            }
            PeriodKind::Month => {
                let s = first_of(date.year(), date.month());
                (s, add_months(s, 1))
            }
            PeriodKind::Quarter => {
                let s = first_of(date.year(), (date.month() - 1) / 3 * 3 + 1);
                (s, add_months(s, 3))
            }
        };
        Period {
            kind,
            start: self.local_midnight(start),
            end: self.local_midnight(next),
        }
    }

    /// UTC millis of the local midnight starting a day given as days since 1970-01-01.
    pub fn day_start(&self, days_since_epoch: i64) -> i64 {
        let date = NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.checked_add_signed(Duration::days(days_since_epoch)))
            .unwrap_or_default();
        self.local_midnight(date)
    }

    /// UTC millis of the first instant of `date` in the zone (skipping a DST gap at midnight).
    fn local_midnight(&self, date: NaiveDate) -> i64 {
        let mut naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        for _ in 0..48 {
            if let Some(dt) = self.tz.from_local_datetime(&naive).earliest() {
                return dt.timestamp_millis();
            }
            naive += Duration::minutes(30);
        }
        naive.and_utc().timestamp_millis()
    }
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    let m0 = d.month0() + n;
    first_of(d.year() + (m0 / 12) as i32, m0 % 12 + 1)
}

/// A rep's period accumulators: for each kind, the current period and the
/// closed ones still within grace. One small vector for all kinds (a rep
/// holds about six), ordered by kind then start.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PeriodStore<A> {
    sums: Vec<(Period, A)>,
}

impl<A> Default for PeriodStore<A> {
    fn default() -> Self {
        PeriodStore { sums: Vec::new() }
    }
}

impl<A: Accumulator> PeriodStore<A> {
    /// Adds `acc` to `period` (creating its accumulator).
    pub fn add(&mut self, period: Period, acc: &A) {
        let key = (period.kind, period.start);
        match self
            .sums
            .binary_search_by_key(&key, |(p, _)| (p.kind, p.start))
        {
            Ok(i) => self.sums[i].1.merge(acc),
            Err(i) => self.sums.insert(i, (period, acc.clone())),
        }
    }

    /// Drops closed periods whose grace has run out at stream time `t_ms`.
    pub fn expire(&mut self, t_ms: i64, grace_ms: i64) {
        if self.sums.iter().any(|(p, _)| p.end + grace_ms <= t_ms) {
            self.sums.retain(|(p, _)| p.end + grace_ms > t_ms);
        }
    }

    /// The accumulator of a period, if the rep has any event in it.
    pub fn get(&self, period: &Period) -> Option<&A> {
        let key = (period.kind, period.start);
        self.sums
            .binary_search_by_key(&key, |(p, _)| (p.kind, p.start))
            .ok()
            .map(|i| &self.sums[i].1)
    }

    /// The stored periods of one kind with their sums, oldest first.
    pub fn entries(&self, kind: PeriodKind) -> impl Iterator<Item = &(Period, A)> {
        self.sums.iter().filter(move |(p, _)| p.kind == kind)
    }

    /// Number of stored period accumulators.
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<(Period, A)>()
    }

    /// Releases spare capacity (after periods expired).
    pub fn shrink(&mut self) {
        self.sums.release_spare();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn utc_periods() {
        let c = Calendar::new("UTC").unwrap();
        let t = ms("2026-11-26T15:00:00Z"); // a Thursday
        assert_eq!(
            c.period(PeriodKind::Day, t).start,
            ms("2026-11-26T00:00:00Z")
        );
        assert_eq!(
            c.period(PeriodKind::Week, t).start,
            ms("2026-11-23T00:00:00Z")
        );
        assert_eq!(
            c.period(PeriodKind::Week, t).end,
            ms("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            c.period(PeriodKind::Month, t).end,
            ms("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            c.period(PeriodKind::Quarter, t).start,
            ms("2026-10-01T00:00:00Z")
        );
        assert_eq!(
            c.period(PeriodKind::Quarter, t).end,
            ms("2027-01-01T00:00:00Z")
        );
        let edge = ms("2026-12-01T00:00:00Z");
        assert_eq!(c.period(PeriodKind::Month, edge).start, edge);
    }

    #[test]
    fn zoned_periods_follow_local_midnight_and_dst() {
        let c = Calendar::new("Europe/Berlin").unwrap();
        let d = c.period(PeriodKind::Day, ms("2026-03-29T12:00:00Z")); // DST starts
        assert_eq!(d.start, ms("2026-03-29T00:00:00+01:00"));
        assert_eq!(d.end, ms("2026-03-30T00:00:00+02:00"));
        assert_eq!(d.end - d.start, 23 * 3_600_000);
        assert!(Calendar::new("Mars/Olympus").is_err());
    }
}
