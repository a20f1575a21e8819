//! Labelled anomalies: with `Options::anomalies > 0` the generator picks
//! reps (that share of them) and gives each one anomaly, round robin over
//! the kinds, on a working day after a month of normal history; plus one
//! burst of malformed records from one source. Each becomes a [`Label`]:
//! what happened, to whom, when it started and ended, and when it became
//! detectable, so detectors can be scored for precision, recall and delay.
//!
//! "Detectable" is computed from the generator's ground truth with the
//! default detector settings ([`Rules`]): for a stop, four working hours
//! after the rep's last activity (longer for a rep so seldom busy that
//! such a silence is not rare: ln(9 r / 0.0001) / r at r activities an hour); for a drop, the first working hour at
//! which the expected (noise-free) counts cross the z and share thresholds
//! (`None` when they never do: the rep is too quiet for the test); for an
//! outlier, the deal itself; for falling behind, the moment the month's
//! missing deal flow (nothing created or won) is unlikely by chance given
//! the `b` deals the rep had over the `T` months seen before, P = (T / (T +
//! s))^b ≤ 0.001 at elapsed share s, and no earlier than 20% of the month's
//! working time; for a burst, the
//! minute the expected rejected share's lower confidence bound passes 5%.
//! Times are the reps' own working time: the generator's reps work
//! `first_hour .. first_hour + 9` UTC, Monday to Friday.

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::company::{daily_activity, Company, Rep};
use crate::wire::{rfc3339, WireEvent};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The detector settings labels assume (SalesPulse's defaults).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Working hours without activity before inactivity.
    pub inactivity_hours: i64,
    /// Working hours a drop is judged over.
    pub drop_window: i64,
    /// z-score at or below which a drop fires.
    pub drop_z: f64,
    /// And at most (1 - this) of the usual count.
    pub drop_min_share: f64,
    /// Share of the period's working time before pace is judged.
    pub pace_min_elapsed: f64,
    /// Chance of the missing deal flow below which pace is judged.
    pub pace_max_chance: f64,
    /// Rejected share that fires data quality, window minutes, records needed.
    pub quality_fire: f64,
    /// Window of the data-quality share, minutes.
    pub quality_window_min: i64,
    /// Records in the window before the share is judged.
    pub quality_min_records: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            inactivity_hours: 4,
            drop_window: 16,
            drop_z: -4.0,
            drop_min_share: 0.5,
            pace_min_elapsed: 0.2,
            pace_max_chance: 0.0001,
            quality_fire: 0.05,
            quality_window_min: 60,
            quality_min_records: 50.0,
        }
    }
}

/// One injected anomaly, as written to the labels file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// The alert kind a detector should raise: `inactivity`, `sudden_drop`,
    /// `outlier_deal`, `behind_pace` or `data_quality`.
    pub kind: &'static str,
    /// The rep, for rep anomalies.
    pub rep_id: Option<String>,
    /// The source, for a burst of malformed records.
    pub source: Option<String>,
    /// When it began (RFC 3339).
    pub start: String,
    /// When it ended (RFC 3339).
    pub end: String,
    /// When a detector with the default settings could first see it; null
    /// when the anomaly is too faint for them (left out of recall).
    pub detectable_at: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// No events from `at` to `until`.
    Stop { at: i64, until: i64 },
    /// Activities thinned to 20% in `[from, until)`.
    Drop { from: i64, until: i64 },
    /// The first win on or after `from` is booked at 100x its amount.
    Outlier { from: i64 },
    /// Nothing created or won in `[from, until)`.
    Behind { from: i64, until: i64 },
}

/// A burst of malformed copies of one source's records.
#[derive(Debug, Clone, Copy)]
struct Burst {
    source: &'static str,
    from: i64,
    until: i64,
    share: f64,
}

/// The anomalies of one generated stream.
#[derive(Debug)]
pub(crate) struct Plan {
    reps: HashMap<usize, Kind>,
    burst: Option<Burst>,
    rng: ChaCha8Rng,
    rules: Rules,
    /// Per anomaly rep: latest activity seen (for the stop's label).
    last_activity: HashMap<usize, i64>,
    /// Per anomaly rep: wins delivered so far.
    wins: HashMap<usize, u32>,
    /// Per rep falling behind: deals created or won before its month.
    flow_before: HashMap<usize, u32>,
    /// Start of the stream.
    start_ms: i64,
    /// Records of the burst's source in its window, and the window's minutes.
    burst_records: u64,
    labels: Vec<Label>,
}

