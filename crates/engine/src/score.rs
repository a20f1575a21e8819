//! Scoring a rep and formatting values for the output contract: money
//! rounded to the reporting currency's minor unit only here, reals to six
//! decimals ([`round6`]).

use salespulse_kpi::{kpi_value, score, Component, KpiValue, SalesAcc, ScoreInput, WindowRef};
use salespulse_model::record::{
    round6, ComponentScore, KpiTable, Num, PeriodRef, ProfileRef, WindowNames,
};
use salespulse_model::{CurrencyTable, KpiName, Timestamp};
use salespulse_window::{Period, PeriodKind};

use crate::rep::Core;
use crate::EngineConfig;

/// Formats a KPI value for output.
pub(crate) fn format_value(cfg: &EngineConfig, v: KpiValue) -> Option<Num> {
    match v {
        KpiValue::Money(m) => Some(Num::Amount(cfg.decode.currencies.micros_to_amount(m))),
        KpiValue::MoneyPer(m, n) => {
            Some(Num::Amount(cfg.decode.currencies.quotient_to_amount(m, n)))
        }
        KpiValue::Count(c) => Some(Num::Int(i64::try_from(c).unwrap_or(i64::MAX))),
        KpiValue::Real(r) => Some(Num::Real(round6(r))),
        KpiValue::Null => None,
    }
}

/// `x`, a value of `kpi` that is not a sum (a target, a forecast, a
/// ratio), as a record writes it: an amount rounded to the reporting minor
/// unit for a money KPI, else a real to six decimals.
pub(crate) fn kpi_num(currencies: &CurrencyTable, kpi: KpiName, x: f64) -> Num {
    if salespulse_kpi::is_money(kpi) {
        Num::Amount(currencies.micros_to_amount((x * 1e6).round() as i128))
    } else {
        Num::Real(round6(x))
    }
}

/// The sums of every window and current period of a rep at stream time, in
/// `EngineConfig::window_names` order.
pub(crate) fn window_sums(
    cfg: &EngineConfig,
    core: &mut Core,
    t: i64,
    current: &[Period; 4],
) -> Vec<SalesAcc> {
    core.advance(&cfg.specs, t);
    let mut sums = core.windows();
    for p in current {
        sums.push(core.periods.get(p).copied().unwrap_or_default());
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
pub(crate) fn period_names(kind: PeriodKind) -> &'static WindowNames {
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
    core: &Core,
    sums: &[SalesAcc],
    period_of: &dyn Fn(&Component) -> Option<Period>,
    only: Option<WindowRef>,
) -> (ProfileRef, Option<f64>, Vec<ComponentScore>) {
    let profile = cfg.profiles.for_role(at, core.role());
    let rolling = cfg.specs.specs().len();
    let value = |c: &Component| match c.window {
        WindowRef::Rolling(k) => kpi_value(c.kpi, &sums[k]),
        WindowRef::Period(kind) => kpi_value(c.kpi, &sums[rolling + kind as usize]),
    };
    let targets = core.targets(cfg);
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
            let v = value(c);
            p.target = kpi_num(&cfg.decode.currencies, c.kpi, p.target.as_f64());
            p.value = format_value(cfg, v);
        }
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

/// The summary score of `period` from its sums: only the components
/// measured over that period kind, under the profiles in effect at the
/// period's last instant.
pub(crate) fn period_score(
    cfg: &EngineConfig,
    core: &Core,
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
        core,
        &sums,
        &period_of,
        Some(WindowRef::Period(period.kind)),
    )
}

/// `now - before`, value by value (counts stay integers; null when either is null).
pub(crate) fn change(now: &KpiTable, before: &KpiTable) -> KpiTable {
    now.change(before, |a, b| match (a, b) {
        (Num::Int(x), Num::Int(y)) => Num::Int(x - y),
        (Num::Amount(x), Num::Amount(y)) => match x.minus(y) {
            Some(m) => Num::Amount(m),
            None => Num::Real(round6(x.as_f64() - y.as_f64())),
        },
        (x, y) => Num::Real(round6(x.as_f64() - y.as_f64())),
    })
}

/// A period as records name it.
pub(crate) fn period_ref(p: &Period) -> PeriodRef {
    PeriodRef {
        kind: p.kind.as_str().into(),
        start: Timestamp(p.start).to_rfc3339(),
        end: Timestamp(p.end).to_rfc3339(),
    }
}
