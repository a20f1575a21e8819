//! Runs the engine and the naive model over the same records in the same
//! order and compares: every record's outcome, every KPI of every window
//! and current period, every closed period's last summary, and the
//! commission statements.

use std::collections::BTreeMap;

use proptest::prelude::*;
use salespulse_model::record::{Commission, Num, RecordKind, ScoreRecord};
use salespulse_model::Timestamp;

use super::naive::{commission, kpis, money_per, period, Facts, Naive, Outcome, PERIODS};
use super::stream::{line, Spec};
use super::{engine, GRACE, WINDOWS};

/// One record as it arrives: the event id it carries and the event.
pub type Delivery<'a> = (usize, &'a Spec);

/// What a run saw, for the tests' coverage counts.
pub struct Run {
    pub stats: salespulse_engine::Stats,
    /// The naive model's outcome of each delivery, in order.
    pub outcomes: Vec<Outcome>,
    /// Summaries emitted (first emissions and re-emissions).
    pub summaries: u64,
}

fn value(rec: &ScoreRecord, kpi: &str, window: &str) -> Option<f64> {
    rec.kpis
        .get(kpi, window)
        .unwrap_or_else(|| panic!("kpi {kpi} over {window} missing"))
        .map(Num::as_f64)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(1.0),
        _ => false,
    }
}

fn same_kpis<'a>(
    rec: &ScoreRecord,
    window: &str,
    facts: impl Iterator<Item = &'a Facts>,
    what: &str,
) -> Result<(), TestCaseError> {
    for (kpi, v) in &kpis(facts) {
        prop_assert!(
            close(value(rec, kpi, window), *v),
            "{} {} {} {}: engine {:?} naive {:?}",
            what,
            rec.rep_id,
            kpi,
            window,
            value(rec, kpi, window),
            v
        );
    }
    Ok(())
}

/// The statement the naive model holds for the rep's month starting at `month`.
fn same_statement(
    c: Option<&Commission>,
    naive: &Naive,
    rep: &str,
    month: i64,
    what: &str,
) -> Result<(), TestCaseError> {
    let c = c.ok_or_else(|| TestCaseError::fail(format!("{what} {rep}: no commission")))?;
    prop_assert_eq!(
        &c.period.start,
        &Timestamp(month).to_rfc3339(),
        "{} {}",
        what,
        rep
    );
    let (gross, clawed) = naive.statement(rep, month);
    let cents = |m: i128| money_per(m, 1);
    prop_assert!(
        close(Some(c.gross), Some(cents(gross))),
        "{} {} gross: engine {} naive {}",
        what,
        rep,
        c.gross,
        cents(gross)
    );
    prop_assert!(
        close(Some(c.refunded), Some(cents(clawed))),
        "{} {} refunded: engine {} naive {}",
        what,
        rep,
        c.refunded,
        cents(clawed)
    );
    let earned = commission(gross - clawed) / 1e6;
    prop_assert!(
        (c.earned_to_date - earned).abs() <= 0.01,
        "{} {} earned: engine {} naive {}",
        what,
        rep,
        c.earned_to_date,
        earned
    );
    Ok(())
}

/// Feeds `deliveries` to a fresh engine and the naive model and compares.
pub fn check(deliveries: &[Delivery<'_>]) -> Result<Run, TestCaseError> {
    let mut eng = engine();
    let mut naive = Naive::default();
    let mut outcomes = Vec::with_capacity(deliveries.len());
    let mut summaries: BTreeMap<(String, std::borrow::Cow<'static, str>, String), ScoreRecord> =
        BTreeMap::new();
    let mut emitted = 0;
    for (i, &(id, src)) in deliveries.iter().enumerate() {
        let got = eng
            .ingest(line(id, src).as_bytes(), None)
            .map(|_| ())
            .map_err(|r| r.reason);
        let want = naive.offer(&format!("e{id}"), src);
        if std::env::var_os("CHECK_TRACE").is_some() {
            eprintln!(
                "{i:3} {:?} t={} {}",
                want.result,
                salespulse_model::Timestamp(want.t),
                line(id, src)
            );
        }
        prop_assert_eq!(got, want.result, "delivery {} (e{} {:?})", i, id, src);
        outcomes.push(want);
        for r in super::drive::summaries_due(&mut eng) {
            let Some(p) = r.period.clone() else {
                continue; // a working-day close's score record
            };
            emitted += 1;
            summaries.insert((r.rep_id.clone(), p.kind.clone(), p.start.clone()), r);
        }
    }
    let t = naive.t;
    for rec in &super::drive::final_scores(&mut eng) {
        prop_assert_eq!(rec.kind, RecordKind::Score);
        let mine = || naive.accepted.iter().filter(|a| a.rep == rec.rep_id);
        for (name, w, b) in WINDOWS {
            let inside = |a: &&super::naive::Accepted| a.at.div_euclid(b) > t.div_euclid(b) - w / b;
            same_kpis(rec, name, mine().filter(inside).map(|a| &a.facts), "final")?;
        }
        for kind in PERIODS {
            let (start, _) = period(kind, t);
            let inside = |a: &&super::naive::Accepted| a.at >= start && a.at <= t;
            same_kpis(rec, kind, mine().filter(inside).map(|a| &a.facts), "final")?;
        }
        let month = period("month", t).0;
        same_statement(
            rec.commission.as_deref(),
            &naive,
            &rec.rep_id,
            month,
            "final",
        )?;
    }
    // Closed periods: the last summary of each equals the events accepted
    // into it while it was kept. Only events that change a KPI make a rep
    // active in a period (stage changes do not).
    let mut expected: BTreeMap<(String, std::borrow::Cow<'static, str>, String), ()> =
        BTreeMap::new();
    for a in naive.accepted.iter().filter(|a| a.counts) {
        for kind in PERIODS {
            let (start, end) = period(kind, a.at);
            if end <= t && end + GRACE > a.arrived_at_stream_time {
                expected.insert(
                    (a.rep.clone(), kind.into(), Timestamp(start).to_rfc3339()),
                    (),
                );
            }
        }
    }
    let got_keys: Vec<_> = summaries.keys().cloned().collect();
    let want_keys: Vec<_> = expected.keys().cloned().collect();
    prop_assert_eq!(got_keys, want_keys);
    for ((rep, kind, start), rec) in &summaries {
        let s = Timestamp::parse_rfc3339(start).expect("rfc3339").0;
        let (_, end) = period(kind, s);
        let facts = naive
            .accepted
            .iter()
            .filter(|a| {
                a.rep == *rep && a.at >= s && a.at < end && end + GRACE > a.arrived_at_stream_time
            })
            .map(|a| &a.facts);
        same_kpis(rec, kind, facts, "summary")?;
        if *kind == "month" {
            same_statement(rec.commission.as_deref(), &naive, rep, s, "summary")?;
        }
    }
    Ok(Run {
        stats: eng.stats().clone(),
        outcomes,
        summaries: emitted,
    })
}