/// The rep's working shift `[start, end)` on the UTC day starting `day`, if a working day.
fn shift(rep: &Rep, day: i64) -> Option<(i64, i64)> {
    let weekday = (day.div_euclid(DAY) + 3).rem_euclid(7); // 1970-01-01 was a Thursday
    (weekday < 5).then(|| {
        (
            day + rep.first_hour * HOUR,
            day + (rep.first_hour + 9) * HOUR,
        )
    })
}

/// The instant `ms` of the rep's working time after `t`.
fn add_working(rep: &Rep, t: i64, ms: i64) -> i64 {
    let mut left = ms;
    let mut day = t - t.rem_euclid(DAY) - DAY;
    for _ in 0..400 {
        if let Some((s, e)) = shift(rep, day) {
            let from = s.max(t);
            if from < e {
                if left <= e - from {
                    return from + left;
                }
                left -= e - from;
            }
        }
        day += DAY;
    }
    i64::MAX
}

/// The start of the `n`-th working day (0-based) of the rep on or after `day`.
fn working_day(rep: &Rep, mut day: i64, n: usize) -> i64 {
    let mut seen = 0;
    loop {
        if shift(rep, day).is_some() {
            if seen == n {
                return day;
            }
            seen += 1;
        }
        day += DAY;
    }
}

