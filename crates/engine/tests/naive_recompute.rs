//! Every KPI, for every rolling window, current period and closed-period
//! summary, and every commission statement, checked against a naive
//! recompute from the raw event list on random streams with out-of-order,
//! duplicate and late events, many of them exactly on bucket and period
//! boundaries. `delivery.rs` runs the same check on the arrival patterns of
//! real connectors.
//!
//! The naive side (`common::naive`) shares nothing with the engine's window
//! code: it keeps the accepted events in a plain list, applies the
//! documented acceptance rules with its own UTC calendar arithmetic, and
//! filters and sums at the end.

mod common;

use common::check::{check, Run};
use common::stream::{spec, Spec};
use proptest::prelude::*;
use salespulse_model::Reason;

/// A duplicate re-sends one of the last few lines byte for byte.
fn run(specs: &[Spec]) -> Result<Run, TestCaseError> {
    let deliveries: Vec<(usize, &Spec)> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| match s.dup_of.filter(|back| *back <= i) {
            Some(back) => (i - back, &specs[i - back]),
            None => (i, s),
        })
        .collect();
    check(&deliveries)
}

/// The generated streams really exercise the rules the properties are about:
/// too-late and duplicate rejections, late updates of closed periods, summaries.
#[test]
fn streams_exercise_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(spec(), 150..250);
    let (mut late, mut dup, mut summaries, mut applied) = (0, 0, 0, 0);
    for round in 0..20 {
        let mut specs = strategy.new_tree(&mut runner).unwrap().current();
        // Half the streams in event-time order with local disorder, as in `nearly_ordered`.
        if round % 2 == 0 {
            specs.sort_by_key(|s| s.at);
            for i in (0..specs.len().saturating_sub(3)).step_by(7) {
                specs.swap(i, i + 3);
            }
        }
        let stats = run(&specs).unwrap().stats;
        late += stats.rejected_for(Reason::TooLate);
        dup += stats.rejected_for(Reason::Duplicate);
        summaries += stats.summaries_emitted;
        applied += stats.applied;
    }
    eprintln!("late {late} dup {dup} summaries {summaries} applied {applied}");
    assert!(
        late > 0 && dup > 0 && summaries > 50 && applied > 1000,
        "late {late} dup {dup} summaries {summaries} applied {applied}"
    );
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N runs more.

    /// Streams in random order: many events are late, some too late.
    #[test]
    fn random_order(specs in prop::collection::vec(spec(), 1..250)) {
        run(&specs).map(|_| ())?;
    }

    /// Mostly ordered streams with local disorder, the realistic case.
    #[test]
    fn nearly_ordered(mut specs in prop::collection::vec(spec(), 1..250), swaps in prop::collection::vec((0usize..250, 0usize..5), 0..40)) {
        specs.sort_by_key(|s| s.at);
        for (i, d) in swaps {
            if i + d < specs.len() {
                specs.swap(i, i + d);
            }
        }
        run(&specs).map(|_| ())?;
    }
}
