//! Building output records from a rep's state: the score record with its
//! explanation, period summaries, and the number formatting of the contract
//! (money rounded to the reporting currency's minor unit only here; reals to
//! six decimals).

use salespulse_kpi::{kpi_value, score, Component, KpiValue, SalesAcc, ScoreInput, WindowRef};
use salespulse_model::record::WindowNames;
use salespulse_model::record::{
    ComponentScore, DayClose, KpiTable, LastPeriod, Num, PeriodRef, PreviousPeriod, ProfileRef,
    RecordKind, ScoreRecord,
};
use salespulse_model::Timestamp;
use salespulse_window::{Period, PeriodKind};

use crate::engine::{coach, forecast, incentive};
use crate::state::RepState;
use crate::EngineConfig;

/// Rounds a real to six decimals, the precision of every non-money output.
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Formats a KPI value for output.
pub(crate) fn format_value(cfg: &EngineConfig, v: KpiValue) -> Option<Num> {
    match v {
        KpiValue::Money(m) => Some(Num::Real(cfg.decode.currencies.micros_to_output(m))),
        KpiValue::MoneyPer(m, n) => Some(Num::Real(cfg.decode.currencies.quotient_to_output(m, n))),
        KpiValue::Count(c) => Some(Num::Int(i64::try_from(c).unwrap_or(i64::MAX))),
        KpiValue::Real(r) => Some(Num::Real(round6(r))),
        KpiValue::Null => None,
    }
}

/// The sums of every window and current period of a rep at stream time, in
/// `EngineConfig::window_names` order.
pub(crate) fn window_sums(
    cfg: &EngineConfig,
    rs: &mut RepState,
    t: i64,
    current: &[Period; 4],
) -> Vec<SalesAcc> {
    rs.advance(&cfg.specs, t);
    let mut sums = rs.windows();
    for p in current {
        sums.push(rs.periods.get(p).copied().unwrap_or_default());
    }
    sums
}

/// A table of every KPI over `sums`, labelled with `names`.
pub(crate) fn kpi_table(cfg: &EngineConfig, names: &WindowNames, sums: &[SalesAcc]) -> KpiTable {
    KpiTable::build(names, |k, w| {
        sums.get(w).and_then(|a| format_value(cfg, kpi_value(k, a)))
    })
}

/// The one-column window names of a period kind's tables (shared, made once).
fn period_names(kind: PeriodKind) -> &'static WindowNames {
    static NAMES: std::sync::OnceLock<Vec<WindowNames>> = std::sync::OnceLock::new();
    let all = NAMES.get_or_init(|| {
        PeriodKind::ALL
            .iter()
            .map(|k| WindowNames::from(vec![k.as_str().into()]))
            .collect()
    });
    &all[kind as usize]
}

/// Scores a rep given its window sums (`sums` in window_names order),
/// under the profiles in effect at event time `at`.
pub(crate) fn compute_score(
    cfg: &EngineConfig,
    at: i64,
    rs: &RepState,
    sums: &[SalesAcc],
    period_of: &dyn Fn(&Component) -> Option<Period>,
    only: Option<WindowRef>,
) -> (ProfileRef, Option<f64>, Vec<ComponentScore>) {
    let profile = cfg.profiles.for_role(at, rs.role());
    let rolling = cfg.specs.specs().len();
    let value = |c: &Component| match c.window {
        WindowRef::Rolling(k) => kpi_value(c.kpi, &sums[k]),
        WindowRef::Period(kind) => kpi_value(c.kpi, &sums[rolling + kind as usize]),
    };
    let targets = rs.targets(cfg);
    let (s, mut parts) = score(&ScoreInput {
        profile,
        value,
        targets,
        period_of,
        only,
    });
    for p in &mut parts {
        let c = profile
            .components
            .iter()
            .find(|c| c.kpi.as_str() == p.kpi && c.window_name == p.window);
        if let Some(c) = c {
            p.value = format_value(cfg, value(c));
        }
        p.target = round6(p.target);
        p.attainment = round6(p.attainment);
        p.points = round6(p.points);
    }
    (
        ProfileRef {
            name: profile.name.clone(),
            version: profile.version,
        },
        s.map(round6),
        parts,
    )
}

