//! Period over period: each rep keeps the sums of its last two closed
//! periods of every kind, so a period summary can carry the period before
//! it and the change (this period minus last), also when a late event
//! re-emits the summary, and score records can carry the last closed
//! periods (`last_periods`, for team period-over-period figures).

use serde::{Deserialize, Serialize};

use salespulse_kpi::SalesAcc;
use salespulse_model::record::{round6, KpiTable, LastPeriod, PreviousPeriod, ScoreRecord};
use salespulse_window::Accumulator;
use salespulse_window::{Calendar, Period, PeriodKind, ReleaseSpare};

use super::hooks::{Feature, PeriodCx, RecordCx};
use crate::rep::Core;
use crate::score::{change, kpi_table, period_names, period_ref, period_score};
use crate::EngineConfig;

/// Closed periods kept per kind.
const KEEP: usize = 2;

/// The last closed periods' sums, by period kind: (start, sums), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct History {
    by_kind: [Vec<(i64, SalesAcc)>; 4],
}

impl History {
    /// Records the final sums of a closed period (again, when a late event changed them).
    pub(crate) fn note(&mut self, p: &Period, acc: SalesAcc) {
        let kept = &mut self.by_kind[p.kind as usize];
        match kept.iter_mut().find(|(s, _)| *s == p.start) {
            Some(slot) => slot.1 = acc,
            None => {
                kept.push((p.start, acc));
                kept.sort_unstable_by_key(|(s, _)| *s);
                if kept.len() > KEEP {
                    kept.remove(0);
                }
            }
        }
    }

    /// Adds what reached a closed period late: within its grace (its
    /// summary is due and will note the full sums), or after it (an assist
    /// credit from a partition far behind, or an event still inside a
    /// rolling window), when its summary is not emitted again. Either way
    /// the period's sums here are complete, also for a rep that had nothing
    /// else in the period, so what is shown of it later does not depend on
    /// when a credit arrived.
    pub(crate) fn add_late(&mut self, p: &Period, acc: &SalesAcc) {
        match self.by_kind[p.kind as usize]
            .iter_mut()
            .find(|(s, _)| *s == p.start)
        {
            Some(slot) => slot.1.merge(acc),
            None => self.note(p, *acc),
        }
    }

    /// The kept sums of closed period `p`.
    pub(crate) fn get(&self, p: &Period) -> Option<SalesAcc> {
        self.by_kind[p.kind as usize]
            .iter()
            .find(|(s, _)| *s == p.start)
            .map(|(_, a)| *a)
    }

    /// The latest closed period of `kind` kept, and its sums.
    pub(crate) fn last(&self, calendar: &Calendar, kind: PeriodKind) -> Option<(Period, SalesAcc)> {
        let (start, acc) = self.by_kind[kind as usize].last()?;
        Some((calendar.period(kind, *start), *acc))
    }

    /// The period right before `p` and its sums, if the rep had one.
    pub(crate) fn before(&self, calendar: &Calendar, p: &Period) -> Option<(Period, SalesAcc)> {
        let prev = calendar.period(p.kind, p.start - 1);
        self.by_kind[p.kind as usize]
            .iter()
            .find(|(s, _)| *s == prev.start)
            .map(|(_, a)| (prev, *a))
    }
}

impl Feature for History {
    fn on_late(&mut self, period: &Period, acc: &SalesAcc) {
        self.add_late(period, acc);
    }

    fn on_period_close(&mut self, cx: &PeriodCx<'_>) {
        // Past its grace the period's sums here already hold everything
        // that reached it (see `add_late`).
        if cx.live {
            self.note(&cx.period, cx.acc);
        }
    }

    fn score_section(&mut self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
        // Two period scores and three KPI tables per kind: only for the
        // KPI record that carries them.
        if cx.detail {
            rec.last_periods = self.last_periods(cx.cfg, cx.core);
        }
    }

    fn summary_section(&self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
        if let Some((period, _, score, kpis)) = cx.period {
            rec.previous = self.previous_period(cx.cfg, cx.core, period, score, kpis);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.by_kind
            .iter()
            .map(|k| k.capacity() * std::mem::size_of::<(i64, SalesAcc)>())
            .sum()
    }

    fn shrink(&mut self) {
        for kept in &mut self.by_kind {
            kept.release_spare();
        }
    }
}

impl History {
    /// The last closed period of each `scoring.compare_periods` kind, with
    /// the period before it, from the sums the rep's summaries were made of.
    fn last_periods(&self, cfg: &EngineConfig, core: &Core) -> Vec<LastPeriod> {
        cfg.compare_periods
            .iter()
            .filter_map(|&kind| {
                let (p, acc) = self.last(&cfg.calendar, kind)?;
                let (_, score, _) = period_score(cfg, core, p, acc);
                let kpis = kpi_table(cfg, period_names(kind), &[acc]);
                let previous = self.previous_period(cfg, core, p, score, &kpis);
                Some(LastPeriod {
                    period: period_ref(&p),
                    score,
                    kpis,
                    previous,
                })
            })
            .collect()
    }

    /// The period before `period` (score `score`, KPIs `kpis`) and the change.
    fn previous_period(
        &self,
        cfg: &EngineConfig,
        core: &Core,
        period: Period,
        score: Option<f64>,
        kpis: &KpiTable,
    ) -> Option<PreviousPeriod> {
        let (p, prev) = self.before(&cfg.calendar, &period)?;
        let (_, prev_score, _) = period_score(cfg, core, p, prev);
        let prev_kpis = kpi_table(cfg, period_names(period.kind), &[prev]);
        Some(PreviousPeriod {
            period: period_ref(&p),
            score: prev_score,
            score_change: score.zip(prev_score).map(|(a, b)| round6(a - b)),
            kpi_change: change(kpis, &prev_kpis),
            kpis: prev_kpis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_two_and_finds_the_one_before() {
        let cal = Calendar::new("UTC").unwrap();
        let jan = cal.period(PeriodKind::Month, 1_767_225_600_000); // 2026-01-01
        let feb = cal.period(PeriodKind::Month, jan.end);
        let mar = cal.period(PeriodKind::Month, feb.end);
        let acc = |calls| SalesAcc {
            calls,
            ..SalesAcc::default()
        };
        let mut h = History::default();
        h.note(&jan, acc(1));
        h.note(&feb, acc(2));
        assert_eq!(h.before(&cal, &feb), Some((jan, acc(1))));
        h.note(&jan, acc(5)); // a late event corrected January
        assert_eq!(h.before(&cal, &feb), Some((jan, acc(5))));
        h.note(&mar, acc(3));
        assert_eq!(h.before(&cal, &mar), Some((feb, acc(2))));
        assert_eq!(h.before(&cal, &feb), None, "January is no longer kept");
        assert_eq!(h.before(&cal, &jan), None);
    }
}
