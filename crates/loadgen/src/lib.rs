//! A deterministic synthetic sales company, for demos, tests and benchmarks.
//!
//! Reps have roles (`direct`, `channel`, `inside`), teams, regions, a skill
//! that shapes their activity and win rate, and working hours on weekdays.
//! Deals flow through a funnel (created, stage changes, won or lost after a
//! realistic cycle); wins lead to invoices, payments days later, occasional
//! refunds, feedback and assists. Months end with a push. Optional noise:
//! out-of-order delivery, duplicates and malformed lines. The same seed
//! always yields the same bytes.

mod anomaly;
mod company;
mod noise;
mod wire;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use anomaly::{Label, Rules};
pub use company::{Company, Rep, Role};
pub use wire::WireEvent;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of reps.
    pub reps: usize,
    /// Number of calendar days.
    pub days: u32,
    /// Seed.
    pub seed: u64,
    /// First day (UTC).
    pub start: NaiveDate,
    /// Share of events delivered late (1 minute to 6 hours after their time).
    pub out_of_order: f64,
    /// Share of events delivered twice.
    pub duplicates: f64,
    /// Share of extra malformed lines.
    pub malformed: f64,
    /// Share of reps given a labelled anomaly (plus one burst of malformed
    /// records); 0 for none. See [`Generator::labels`].
    pub anomalies: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reps: 100,
            days: 30,
            seed: 1,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            out_of_order: 0.0,
            duplicates: 0.0,
            malformed: 0.0,
            anomalies: 0.0,
        }
    }
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines written.
    pub lines: u64,
    /// Valid, distinct events among them.
    pub events: u64,
    /// Duplicate lines.
    pub duplicates: u64,
    /// Malformed lines.
    pub malformed: u64,
}

/// A line with its delivery time (the order lines are written in).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    deliver_at: i64,
    seq: u64,
    line: String,
}

/// Generates the company's event stream, one NDJSON line at a time, in delivery order.
pub struct Generator {
    opts: Options,
    rng: ChaCha8Rng,
    company: Company,
    /// Events scheduled for later (invoices, payments, wins), by occurred time.
    scheduled: BinaryHeap<Reverse<(i64, u64, WireEvent)>>,
    /// Lines waiting for delivery, by delivery time.
    outbox: BinaryHeap<Reverse<Pending>>,
    day: u32,
    seq: u64,
    summary: Summary,
    plan: anomaly::Plan,
}

const MS_PER_DAY: i64 = 86_400_000;

