//! Working time: the days of the week and hours of the day when reps are
//! expected to work, in the company's time zone, minus a holiday list.
//! Pace compares attainment with the share of a period's working time that
//! has elapsed; inactivity counts working hours without activity.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

use crate::DetectError;

/// The working-time calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    tz: Tz,
    /// Working weekdays, Monday first.
    days: [bool; 7],
    /// Start and end of the working day, minutes after local midnight.
    start_min: u32,
    end_min: u32,
    holidays: BTreeSet<NaiveDate>,
    /// The zone is UTC: local times are plain arithmetic (the common case, and fast).
    utc: bool,
}

const DAY_MS: i64 = 86_400_000;

impl WorkCalendar {
    /// A calendar from config values: an IANA zone, weekday names (`mon`..`sun`),
    /// hours as `"09:00-17:00"`, and holidays as `YYYY-MM-DD` dates.
    pub fn new(
        tz: &str,
        days: &[String],
        hours: &str,
        holidays: &[String],
    ) -> Result<Self, DetectError> {
        let tz: Tz = tz.parse().map_err(|_| {
            DetectError::setting("detect.calendar.time_zone", tz, "an IANA zone name")
        })?;
        let mut set = [false; 7];
        for d in days {
            let wd: Weekday = d.parse().map_err(|_| {
                DetectError::setting(
                    "detect.calendar.working_days",
                    d,
                    "weekday names such as \"mon\"",
                )
            })?;
            set[wd.num_days_from_monday() as usize] = true;
        }
        let (start_min, end_min) = parse_hours(hours)?;
        let holidays = holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| {
                    DetectError::setting("detect.calendar.holidays", h, "dates as YYYY-MM-DD")
                })
            })
            .collect::<Result<_, _>>()?;
        let utc = matches!(
            tz.name(),
            "UTC"
                | "Etc/UTC"
                | "Etc/Universal"
                | "Universal"
                | "Zulu"
                | "Etc/Zulu"
                | "GMT"
                | "Etc/GMT"
        );
        Ok(WorkCalendar {
            utc,
            tz,
            days: set,
            start_min,
            end_min,
            holidays,
        })
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&date)
    }

    fn local_date(&self, t: i64) -> NaiveDate {
        if self.utc {
            return i32::try_from(t.div_euclid(DAY_MS))
                .ok()
                .and_then(NaiveDate::from_epoch_days)
                .unwrap_or_default();
        }
        self.tz
            .timestamp_millis_opt(t)
            .earliest()
            .map(|d| d.date_naive())
            .unwrap_or_default()
    }

    /// The working interval `[start, end)` of `date` in UTC millis, if it is a working day.
    fn shift(&self, date: NaiveDate) -> Option<(i64, i64)> {
        if !self.is_working_day(date) {
            return None;
        }
        if self.utc {
            let midnight = i64::from(date.to_epoch_days()) * DAY_MS;
            let at = |min: u32| midnight + i64::from(min) * 60_000;
            return Some((at(self.start_min), at(self.end_min)));
        }
        let at = |min: u32| {
            let time = NaiveTime::from_hms_opt(min / 60, min % 60, 0).unwrap_or_default();
            let naive = date.and_time(time);
            // A DST gap shifts the instant by the gap; an overlap takes the first.
            self.tz
                .from_local_datetime(&naive)
                .earliest()
                .or_else(|| {
                    self.tz
                        .from_local_datetime(&(naive + Duration::hours(1)))
                        .earliest()
                })
                .map(|d| d.timestamp_millis())
        };
        let (s, e) = (at(self.start_min)?, at(self.end_min)?);
        (e > s).then_some((s, e))
    }

    /// Whether `t` falls inside working time.
    pub fn is_working(&self, t: i64) -> bool {
        self.shift(self.local_date(t))
            .is_some_and(|(s, e)| s <= t && t < e)
    }

    /// Working milliseconds in `[a, b)`.
    pub fn working_ms(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            return 0;
        }
        let mut total = 0;
        let mut date = self.local_date(a);
        let last = self.local_date(b);
        while date <= last {
            if let Some((s, e)) = self.shift(date) {
                total += (e.min(b) - s.max(a)).max(0);
            }
            date += Duration::days(1);
        }
        total
    }

    /// The first instant at or after `t` by which `ms` of working time has
    /// elapsed since `t` (`t` itself when `ms` is 0). Gives up after ten
    /// years without working time (a calendar with no working day).
    pub fn add_working(&self, t: i64, ms: i64) -> i64 {
        let mut left = ms.max(0);
        let mut date = self.local_date(t);
        for _ in 0..3660 {
            if let Some((s, e)) = self.shift(date) {
                let from = s.max(t);
                if from < e {
                    if left <= e - from {
                        return from + left;
                    }
                    left -= e - from;
                }
            }
            date += Duration::days(1);
        }
        i64::MAX
    }

    /// The share of `[start, end)`'s working time elapsed at `t` (0..=1; 1
    /// for a period without working time once it is over, 0 before).
    pub fn elapsed_share(&self, start: i64, end: i64, t: i64) -> f64 {
        let total = self.working_ms(start, end);
        if total == 0 {
            return if t >= end { 1.0 } else { 0.0 };
        }
        self.working_ms(start, t.clamp(start, end)) as f64 / total as f64
    }

    /// Working hours in a working day.
    pub fn hours_per_day(&self) -> f64 {
        f64::from(self.end_min - self.start_min) / 60.0
    }

    /// The local hour of day (0-23) at `t`.
    pub fn local_hour(&self, t: i64) -> u8 {
        use chrono::Timelike;
        self.tz
            .timestamp_millis_opt(t)
            .earliest()
            .map_or(0, |d| d.hour() as u8)
    }
}