fn header(rep_id: &str, rs: &mut RepState, t: i64, floor: u64, kind: RecordKind) -> ScoreRecord {
    rs.version = (rs.version + 1).max(floor);
    ScoreRecord {
        kind,
        rep_id: rep_id.to_string(),
        team_id: rs.team().map(str::to_string),
        role: rs.role().map(str::to_string),
        region: rs.region().map(str::to_string),
        manager_id: rs.manager().map(str::to_string),
        as_of: Timestamp(t).to_rfc3339(),
        version: rs.version,
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
    clock: &forecast::Clock,
    floor: u64,
) -> ScoreRecord {
    let current = &clock.current;
    let sums = window_sums(cfg, rs, t, current);
    let period_of = |c: &Component| match c.window {
        WindowRef::Period(k) => Some(current[k as usize]),
        WindowRef::Rolling(_) => None,
    };
    let (profile, score, components) = compute_score(cfg, t, rs, &sums, &period_of, None);
    let mut rec = header(rep_id, rs, t, floor, RecordKind::Score);
    rec.profile = profile;
    rec.score = score;
    rec.components = components;
    rec.kpis = kpi_table(cfg, names, &sums);
    rec.commission = incentive::current_commission(cfg, rs, t, current);
    rec.forecast = forecast::forecasts(cfg, t, rs, &sums, clock);
    rec.coaching = coach::render(cfg, rep_id, rs.role(), names, &rs.coached);
    rec.last_periods = last_periods(cfg, rs);
    rec.day_close = rs.day_close.map(|c| DayClose {
        as_of: Timestamp(c.day_end).to_rfc3339(),
        score: round6(c.score),
    });
    rec
}

/// The last closed period of each `scoring.compare_periods` kind, with the
/// period before it, from the sums the rep's summaries were made of.
fn last_periods(cfg: &EngineConfig, rs: &RepState) -> Vec<LastPeriod> {
    cfg.compare_periods
        .iter()
        .filter_map(|&kind| {
            let (p, acc) = rs.history.last(&cfg.calendar, kind)?;
            let (_, score, _) = period_score(cfg, rs, p, acc);
            let kpis = kpi_table(cfg, period_names(kind), &[acc]);
            let previous = previous_period(cfg, rs, p, score, &kpis);
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
    cfg: &EngineConfig,
    rs: &RepState,
    period: Period,
    score: Option<f64>,
    kpis: &KpiTable,
) -> Option<PreviousPeriod> {
    let (p, prev) = rs.history.before(&cfg.calendar, &period)?;
    let (_, prev_score, _) = period_score(cfg, rs, p, prev);
    let prev_kpis = kpi_table(cfg, period_names(period.kind), &[prev]);
    Some(PreviousPeriod {
        period: period_ref(&p),
        score: prev_score,
        score_change: score.zip(prev_score).map(|(a, b)| round6(a - b)),
        kpi_change: change(kpis, &prev_kpis),
        kpis: prev_kpis,
    })
}

/// The summary of a rep for one period (closed at stream time `t`).
pub(crate) fn summary_record(
    cfg: &EngineConfig,
    rep_id: &str,
    rs: &mut RepState,
    t: i64,
    period: Period,
    floor: u64,
) -> ScoreRecord {
    // Past its grace a period's summary is re-emitted only to correct its
    // commission statement, with the KPI sums of its last summary: what
    // arrived after the grace does not count in it (docs/windows.md). The
    // history keeps absorbing such late arrivals for `last_periods`.
    let acc = match rs.periods.get(&period).copied() {
        Some(acc) => {
            incentive::keep_closed(cfg, rs, &period, acc);
            rs.history.note(&period, acc);
            acc
        }
        None => incentive::closed_sums(rs, &period)
            .or_else(|| rs.history.get(&period))
            .unwrap_or_default(),
    };
    let before = rs.history.before(&cfg.calendar, &period).is_some();
    let (profile, score, components) = period_score(cfg, rs, period, acc);
    let mut rec = header(rep_id, rs, t, floor, RecordKind::PeriodSummary);
    rec.profile = profile;
    rec.score = score;
    rec.components = components;
    rec.period = Some(period_ref(&period));
    rec.kpis = kpi_table(cfg, period_names(period.kind), &[acc]);
    rec.previous = before
        .then(|| previous_period(cfg, rs, period, score, &rec.kpis))
        .flatten();
    rec.commission = incentive::commission(cfg, rs, &period);
    rec
}

fn period_ref(p: &Period) -> PeriodRef {
    PeriodRef {
        kind: p.kind.as_str(),
        start: Timestamp(p.start).to_rfc3339(),
        end: Timestamp(p.end).to_rfc3339(),
    }
}

/// The summary score of `period` from its sums: only the components
/// measured over that period kind, under the profiles in effect at the
/// period's last instant.
fn period_score(
    cfg: &EngineConfig,
    rs: &RepState,
    period: Period,
    acc: SalesAcc,
) -> (ProfileRef, Option<f64>, Vec<ComponentScore>) {
    let rolling = cfg.specs.specs().len();
    let mut sums = vec![SalesAcc::default(); rolling + PeriodKind::ALL.len()];
    sums[rolling + period.kind as usize] = acc;
    let period_of = |_: &Component| Some(period);
    compute_score(
        cfg,
        period.end - 1,
        rs,
        &sums,
        &period_of,
        Some(WindowRef::Period(period.kind)),
    )
}

/// `now - before`, value by value (counts stay integers; null when either is null).
fn change(now: &KpiTable, before: &KpiTable) -> KpiTable {
    now.change(before, |a, b| match (a, b) {
        (Num::Int(x), Num::Int(y)) => Num::Int(x - y),
        (x, y) => Num::Real(round6(x.as_f64() - y.as_f64())),
    })
}