impl Plan {
    /// Picks `share` of the reps (at least one per kind when `share > 0`) and their days.
    pub(crate) fn new(company: &Company, start_ms: i64, days: u32, share: f64, seed: u64) -> Plan {
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed ^ 0xA70_A11E5);
        let mut plan = Plan {
            reps: HashMap::new(),
            burst: None,
            rng: rng.clone(),
            rules: Rules::default(),
            last_activity: HashMap::new(),
            wins: HashMap::new(),
            flow_before: HashMap::new(),
            start_ms,
            burst_records: 0,
            labels: Vec::new(),
        };
        let n = company.reps.len();
        if share <= 0.0 || days < 45 || n == 0 {
            return plan;
        }
        let count = ((n as f64 * share).round() as usize).clamp(4.min(n), n);
        let mut picked: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = rng.gen_range(i..n);
            picked.swap(i, j);
        }
        let last_day = start_ms + i64::from(days) * DAY;
        for (k, &i) in picked[..count].iter().enumerate() {
            let rep = &company.reps[i];
            if rep.start_ms > start_ms {
                continue; // new hires have no history
            }
            let day = start_ms + rng.gen_range(30..i64::from(days) - 10) * DAY;
            let d0 = working_day(rep, day, 0);
            let kind = match k % 4 {
                0 => {
                    let (s, _) = shift(rep, d0).unwrap_or((d0, d0));
                    let at = s + rng.gen_range(1..4) * HOUR;
                    let until = shift(rep, working_day(rep, d0 + DAY, 0)).map_or(at, |x| x.1);
                    Kind::Stop { at, until }
                }
                1 => {
                    let (from, _) = shift(rep, d0).unwrap_or((d0, d0));
                    let until = shift(rep, working_day(rep, d0, 2)).map_or(from, |x| x.1);
                    Kind::Drop { from, until }
                }
                2 => Kind::Outlier { from: d0 },
                _ => {
                    // The calendar month after the first 30 days, if it ends in time.
                    let month = month_after(start_ms + 30 * DAY);
                    if month.1 > last_day {
                        continue;
                    }
                    Kind::Behind {
                        from: month.0,
                        until: month.1,
                    }
                }
            };
            plan.reps.insert(i, kind);
        }
        // One burst: 40% malformed copies of telephony records for two hours
        // of a working morning (emea and apac reps are at work).
        let day = working_day(
            &company.reps[0],
            start_ms + rng.gen_range(30..i64::from(days) - 5) * DAY,
            0,
        );
        plan.burst = Some(Burst {
            source: "telephony",
            from: day + 9 * HOUR,
            until: day + 11 * HOUR,
            share: 0.4,
        });
        plan.rng = rng;
        plan
    }

    /// Whether rep `i` has an anomaly still to apply.
    pub(crate) fn touches(&self, i: usize) -> bool {
        self.reps.contains_key(&i)
    }

    /// Applies rep `i`'s anomaly to its events of one day (activities and
    /// new deals), and notes its last activity before a stop.
    pub(crate) fn rep_day(&mut self, i: usize, events: &mut Vec<(i64, WireEvent)>) {
        let Some(&kind) = self.reps.get(&i) else {
            return;
        };
        let is_activity = |e: &WireEvent| e.event_type.starts_with("activity.");
        match kind {
            Kind::Stop { at, until } => {
                events.retain(|(t, _)| *t < at || *t >= until);
                if let Some(t) = events
                    .iter()
                    .filter(|(t, e)| *t < at && is_activity(e))
                    .map(|(t, _)| *t)
                    .max()
                {
                    let slot = self.last_activity.entry(i).or_insert(i64::MIN);
                    *slot = (*slot).max(t);
                }
            }
            Kind::Drop { from, until } => {
                let rng = &mut self.rng;
                events.retain(|(t, e)| {
                    !(is_activity(e) && (from..until).contains(t)) || rng.gen_bool(0.2)
                });
            }
            Kind::Behind { from, until } => {
                events.retain(|(t, e)| {
                    !(e.event_type == "deal.created" && (from..until).contains(t))
                });
                let created = events
                    .iter()
                    .filter(|(t, e)| e.event_type == "deal.created" && *t < from)
                    .count() as u32;
                *self.flow_before.entry(i).or_insert(0) += created;
            }
            Kind::Outlier { .. } => {}
        }
    }

    /// Applies the anomalies to a scheduled event (a deal's close) before
    /// its follow-ups are drawn: a win of a rep falling behind is lost; the
    /// outlier rep's first win after its day is booked at 100x.
    pub(crate) fn scheduled(&mut self, ev: &mut WireEvent, at: i64) {
        if ev.event_type != "deal.won" {
            return;
        }
        let i = ev.rep_index;
        let wins = self.wins.entry(i).or_insert(0);
        *wins += 1;
        match self.reps.get(&i).copied() {
            Some(Kind::Behind { from, .. }) if at < from => {
                *self.flow_before.entry(i).or_insert(0) += 1;
            }
            Some(Kind::Behind { from, until }) if (from..until).contains(&at) => {
                ev.event_type = "deal.lost";
                ev.reason = Some("no_decision");
                ev.amount = None;
                ev.currency = None;
                ev.channel = None;
                ev.partner_id = None;
                ev.new_customer = None;
                ev.created_at = None;
                ev.assist_rep_ids.clear();
            }
            Some(Kind::Outlier { from }) if at >= from && *wins > 8 => {
                if let Some(a) = ev.amount.as_mut() {
                    a.insert_str(a.find('.').unwrap_or(a.len()), "00");
                }
                self.reps.remove(&i);
                self.labels.push(Label {
                    kind: "outlier_deal",
                    rep_id: Some(ev.rep_id.clone()),
                    source: None,
                    start: rfc3339(at),
                    end: rfc3339(at + DAY),
                    detectable_at: Some(rfc3339(at)),
                });
            }
            _ => {}
        }
    }

    /// Whether a record of `source` at `at` gets a malformed copy (the burst).
    pub(crate) fn burst_copy(&mut self, source: &str, at: i64) -> bool {
        match self.burst {
            Some(b) if b.source == source && (b.from..b.until).contains(&at) => {
                self.burst_records += 1;
                self.rng.gen_bool(b.share)
            }
            _ => false,
        }
    }

    /// The labels of every anomaly injected (sorted by start), given the
    /// company and the end of the simulated days.
    pub(crate) fn labels(&self, c: &Company, end_ms: i64) -> Vec<Label> {
        let r = self.rules;
        let mut out = self.labels.clone();
        for (&i, &kind) in &self.reps {
            let rep = &c.reps[i];
            let id = Some(rep.id.clone());
            let label = |kind, start: i64, end: i64, at: Option<i64>| Label {
                kind,
                rep_id: id.clone(),
                source: None,
                start: rfc3339(start),
                end: rfc3339(end),
                detectable_at: at.filter(|&t| t < end).map(rfc3339),
            };
            match kind {
                Kind::Stop { at, until } if until <= end_ms => {
                    let last = self.last_activity.get(&i).copied().unwrap_or(at);
                    // A seldom busy rep may be quiet longer (see the detector):
                    // a gap this long by chance on under one day in 10,000.
                    let rate = daily_activity(rep.role) * rep.skill.sqrt() / 9.0;
                    let hours = (r.inactivity_hours as f64).max((9.0 * rate / 1e-4).ln() / rate);
                    let seen = add_working(rep, last, (hours * HOUR as f64) as i64);
                    out.push(label("inactivity", at, until, Some(seen)));
                }
                Kind::Drop { from, until } if until <= end_ms => {
                    let at = drop_detectable(rep, from, until, &r);
                    out.push(label("sudden_drop", from, until, at));
                }
                Kind::Behind { from, until } if until <= end_ms => {
                    let before = self.flow_before.get(&i).copied().unwrap_or(0);
                    let at = behind_detectable(rep, self.start_ms, from, until, before, &r);
                    out.push(label("behind_pace", from, until, at));
                }
                _ => {}
            }
        }
        if let Some(b) = self.burst.filter(|b| b.until <= end_ms) {
            let per_min = self.burst_records as f64 / ((b.until - b.from) / 60_000) as f64;
            let at = (1..=(b.until - b.from) / 60_000)
                .find(|&m| {
                    let m_in = m.min(r.quality_window_min) as f64;
                    let bad = b.share * per_min * m_in;
                    let total = per_min * r.quality_window_min as f64 + bad;
                    total >= r.quality_min_records && wilson_lower(bad, total) > r.quality_fire
                })
                .map(|m| b.from + m * 60_000);
            out.push(Label {
                kind: "data_quality",
                rep_id: None,
                source: Some(b.source.to_string()),
                start: rfc3339(b.from),
                end: rfc3339(b.until),
                detectable_at: at.map(rfc3339),
            });
        }
        out.sort_by(|a, b| (&a.start, a.kind, &a.rep_id).cmp(&(&b.start, b.kind, &b.rep_id)));
        out
    }
}