fn parse_hours(hours: &str) -> Result<(u32, u32), DetectError> {
    let bad = || {
        DetectError::setting(
            "detect.calendar.working_hours",
            hours,
            "\"HH:MM-HH:MM\" with the start before the end",
        )
    };
    let (a, b) = hours.split_once('-').ok_or_else(bad)?;
    let min = |s: &str| -> Result<u32, DetectError> {
        let t = NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad())?;
        Ok(t.hour_min())
    };
    let (s, e) = (min(a)?, if b.trim() == "24:00" { 1440 } else { min(b)? });
    if s >= e {
        return Err(bad());
    }
    Ok((s, e))
}

trait HourMin {
    fn hour_min(&self) -> u32;
}

impl HourMin for NaiveTime {
    fn hour_min(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> WorkCalendar {
        WorkCalendar::new(
            "Europe/Berlin",
            &["mon", "tue", "wed", "thu", "fri"].map(String::from),
            "09:00-17:00",
            &["2026-12-25".to_string()],
        )
        .expect("valid")
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .timestamp_millis()
    }

    const H: i64 = 3_600_000;
    const MS_PER_MIN: i64 = 60_000;

    #[test]
    fn working_ms_counts_only_shifts() {
        let c = cal();
        // Monday 2026-11-23 08:00 Berlin (07:00Z) to Tuesday 12:00 Berlin.
        let a = at("2026-11-23T07:00:00Z");
        let b = at("2026-11-24T11:00:00Z");
        assert_eq!(c.working_ms(a, b), 8 * H + 3 * H);
        // A weekend has none.
        assert_eq!(
            c.working_ms(at("2026-11-28T00:00:00Z"), at("2026-11-30T00:00:00Z")),
            0
        );
        // A holiday has none: Friday 2026-12-25.
        assert_eq!(
            c.working_ms(at("2026-12-25T00:00:00Z"), at("2026-12-26T00:00:00Z")),
            0
        );
    }

    #[test]
    fn add_working_skips_nights_weekends_and_holidays() {
        let c = cal();
        // Friday 15:00 Berlin + 4 working hours = Monday 11:00 Berlin.
        let fri = at("2026-11-27T14:00:00Z");
        assert_eq!(c.add_working(fri, 4 * H), at("2026-11-30T10:00:00Z"));
        // Thursday 2026-12-24 16:00 + 2 h: Christmas is a holiday, the
        // weekend follows: Monday 2026-12-28 10:00 Berlin.
        let thu = at("2026-12-24T15:00:00Z");
        assert_eq!(c.add_working(thu, 2 * H), at("2026-12-28T09:00:00Z"));
        assert_eq!(c.add_working(fri, 0), fri);
    }

    #[test]
    fn elapsed_share_of_a_month() {
        let c = cal();
        let start = at("2026-10-31T23:00:00Z"); // November 1st, Berlin
        let end = at("2026-11-30T23:00:00Z");
        // November 2026 has 21 working days; after the first full week (5 days) 5/21.
        let t = at("2026-11-07T00:00:00Z");
        let share = c.elapsed_share(start, end, t);
        assert!((share - 5.0 / 21.0).abs() < 1e-9, "{share}");
        assert_eq!(c.elapsed_share(start, end, end + H), 1.0);
        assert_eq!(c.elapsed_share(start, end, start - H), 0.0);
    }

    #[test]
    fn dst_change_keeps_local_hours() {
        let c = cal();
        // Monday 2026-03-30, after the switch to summer time: 09:00 Berlin is 07:00Z.
        assert!(c.is_working(at("2026-03-30T07:00:00Z")));
        assert!(!c.is_working(at("2026-03-30T06:59:59Z")));
        // Monday 2026-03-23, winter time: 09:00 Berlin is 08:00Z.
        assert!(!c.is_working(at("2026-03-23T07:30:00Z")));
    }

    #[test]
    fn bad_settings_name_the_key() {
        let e = WorkCalendar::new("Mars/Base", &[], "09:00-17:00", &[]).unwrap_err();
        assert!(e.to_string().contains("detect.calendar.time_zone"), "{e}");
        let e = WorkCalendar::new("UTC", &["funday".into()], "09:00-17:00", &[]).unwrap_err();
        assert!(e.to_string().contains("funday"), "{e}");
        let e = WorkCalendar::new("UTC", &[], "17:00-09:00", &[]).unwrap_err();
        assert!(e.to_string().contains("working_hours"), "{e}");
        let e = WorkCalendar::new("UTC", &[], "09:00-17:00", &["25.12.2026".into()]).unwrap_err();
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
    }

    proptest::proptest! {
        /// add_working is the inverse of working_ms.
        #[test]
        fn add_working_inverts_working_ms(t in 1_700_000_000_000i64..1_800_000_000_000, mins in 0i64..20_000) {
            let c = cal();
            let u = c.add_working(t, mins * MS_PER_MIN);
            proptest::prop_assert_eq!(c.working_ms(t, u), mins * MS_PER_MIN);
        }
    }
}
