//! The naive-recompute check (`common::check`: every KPI of every window and
//! period, closed-period summaries, commission statements) on the arrival
//! patterns of real connectors (`common::delivery`): outages and catch-up
//! bursts across period ends, sources delayed against each other, whole
//! days backfilled, retries of late records seconds to more than the dedupe
//! horizon after the first copy, stragglers around `period_grace`.
//!
//! `patterns_are_exercised` asserts that the generated scenarios really hit
//! each pattern, judged on what the naive model saw.

mod common;

use common::check::{check, Run};
use common::delivery::{scenario, Pattern, Scenario};
use common::naive::period;
use common::{DAY, GRACE, HORIZON, HOUR};
use proptest::prelude::*;
use salespulse_model::Reason;

fn run(s: &Scenario) -> Result<Run, TestCaseError> {
    check(&s.deliveries())
}

/// What the scenarios exercised, judged on the naive model's outcomes.
#[derive(Debug, Default)]
struct Coverage {
    burst_applied: u64,
    /// Catch-up bursts during which stream time crossed the end of a day,
    /// week, month and quarter.
    crossed: [u64; 4],
    /// Retries of records older than the dedupe horizon, recognised as duplicates.
    late_retry_dropped: u64,
    /// Retries arriving within the horizon, recognised.
    retry_dropped: u64,
    /// Retries arriving after the horizon, applied again.
    retry_after_horizon: u64,
    /// Backfilled records applied more than a day behind stream time.
    backfilled: u64,
    /// Records counted in a closed period less than 4 h before its grace ended.
    just_in_grace: u64,
    /// Records that missed a closed period's grace by less than 4 h.
    just_after_grace: u64,
    too_late: u64,
    /// Records from before the stream, applied (inside a quarter's grace or the widest window).
    ancient_applied: u64,
}

impl Coverage {
    fn add(&mut self, s: &Scenario, r: &Run) {
        for (a, o) in s.arrivals.iter().zip(&r.outcomes) {
            let at = s.events[a.event].at;
            let ok = o.result.is_ok();
            if a.pattern == Pattern::Burst && ok {
                self.burst_applied += 1;
                for (i, kind) in ["day", "week", "month", "quarter"].iter().enumerate() {
                    if o.before > i64::MIN && period(kind, o.before).1 <= o.t {
                        self.crossed[i] += 1;
                    }
                }
            }
            if a.copy > 0 {
                match o.result {
                    Err(Reason::Duplicate) if at < o.t - HORIZON => self.late_retry_dropped += 1,
                    Err(Reason::Duplicate) => self.retry_dropped += 1,
                    Ok(()) => self.retry_after_horizon += 1,
                    Err(_) => {}
                }
            }
            if a.pattern == Pattern::Backfill && ok && at < o.t - DAY {
                self.backfilled += 1;
            }
            if a.pattern == Pattern::Ancient && ok {
                self.ancient_applied += 1;
            }
            if o.result == Err(Reason::TooLate) {
                self.too_late += 1;
            }
            if ok {
                for kind in ["day", "week", "month", "quarter"] {
                    let end = period(kind, at).1;
                    let grace_end = end + GRACE;
                    if end <= o.t && grace_end > o.t && grace_end - o.t <= 4 * HOUR {
                        self.just_in_grace += 1;
                    }
                    if grace_end <= o.t && o.t - grace_end < 4 * HOUR {
                        self.just_after_grace += 1;
                    }
                }
            }
        }
    }
}

/// The scenarios hit every delivery pattern the properties are about.
#[test]
fn patterns_are_exercised() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = scenario(150..260);
    let mut cov = Coverage::default();
    for _ in 0..40 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        let r = run(&s).unwrap();
        cov.add(&s, &r);
    }
    eprintln!("{cov:?}");
    assert!(cov.burst_applied > 200, "{cov:?}");
    assert!(cov.crossed.iter().all(|&n| n > 0), "{cov:?}");
    assert!(cov.late_retry_dropped > 20, "{cov:?}");
    assert!(cov.retry_dropped > 20, "{cov:?}");
    assert!(cov.retry_after_horizon > 5, "{cov:?}");
    assert!(cov.backfilled > 20, "{cov:?}");
    assert!(cov.just_in_grace > 5 && cov.just_after_grace > 5, "{cov:?}");
    assert!(cov.too_late > 0 && cov.ancient_applied > 0, "{cov:?}");
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N runs more.

    /// Every KPI, summary and statement equals the naive recompute under
    /// outages, catch-ups, backfills, retries and stragglers.
    #[test]
    fn delivery_patterns_equal_a_naive_recompute(s in scenario(1..260)) {
        run(&s).map(|_| ())?;
    }
}

/// The six records of issue 22: a late deal re-sent right after the first
/// copy is one deal, one revenue and one commission.
#[test]
fn a_late_resend_is_counted_once() {
    let lines = [
        r#"{"event_id":"a1","type":"activity.email","occurred_at":"2026-10-02T10:00:00Z","rep_id":"r1"}"#,
        r#"{"event_id":"a2","type":"activity.email","occurred_at":"2026-10-05T08:00:00Z","rep_id":"r1"}"#,
        r#"{"event_id":"a3","type":"activity.email","occurred_at":"2026-10-02T17:55:59Z","rep_id":"r1"}"#,
        r#"{"event_id":"a3","type":"activity.email","occurred_at":"2026-10-02T17:55:59Z","rep_id":"r1"}"#,
        r#"{"event_id":"d1","type":"deal.won","occurred_at":"2026-10-02T16:00:00Z","rep_id":"r1","deal_id":"D1","amount":"50000.00","currency":"USD","customer_id":"c1","channel":"direct"}"#,
        r#"{"event_id":"d1","type":"deal.won","occurred_at":"2026-10-02T16:00:00Z","rep_id":"r1","deal_id":"D1","amount":"50000.00","currency":"USD","customer_id":"c1","channel":"direct"}"#,
    ];
    let mut e = common::engine();
    let got: Vec<_> = lines
        .iter()
        .map(|l| {
            e.ingest(l.as_bytes(), None)
                .map(|_| ())
                .map_err(|r| r.reason)
        })
        .collect();
    assert_eq!(
        got,
        [
            Ok(()),
            Ok(()),
            Ok(()),
            Err(Reason::Duplicate),
            Ok(()),
            Err(Reason::Duplicate)
        ]
    );
    let rec = common::drive::final_scores(&mut e).pop().unwrap();
    let v = |k: &str, w: &str| rec.kpis.get(k, w).unwrap().map(|n| n.as_f64());
    assert_eq!(v("deals_won", "month"), Some(1.0));
    assert_eq!(v("revenue", "month"), Some(50_000.0));
    assert_eq!(v("emails", "month"), Some(3.0));
    let c = rec.commission.unwrap();
    assert_eq!(c.gross, 50_000.0);
    // 5% of the 1,000 target and 8% of the 49,000 above it.
    assert_eq!(c.earned_to_date, 50.0 + 3_920.0);
}
