//! `source_silent`: a source (the events' `source` field, else the input)
//! that sends records regularly and has sent none for much longer than its
//! usual gap. Gaps are measured in working time of the default calendar
//! (a night or a weekend is no gap) and judged at ticks of stream time, so
//! an idle partition's recorded clock moves (docs/windows.md) let it fire
//! when nothing arrives, and replay reproduces it. While one is firing the
//! engine holds back inactivity alerts (one alert about the integration,
//! not one per rep) and counts the reps held, reported when it resolves.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use salespulse_model::{AlertKind, AlertRecord};

use crate::activity::IDLE_WALK_MAX_MS;
use crate::emit::{hours, source_record, Facts};
use crate::lifecycle::Alerts;
use crate::{DetectConfig, WorkCalendar};

/// Gaps remembered per source: a few days of a moderate source.
const GAPS: usize = 256;

/// FNV-1a of a rep id: the reps of a source's last records are kept as hashes.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Working time from `from` to `to`, walking at most the last
/// IDLE_WALK_MAX_MS (a walk costs a step per day; stream time can jump
/// years ahead).
fn working_between(cal: &WorkCalendar, from: i64, to: i64) -> i64 {
    cal.working_ms(from.max(to - IDLE_WALK_MAX_MS), to.max(from))
}

#[derive(Debug, Default)]
struct SourceGaps {
    /// Stream time of the source's latest record.
    last: Option<i64>,
    /// Working-time gaps between its records, newest last.
    gaps: VecDeque<i64>,
    alerts: Alerts,
    /// Reps whose inactivity was held back while it was silent.
    held: BTreeSet<Box<str>>,
    /// Hashes of the reps of its last records (as many as gaps are kept).
    reps: VecDeque<u64>,
}

impl SourceGaps {
    /// The silence that counts as unusual: the longest of `factor` times
    /// the longest remembered gap, `min_silence`, and the
    /// gap that records arriving at random at the source's mean rate would
    /// leave on fewer than one working day in `1 / RARE_PER_DAY` (as for
    /// inactivity: for mean gap m and D working hours a day, about
    /// (D / m)·e^(-L/m) gaps a day are longer than L, so L = m·ln(D / m /
    /// RARE_PER_DAY)). None until `min_gaps` gaps are known and the last
    /// records came from `min_reps` reps.
    fn limit(&self, cfg: &DetectConfig, cal: &WorkCalendar) -> Option<i64> {
        const RARE_PER_DAY: f64 = 1e-4;
        let s = &cfg.silence;
        if self.gaps.len() < s.min_gaps.max(1) || !self.spans_reps(s.min_reps) {
            return None;
        }
        let mut sorted: Vec<i64> = self.gaps.iter().copied().collect();
        sorted.sort_unstable();
        // Real sources are burstier than random arrivals (a team's emails
        // after a meeting): the longest gap seen, not a quantile, is the scale.
        let longest = sorted[sorted.len() - 1];
        let mean_h = sorted.iter().sum::<i64>() as f64 / sorted.len() as f64 / 3_600_000.0;
        let per_day = cal.hours_per_day() / mean_h.max(1e-6);
        let random_h = mean_h * (per_day / RARE_PER_DAY).max(1.0).ln();
        let limit = cfg
            .min_silence_ms
            .max((longest as f64 * s.factor) as i64)
            .max((random_h * 3_600_000.0) as i64);
        Some(limit)
    }

    /// Whether its last records came from at least `n` reps: a source that
    /// only one or two reps of the partition use going quiet is those reps
    /// going quiet, which their inactivity alerts report.
    fn spans_reps(&self, n: usize) -> bool {
        let mut seen: Vec<u64> = Vec::with_capacity(n);
        for &r in &self.reps {
            if !seen.contains(&r) {
                seen.push(r);
                if seen.len() >= n {
                    return true;
                }
            }
        }
        seen.len() >= n
    }
}

/// The sources an engine has seen and their silences.
#[derive(Debug, Default)]
pub struct Silence {
    sources: BTreeMap<String, SourceGaps>,
}

