//! The facts of a rep that arrive on topics of their own, next to its
//! score record: the KPI table and forecast (`kpis/2`), the last periods
//! (`last_periods/1`), the coaching (`coaching/1`) and the commission
//! statements (`statement/1`).
//! The view keeps the latest of each per rep and hands them out with the
//! score record.

use std::sync::Arc;

use dashmap::DashMap;
use salespulse_model::output::{COACHING, KPIS, LAST_PERIODS, STATEMENT};
use salespulse_model::record::{
    CoachingRecord, KpiRecord, LastPeriodsRecord, ScoreRecord, StatementRecord,
};

/// The latest facts of every rep.
#[derive(Debug, Default)]
pub(crate) struct Details {
    kpis: DashMap<String, Arc<KpiRecord>>,
    last_periods: DashMap<String, Arc<LastPeriodsRecord>>,
    coaching: DashMap<String, Arc<CoachingRecord>>,
    /// The latest statement (of the latest period), by rep.
    statements: DashMap<String, Arc<StatementRecord>>,
}

/// Keeps `new` in `map` under `key` unless what is there is newer.
fn keep<T>(map: &DashMap<String, Arc<T>>, key: &str, new: T, newer: impl Fn(&T, &T) -> bool) {
    let replace = map.get(key).is_none_or(|old| newer(&new, &old));
    if replace {
        map.insert(key.to_string(), Arc::new(new));
    }
}

/// `rec` with the KPI table and forecast of `k` and the last periods of `l`.
pub(crate) fn joined(
    rec: &ScoreRecord,
    k: Option<&KpiRecord>,
    l: Option<&LastPeriodsRecord>,
) -> Arc<ScoreRecord> {
    let mut r = rec.clone();
    if let Some(k) = k {
        r.kpis = k.kpis.clone();
        r.forecast = k.forecast.clone();
    }
    if let Some(l) = l {
        r.last_periods = l.last_periods.clone();
    }
    Arc::new(r)
}

impl Details {
    /// Takes a record of schema `schema`; false when it is not a detail.
    pub fn offer(&self, schema: &str, payload: &[u8]) -> bool {
        let parsed = match schema {
            KPIS => serde_json::from_slice::<KpiRecord>(payload)
                .map(|k| keep(&self.kpis, &k.rep_id.clone(), k, |a, b| a.seq > b.seq)),
            LAST_PERIODS => serde_json::from_slice::<LastPeriodsRecord>(payload).map(|l| {
                keep(&self.last_periods, &l.rep_id.clone(), l, |a, b| {
                    a.seq > b.seq
                })
            }),
            COACHING => serde_json::from_slice::<CoachingRecord>(payload)
                .map(|c| keep(&self.coaching, &c.rep_id.clone(), c, |a, b| a.seq > b.seq)),
            STATEMENT => serde_json::from_slice::<StatementRecord>(payload).map(|s| {
                let later = |a: &StatementRecord, b: &StatementRecord| {
                    (&a.period.start, a.seq) > (&b.period.start, b.seq)
                };
                keep(&self.statements, &s.rep_id.clone(), s, later)
            }),
            _ => return false,
        };
        if let Err(e) = parsed {
            tracing::warn!(error = %e, schema, "view: a record does not read as its schema");
        }
        true
    }

    /// The rep's latest KPI record.
    pub fn kpis(&self, rep_id: &str) -> Option<Arc<KpiRecord>> {
        self.kpis.get(rep_id).map(|k| k.clone())
    }

    /// The rep's latest last periods.
    pub fn last_periods(&self, rep_id: &str) -> Option<Arc<LastPeriodsRecord>> {
        self.last_periods.get(rep_id).map(|l| l.clone())
    }

    /// The rep's latest coaching.
    pub fn coaching(&self, rep_id: &str) -> Option<Arc<CoachingRecord>> {
        self.coaching.get(rep_id).map(|c| c.clone())
    }

    /// The rep's latest statement.
    pub fn statement(&self, rep_id: &str) -> Option<Arc<StatementRecord>> {
        self.statements.get(rep_id).map(|s| s.clone())
    }
}