impl Generator {
    /// A generator for `opts`.
    pub fn new(opts: Options) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let company = Company::new(opts.reps, &mut rng, opts.start);
        let start_ms = opts
            .start
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis();
        let plan = anomaly::Plan::new(&company, start_ms, opts.days, opts.anomalies, opts.seed);
        let mut g = Generator {
            opts,
            rng,
            company,
            scheduled: BinaryHeap::new(),
            outbox: BinaryHeap::new(),
            day: 0,
            seq: 0,
            summary: Summary::default(),
            plan,
        };
        g.directory();
        g
    }

    /// What was produced so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The labelled anomalies injected (with `Options::anomalies`); complete
    /// once every line has been generated.
    pub fn labels(&self) -> Vec<Label> {
        let end = self.start_ms() + i64::from(self.opts.days) * MS_PER_DAY;
        self.plan.labels(&self.company, end)
    }

    /// The company being simulated.
    pub fn company(&self) -> &Company {
        &self.company
    }

    fn start_ms(&self) -> i64 {
        self.opts
            .start
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis()
    }

    fn directory(&mut self) {
        let at = self.start_ms() - 60_000;
        let records: Vec<WireEvent> = self
            .company
            .reps
            .iter()
            .map(|r| r.directory_event(at))
            .collect();
        for ev in records {
            self.deliver(ev, at);
        }
    }

    /// Queues an event for delivery, applying the noise options.
    fn deliver(&mut self, mut ev: WireEvent, at: i64) {
        self.seq += 1;
        ev.event_id = format!("{:x}-{}", self.opts.seed, self.seq);
        let line = ev.to_line();
        let delay = if self.rng.gen_bool(self.opts.out_of_order.clamp(0.0, 1.0)) {
            self.rng.gen_range(60_000..6 * 3_600_000)
        } else {
            0
        };
        if self.rng.gen_bool(self.opts.duplicates.clamp(0.0, 1.0)) {
            let later = at + delay + self.rng.gen_range(0..3_600_000);
            self.push_line(later, line.clone());
            self.summary.duplicates += 1;
        }
        if self.rng.gen_bool(self.opts.malformed.clamp(0.0, 1.0)) {
            let bad = noise::malform(&line, &mut self.rng);
            self.push_line(at + delay, bad);
            self.summary.malformed += 1;
        }
        if self.plan.burst_copy(ev.source, at) {
            let bad = noise::malform(&line, &mut self.rng);
            self.push_line(at + delay, bad);
            self.summary.malformed += 1;
        }
        self.summary.events += 1;
        self.push_line(at + delay, line);
    }

    fn push_line(&mut self, deliver_at: i64, line: String) {
        self.seq += 1;
        self.outbox.push(Reverse(Pending {
            deliver_at,
            seq: self.seq,
            line,
        }));
    }

    /// Simulates one more day. Returns false when all days are done.
    fn step_day(&mut self) -> bool {
        if self.day >= self.opts.days {
            return false;
        }
        let day_start = self.start_ms() + i64::from(self.day) * MS_PER_DAY;
        let date = self.opts.start + chrono::Duration::days(i64::from(self.day));
        let working = date.weekday().num_days_from_monday() < 5;
        if working {
            let month_end_push = date.day() + 5 > days_in_month(date);
            let weekday_factor =
                [1.1, 1.0, 1.0, 1.0, 0.8][date.weekday().num_days_from_monday() as usize];
            let mut new = Vec::new();
            for i in 0..self.company.reps.len() {
                let before = new.len();
                company::rep_day(
                    &self.company,
                    i,
                    day_start,
                    weekday_factor,
                    month_end_push,
                    &mut self.rng,
                    &mut new,
                );
                if self.plan.touches(i) {
                    let mut mine = new.split_off(before);
                    self.plan.rep_day(i, &mut mine);
                    new.extend(mine);
                }
            }
            for (at, ev) in new {
                // Only deals have follow-ups; everything else is serialized at once,
                // so a day of a large company is held as compact lines, not structs.
                if ev.plan.is_some() {
                    self.seq += 1;
                    self.scheduled.push(Reverse((at, self.seq, ev)));
                } else {
                    self.deliver(ev, at);
                }
            }
        }
        let day_end = day_start + MS_PER_DAY;
        while let Some(Reverse((at, _, _))) = self.scheduled.peek() {
            if *at >= day_end {
                break;
            }
            let Some(Reverse((at, _, mut ev))) = self.scheduled.pop() else {
                break;
            };
            self.plan.scheduled(&mut ev, at);
            let follow_ups = company::follow_ups(&self.company, &ev, at, &mut self.rng);
            for (when, f) in follow_ups {
                self.seq += 1;
                self.scheduled.push(Reverse((when, self.seq, f)));
            }
            self.deliver(ev, at);
        }
        self.day += 1;
        true
    }

    /// Writes the whole stream to `out`.
    pub fn write_all<W: Write>(mut self, out: &mut W) -> io::Result<Summary> {
        for line in self.by_ref() {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(self.summary)
    }
}

impl Iterator for Generator {
    type Item = String;

    /// The next line in delivery order. Lines due before the end of the
    /// simulated days so far are released once no later day can precede them.
    fn next(&mut self) -> Option<String> {
        loop {
            let horizon = self.start_ms() + i64::from(self.day) * MS_PER_DAY;
            let done = self.day >= self.opts.days;
            if let Some(Reverse(p)) = self.outbox.peek() {
                // Every line not yet queued occurs (so is delivered) at or after `horizon`.
                if done || p.deliver_at < horizon {
                    let Reverse(p) = self.outbox.pop()?;
                    self.summary.lines += 1;
                    return Some(p.line);
                }
            }
            if !self.step_day() {
                if self.outbox.is_empty() {
                    return None;
                }
                // All days simulated: drain the outbox in order.
                self.day = self.opts.days;
            }
        }
    }
}

fn days_in_month(d: NaiveDate) -> u32 {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .map_or(30, |l| l.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_ordered() {
        let opts = Options {
            reps: 20,
            days: 10,
            seed: 7,
            ..Options::default()
        };
        let a: Vec<String> = Generator::new(opts.clone()).collect();
        let b: Vec<String> = Generator::new(opts).collect();
        assert_eq!(a, b);
        assert!(a.len() > 1000, "{} lines", a.len());
        let times: Vec<String> = a
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["occurred_at"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(
            times, sorted,
            "without noise, lines come in event-time order"
        );
    }
}