impl Silence {
    /// A record of `source` (about `rep`, when it decoded) arrived at
    /// stream time `t`: notes the gap and resolves the source's silence, if
    /// any (the record says how many reps' inactivity was held back meanwhile).
    pub fn observe(
        &mut self,
        cfg: &DetectConfig,
        (source, rep): (&str, Option<&str>),
        partition: Option<i32>,
        t: i64,
        out: &mut Vec<AlertRecord>,
    ) {
        if !cfg.enabled || !cfg.silence.enabled {
            return;
        }
        let cal = &cfg.calendars[0];
        let g = match self.sources.get_mut(source) {
            Some(g) => g,
            None => self.sources.entry(source.to_string()).or_default(),
        };
        if let Some(last) = g.last {
            let gap = working_between(cal, last, t);
            if gap > 0 {
                if g.gaps.len() == GAPS {
                    g.gaps.pop_front();
                }
                g.gaps.push_back(gap);
            }
        }
        g.last = Some(g.last.map_or(t, |l| l.max(t)));
        if let Some(rep) = rep {
            if g.reps.len() == GAPS {
                g.reps.pop_front();
            }
            g.reps.push_back(fnv(rep));
        }
        for slot in g.alerts.resolve_all(AlertKind::SourceSilent, None, t) {
            let held = std::mem::take(&mut g.held).len();
            let facts = Facts {
                value: 0.0,
                threshold: 0.0,
                baseline: held as f64,
                message: format!(
                    "Records from {source} arrive again; the inactivity alerts of {held} reps were held back meanwhile."
                ),
                suggestion: String::new(),
            };
            let severity = cfg.silence.severity;
            out.push(source_record(
                source, partition, &slot, severity, true, t, facts,
            ));
        }
    }

    /// The tick at `t`: fires for every source silent for longer than its
    /// limit. Returns whether any source is silent (firing).
    pub fn tick(
        &mut self,
        cfg: &DetectConfig,
        partition: Option<i32>,
        t: i64,
        out: &mut Vec<AlertRecord>,
    ) -> bool {
        if !cfg.enabled || !cfg.silence.enabled {
            return false;
        }
        let cal: &WorkCalendar = &cfg.calendars[0];
        for (source, g) in &mut self.sources {
            let (Some(last), Some(limit)) = (g.last, g.limit(cfg, cal)) else {
                continue;
            };
            let quiet = working_between(cal, last, t);
            if quiet <= limit || g.alerts.is_firing(AlertKind::SourceSilent) {
                continue;
            }
            let Some(slot) =
                g.alerts
                    .fire_instant(AlertKind::SourceSilent, last, t, i64::MAX, false)
            else {
                continue;
            };
            let facts = Facts {
                value: quiet as f64 / 3_600_000.0,
                threshold: limit as f64 / 3_600_000.0,
                baseline: g.gaps.len() as f64,
                message: format!(
                    "No records from {source} for {} working hours (its usual gaps are much shorter; the limit is {}).",
                    hours(quiet),
                    hours(limit)
                ),
                suggestion: "Check the integration that sends these records (connector, credentials, upstream outage); reps' inactivity alerts are held back until it sends again.".into(),
            };
            out.push(source_record(
                source,
                partition,
                &slot,
                cfg.silence.severity,
                false,
                t,
                facts,
            ));
        }
        self.any_silent()
    }

    /// Whether some source's silence is firing.
    pub fn any_silent(&self) -> bool {
        self.sources
            .values()
            .any(|g| g.alerts.is_firing(AlertKind::SourceSilent))
    }

    /// Reps whose inactivity alert was held back at a tick: counted for
    /// every silent source.
    pub fn held(&mut self, reps: &[Box<str>]) {
        for g in self.sources.values_mut() {
            if g.alerts.is_firing(AlertKind::SourceSilent) {
                g.held.extend(reps.iter().cloned());
            }
        }
    }

    /// The firing records are kept by the caller ([`crate::quality`]'s
    /// owner); sources are a handful.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether no source was seen.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}
