//! Building a rep's output records: the score record with its explanation,
//! the period summary, and the records that go with a score record only
//! when due (the KPI table) or changed (coaching, the statement). The core
//! part (identity, score, components, KPI table) is built here; each
//! feature adds its own section.

use salespulse_kpi::{Component, WindowRef};
use salespulse_model::output::{COACHING, KPIS, LAST_PERIODS};
use salespulse_model::record::{CoachingRecord, KpiRecord, LastPeriodsRecord, WindowNames};
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
        seq: core.version,
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
        last_periods: Vec::new(),
        day_close: None,
    }
}

/// The current score record of a rep at the clock's stream time, and its
/// KPI record when `with_kpis`.
pub(crate) fn score_record(
    cfg: &EngineConfig,
    names: &WindowNames,
    rep_id: &str,
    rs: &mut RepState,
    clock: &Clock,
    floor: u64,
    with_kpis: bool,
) -> (ScoreRecord, Option<KpiRecord>) {
    let (current, t) = (&clock.current, clock.t);
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
    let cx = RecordCx {
        cfg,
        core: &rs.core,
        deal_logs: rs.features.detect.deal_log_moments(),
        t,
        sums: &sums,
        clock,
        period: None,
        detail: with_kpis,
    };
    rs.features.score_sections(&cx, &mut rec);
    let kpis = with_kpis.then(|| {
        rs.sent.kpis = true;
        rs.sent.kpis_stale = false;
        KpiRecord {
            schema: KPIS.into(),
            rep_id: rep_id.to_string(),
            team_id: rec.team_id.clone(),
            as_of: rec.as_of.clone(),
            seq: rec.seq,
            windows: names.clone(),
            amount_decimals: cfg.decode.currencies.amount_decimals(),
            kpis: kpi_table(cfg, names, &sums),
            forecast: rec.forecast.clone(),
        }
    });
    (rec, kpis)
}

/// The rep's last periods record when they differ from the last one sent
/// (a period of a compare kind closed, something reached a closed one after
/// its grace, its targets or profile changed, or a restore). Compared by a
/// hash of their JSON: a rep keeps 8 bytes, not its last tables.
fn last_periods_record(rs: &mut RepState, rec: &ScoreRecord) -> Option<LastPeriodsRecord> {
    let json = serde_json::to_vec(&rec.last_periods).ok()?;
    let hash = crate::hash::stable_hash_bytes(&json);
    let never_any = rs.sent.last_periods == 0 && rec.last_periods.is_empty();
    if never_any || hash == rs.sent.last_periods {
        return None;
    }
    rs.sent.last_periods = hash;
    Some(LastPeriodsRecord {
        schema: LAST_PERIODS.into(),
        rep_id: rec.rep_id.clone(),
        team_id: rec.team_id.clone(),
        as_of: rec.as_of.clone(),
        seq: rec.seq,
        last_periods: rec.last_periods.clone(),
    })
}

/// The rep's coaching record when its judgement changed since the last one
/// sent (a new working-day close, or a restore).
fn coaching_record(
    cfg: &EngineConfig,
    names: &WindowNames,
    rs: &mut RepState,
    rec: &ScoreRecord,
) -> Option<CoachingRecord> {
    let judged = &rs.features.coaching;
    if judged.day_end <= rs.sent.coaching_day {
        return None;
    }
    let coaching =
        crate::feature::coaching::render(cfg, &rec.rep_id, rec.role.as_deref(), names, judged)?;
    rs.sent.coaching_day = judged.day_end;
    Some(CoachingRecord {
        schema: COACHING.into(),
        rep_id: rec.rep_id.clone(),
        team_id: rec.team_id.clone(),
        manager_id: rec.manager_id.clone(),
        role: rec.role.clone(),
        seq: rec.seq,
        coaching,
    })
}

/// The summary of a rep for one period (closed at stream time `t`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn summary_record(
    cfg: &EngineConfig,
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
        core: &rs.core,
        deal_logs: rs.features.detect.deal_log_moments(),
        t,
        sums: &[],
        clock,
        period: Some((period, acc, score, &kpis)),
        detail: true,
    };
    rs.features.summary_sections(&cx, &mut rec);
    rec.kpis = kpis;
    rec
}

/// Queues a score record or summary, then what goes with it: its KPI
/// record when due, its coaching and commission statement when they
/// changed.
pub(crate) fn queue_record(
    outbox: &mut crate::outbox::Outbox,
    cfg: &EngineConfig,
    names: &WindowNames,
    rs: &mut RepState,
    (rec, kpis): (ScoreRecord, Option<KpiRecord>),
) {
    use crate::outbox::Output;
    let statement = rs.features.commission.statement_for(cfg, &rs.core, &rec);
    let coaching = match rec.kind {
        RecordKind::Score => coaching_record(cfg, names, rs, &rec),
        RecordKind::PeriodSummary => None,
    };
    // The last periods are built with a KPI record, and sent when changed.
    let last_periods = kpis.as_ref().and_then(|_| last_periods_record(rs, &rec));
    outbox.record(rec);
    if let Some(k) = kpis {
        outbox.push(Output::Kpis(Box::new(k)));
    }
    if let Some(l) = last_periods {
        outbox.push(Output::LastPeriods(Box::new(l)));
    }
    if let Some(c) = coaching {
        outbox.push(Output::Coaching(Box::new(c)));
    }
    if let Some(s) = statement {
        outbox.push(Output::Statement(Box::new(s)));
    }
}