/// The rep's working milliseconds in `[a, b)`.
fn working_ms(rep: &Rep, a: i64, b: i64) -> i64 {
    let mut total = 0;
    let mut day = a - a.rem_euclid(DAY) - DAY;
    while day < b {
        if let Some((s, e)) = shift(rep, day) {
            total += (e.min(b) - s.max(a)).max(0);
        }
        day += DAY;
    }
    total
}

/// When a month `[from, until)` with no deal created or won becomes
/// detectable: the detector's usual rate is the deals created and won
/// (`before`) over the share of the previous months' working time it saw
/// (the stream starts at `start`, inside the month before `from`).
fn behind_detectable(
    rep: &Rep,
    start: i64,
    from: i64,
    until: i64,
    before: u32,
    r: &Rules,
) -> Option<i64> {
    // Whole-month equivalents seen before `from`, month by month.
    let mut seen = 0.0;
    let mut month = month_of(start);
    while month.0 < from {
        let whole = working_ms(rep, month.0, month.1).max(1) as f64;
        seen += working_ms(rep, start.max(month.0), month.1.min(from)) as f64 / whole;
        month = month_after(month.0);
    }
    if before == 0 || seen < 0.5 {
        return None;
    }
    // P(none of `before + 0` deals in the share s) = (seen / (seen + s))^before.
    let share = r
        .pace_min_elapsed
        .max(seen * (r.pace_max_chance.powf(-1.0 / f64::from(before)) - 1.0));
    (share <= 1.0).then(|| {
        add_working(
            rep,
            from,
            (working_ms(rep, from, until) as f64 * share).ceil() as i64,
        )
    })
}

/// The first working hour of a drop at which the expected counts cross the
/// drop detector's thresholds.
fn drop_detectable(rep: &Rep, from: i64, until: i64, r: &Rules) -> Option<i64> {
    let per_hour = daily_activity(rep.role) * rep.skill.sqrt() / 9.0;
    let hours = working_ms(rep, from, until) / HOUR;
    (1..=hours).find_map(|k| {
        let w = r.drop_window as f64;
        let in_drop = (k as f64).min(w);
        let expected = w * per_hour;
        let observed = (w - in_drop) * per_hour + 0.2 * in_drop * per_hour;
        let z = (observed - expected) / expected.max(1.0).sqrt();
        (z <= r.drop_z && observed <= (1.0 - r.drop_min_share) * expected)
            .then(|| add_working(rep, from, k * HOUR))
    })
}

/// The lower end of the 95% Wilson interval of `bad / total`.
fn wilson_lower(bad: f64, total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    let (n, z) = (total, 1.96f64);
    let p = bad / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - spread) / (1.0 + z * z / n)).max(0.0)
}

/// `[start, end)` of the calendar month holding `t` (UTC).
fn month_of(t: i64) -> (i64, i64) {
    let next = month_after(t).0;
    // 40 days before the next month is inside the month before t's.
    (month_after(next - 40 * DAY).0, next)
}

/// `[start, end)` of the calendar month after the one holding `t` (UTC).
fn month_after(t: i64) -> (i64, i64) {
    use chrono::{Datelike, NaiveDate};
    let d = chrono::DateTime::from_timestamp_millis(t)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    let first = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |d| d.and_utc().timestamp_millis())
    };
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    let (y2, m2) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (first(y, m), first(y2, m2))
}
