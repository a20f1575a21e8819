//! Building a rep's output records: the score record with its explanation
//! and the period summary. The core part (identity, score, components, KPI
//! table) is built here; each feature adds its own section.

use salespulse_kpi::{Component, WindowRef};
use salespulse_model::record::WindowNames;
use salespulse_model::record::{KpiTable, ProfileRef, RecordKind, ScoreRecord};
use salespulse_model::Timestamp;
use salespulse_window::Period;

use crate::clock::Clock;
use crate::feature::hooks::{PeriodCx, RecordCx};
use crate::reps::RepState;
use crate::score::{compute_score, kpi_table, period_names, period_ref, period_score, window_sums};
use crate::EngineConfig;

/// A record's identity, with the rep's next version (at least `floor`).
fn header(rep_id: &str, rs: &mut RepState, t: i64, floor: u64, kind: RecordKind) -> ScoreRecord {
    let core = &mut rs.core;
    core.version = (core.version + 1).max(floor);
    ScoreRecord {
        schema: kind.schema().into(),
        kind,
        rep_id: rep_id.to_string(),
        team_id: core.team().map(str::to_string),
        role: core.role().map(str::to_string),
        region: core.region().map(str::to_string),
        manager_id: core.manager().map(str::to_string),
        as_of: Timestamp(t).to_rfc3339(),
        version: core.version,
        profile: ProfileRef {
            name: String::new(),
            version: 0,
        },
        score: None,
        components: Vec::new(),
        period: None,
        previous: None,
        kpis: KpiTable::default(),
        commission: None,
        forecast: Vec::new(),
        coaching: None,
        last_periods: Vec::new(),
        day_close: None,
    }
}

/// The current score record of a rep at stream time `t`.
pub(crate) fn score_record(
    cfg: &EngineConfig,
    names: &WindowNames,
    rep_id: &str,
    rs: &mut RepState,
    t: i64,
    clock: &Clock,
    floor: u64,
) -> ScoreRecord {
    let current = &clock.current;
    let sums = window_sums(cfg, &mut rs.core, t, current);
    let period_of = |c: &Component| match c.window {
        WindowRef::Period(k) => Some(current[k as usize]),
        WindowRef::Rolling(_) => None,
    };
    let (profile, score, components) = compute_score(cfg, t, &rs.core, &sums, &period_of, None);
    let mut rec = header(rep_id, rs, t, floor, RecordKind::Score);
    rec.profile = profile;
    rec.score = score;
    rec.components = components;
    rec.kpis = kpi_table(cfg, names, &sums);
    let cx = RecordCx {
        cfg,
        names,
        rep_id,
        core: &rs.core,
        deal_logs: rs.features.detect.deal_log_moments(),
        t,
        sums: &sums,
        clock,
        period: None,
    };
    rs.features.score_sections(&cx, &mut rec);
    rec
}

/// The summary of a rep for one period (closed at stream time `t`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn summary_record(
    cfg: &EngineConfig,
    names: &WindowNames,
    rep_id: &str,
    rs: &mut RepState,
    t: i64,
    period: Period,
    clock: &Clock,
    floor: u64,
) -> ScoreRecord {
    // Past its grace a period's summary is re-emitted only to correct its
    // commission statement, with the KPI sums of its last summary: what
    // arrived after the grace does not count in it (docs/windows.md).
    let live = rs.core.periods.get(&period).copied();
    let acc = live
        .or_else(|| rs.features.commission.closed_sums(&period))
        .or_else(|| rs.features.history.get(&period))
        .unwrap_or_default();
    rs.features.on_period_close(&PeriodCx {
        cfg,
        core: &rs.core,
        period,
        acc,
        live: live.is_some(),
    });
    let (profile, score, components) = period_score(cfg, &rs.core, period, acc);
    let mut rec = header(rep_id, rs, t, floor, RecordKind::PeriodSummary);
    rec.profile = profile;
    rec.score = score;
    rec.components = components;
    rec.period = Some(period_ref(&period));
    let kpis = kpi_table(cfg, period_names(period.kind), &[acc]);
    let cx = RecordCx {
        cfg,
        names,
        rep_id,
        core: &rs.core,
        deal_logs: rs.features.detect.deal_log_moments(),
        t,
        sums: &[],
        clock,
        period: Some((period, acc, score, &kpis)),
    };
    rs.features.summary_sections(&cx, &mut rec);
    rec.kpis = kpis;
    rec
}

/// Queues a score record or summary, then its commission statement when
/// that changed (the statements topic's record).
pub(crate) fn queue_record(
    outbox: &mut crate::outbox::Outbox,
    cfg: &EngineConfig,
    rs: &mut RepState,
    rec: ScoreRecord,
) {
    let statement = rs.features.commission.statement_for(cfg, &rs.core, &rec);
    outbox.record(rec);
    if let Some(s) = statement {
        outbox.push(crate::outbox::Output::Statement(Box::new(s)));
    }
}
