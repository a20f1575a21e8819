//! The books against a naive recompute: random months of won deals and
//! refunds, booked in a random order of the wins (refunds after them), give
//! the statement a direct computation from the event list gives: the
//! commission integrated unit by unit over the tier rates, clawbacks as the
//! refunds inside each deal's window, at most the deal's amount.

use proptest::prelude::*;
use salespulse_incentive::{Books, Clawback, Measure, Plan, RawPlan, RawTier, MICROS};

const DAY: i64 = 86_400_000;
const MONTH: i64 = 30 * DAY;
const M: i64 = MICROS as i64;

fn plan(mode: Clawback, cap: Option<f64>) -> Plan {
    Plan::new(
        "direct",
        &RawPlan {
            period: "month".into(),
            measure: Measure::Revenue,
            target: Some(10_000.0),
            tiers: vec![
                RawTier {
                    from: 0.0,
                    rate: 0.04,
                },
                RawTier {
                    from: 0.8,
                    rate: 0.06,
                },
                RawTier {
                    from: 1.2,
                    rate: 0.11,
                },
            ],
            cap,
            clawback_days: 20,
            clawback: mode,
            spiffs: vec![],
        },
    )
    .unwrap()
}

/// Commission on `net` units, a unit at a time (amounts are whole tens).
fn naive_commission(net: i64, cap: Option<f64>) -> f64 {
    let mut paid = 0.0;
    let mut x = 0;
    while x < net {
        paid += rate_at(x) * 10.0;
        x += 10;
    }
    cap.map_or(paid, |c| paid.min(c))
}

#[derive(Debug, Clone)]
struct Case {
    /// (day within two months, amount in tens)
    deals: Vec<(i64, i64)>,
    /// (deal index, days after the win, amount in tens)
    refunds: Vec<(usize, i64, i64)>,
    order: Vec<usize>,
    prorated: bool,
    capped: bool,
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec((0i64..60, 1i64..600), 1..30).prop_flat_map(|deals| {
        let n = deals.len();
        (
            Just(deals),
            prop::collection::vec((0..n, 0i64..40, 1i64..700), 0..10),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(deals, refunds, order, prorated, capped)| Case {
                deals,
                refunds,
                order,
                prorated,
                capped,
            })
    })
}

proptest! {
    #[test]
    fn statements_equal_a_naive_recompute(c in case()) {
        let mode = if c.prorated { Clawback::Prorated } else { Clawback::Full };
        let cap = c.capped.then_some(700.0);
        let p = plan(mode, cap);
        let mut books = Books::default();
        for &i in &c.order {
            let (day, tens) = c.deals[i];
            let at = day * DAY;
            let start = at - at.rem_euclid(MONTH);
            books.won(&p, i as u64, at, (start, start + MONTH), tens * 10 * M, tens * 10 * M, false);
        }
        // Refunds in time order, after every win.
        let mut refunds = c.refunds.clone();
        refunds.sort_by_key(|&(i, days, _)| c.deals[i].0 + days);
        let mut clawed_per_deal = vec![0i64; c.deals.len()];
        for &(i, days, tens) in &refunds {
            let at = (c.deals[i].0 + days) * DAY;
            books.refund(&p, i as u64, at, tens * 10 * M);
            if days < 20 {
                let share = if c.prorated { 1.0 - days as f64 / 20.0 } else { 1.0 };
                let want = ((tens * 10 * M) as f64 * share).round() as i64;
                let left = c.deals[i].1 * 10 * M - clawed_per_deal[i];
                clawed_per_deal[i] += want.min(left).max(0);
            }
        }
        for month in 0..2i64 {
            let start = month * MONTH;
            let s = books.statement(&p, start, start + MONTH, 10_000 * M);
            let in_month = |i: usize| c.deals[i].0 * DAY / MONTH == month;
            let gross: i64 = (0..c.deals.len()).filter(|&i| in_month(i)).map(|i| c.deals[i].1 * 10 * M).sum();
            let clawed: i64 = (0..c.deals.len()).filter(|&i| in_month(i)).map(|i| clawed_per_deal[i]).sum();
            prop_assert_eq!(s.gross, gross);
            prop_assert_eq!(s.clawed, clawed);
            // Whole units: the unit-by-unit sum is exact up to float error.
            let net_units = (gross - clawed) / M;
            let frac = ((gross - clawed) % M) as f64 / MICROS;
            let naive_net = naive_commission(net_units - net_units % 10, cap) * MICROS;
            let rest = tiered_rest(net_units - net_units % 10, net_units % 10, frac);
            let want = cap.map_or(naive_net + rest, |cap| (naive_net + rest).min(cap * MICROS));
            prop_assert!((s.tiered - want).abs() < 1.0, "tiered {} vs naive {}", s.tiered, want);
            let want_gross = naive_commission(gross / M, cap) * MICROS;
            prop_assert!((s.clawbacks - (want_gross - want)).abs() < 1.0);
        }
    }
}

/// Commission on the units past the last whole ten (pro-rated refunds leave
/// odd amounts), at the rate in force there.
fn tiered_rest(from: i64, units: i64, frac: f64) -> f64 {
    rate_at(from) * (units as f64 + frac) * MICROS
}

/// The plan's rate at `units` of net revenue (target 10,000).
fn rate_at(units: i64) -> f64 {
    let attainment = units as f64 / 10_000.0;
    if attainment >= 1.2 {
        0.11
    } else if attainment >= 0.8 {
        0.06
    } else {
        0.04
    }
}
