//! A rep's deal flow: deals created and won per pace period, against the
//! rep's own usual rate. `behind_pace` uses it as a credibility gate: revenue
//! arrives as a few large deals, so an on-target rep is often at 0% a week
//! into the month; what sets a rep who is really falling behind apart is
//! that the deals stop coming, created as well as won. The gate asks how
//! likely so little flow is by chance if the rep's rate had not changed:
//! with `b` deals over `T` earlier periods and `o` over the `s` of this one
//! so far, the exact conditional test of two Poisson rates gives
//! P(O ≤ o) for O ~ Binomial(b + o, s / (T + s)). Conditioning on the total
//! accounts for the usual rate being itself an estimate from few deals.

use serde::{Deserialize, Serialize};

/// Deal flow counts of the current pace period and the periods before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// `[start, end)` of the period `count` belongs to (`end` is `i64::MAX`
    /// until a tick names it); None before the first tick.
    scope: Option<(i64, i64)>,
    /// Deals created and won in that period so far.
    count: u32,
    /// The working share of that period elapsed when the rep was first counted in it.
    from_share: f32,
    /// Deals created and won in the earlier periods.
    base_count: f32,
    /// The earlier periods, in whole-period equivalents.
    base_periods: f32,
}

/// What the gate found at a tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowCheck {
    /// Deals created and won so far this period.
    pub observed: u32,
    /// The rep's usual number by now.
    pub expected: f64,
    /// The chance of `observed` or fewer at the usual rate (see the module).
    pub chance: f64,
}

impl Flow {
    /// Counts a deal created or won at `at`.
    pub fn event(&mut self, at: i64) {
        match self.scope {
            Some((start, _)) if at < start => self.base_count += 1.0,
            Some((_, end)) if at >= end => {
                // The period is over: the next one starts where it ended.
                self.fold();
                self.scope = Some((end, i64::MAX));
                self.count = 1;
            }
            _ => self.count = self.count.saturating_add(1),
        }
    }

    fn fold(&mut self) {
        self.base_count += self.count as f32;
        self.base_periods += (1.0 - self.from_share).max(0.0);
        self.count = 0;
        self.from_share = 0.0;
    }

    /// Moves to the pace period `[start, end)` at a tick where `share` of
    /// its working time has elapsed.
    pub fn tick(&mut self, start: i64, end: i64, share: f64) {
        match self.scope {
            None => {
                self.scope = Some((start, end));
                self.from_share = share as f32;
            }
            Some((s, _)) if s == start => self.scope = Some((start, end)),
            Some((s, old_end)) if s < start => {
                self.fold();
                // Whole periods with no event at all in between count as empty.
                let length = if old_end == i64::MAX {
                    end - start
                } else {
                    old_end - s
                };
                let gap_from = if old_end == i64::MAX { s } else { old_end };
                if start > gap_from && length > 0 {
                    self.base_periods += ((start - gap_from) as f64 / length as f64) as f32;
                }
                self.scope = Some((start, end));
            }
            Some(_) => {}
        }
    }

    /// The gate at `share` of the current period, once the base covers at
    /// least `min_history` periods.
    pub fn check(&self, share: f64, min_history: f64) -> Option<FlowCheck> {
        if f64::from(self.base_periods) < min_history || self.base_periods <= 0.0 {
            return None;
        }
        let (b, periods) = (f64::from(self.base_count), f64::from(self.base_periods));
        let exposure = (share - f64::from(self.from_share)).max(0.0);
        let n = b.round() as u32 + self.count;
        Some(FlowCheck {
            observed: self.count,
            expected: b / periods * exposure,
            chance: binomial_cdf(self.count, n, exposure / (periods + exposure)),
        })
    }
}

/// P(X ≤ k) for X ~ Binomial(n, p).
pub fn binomial_cdf(k: u32, n: u32, p: f64) -> f64 {
    if k >= n || p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let mut term = (1.0 - p).powf(f64::from(n));
    let mut sum = term;
    let odds = p / (1.0 - p);
    for i in 0..k {
        term *= f64::from(n - i) / f64::from(i + 1) * odds;
        sum += term;
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_cdf_matches_hand_values() {
        assert!((binomial_cdf(0, 10, 0.2) - 0.8f64.powi(10)).abs() < 1e-12);
        // P(X ≤ 2) for n = 5, p = 0.5: (1 + 5 + 10) / 32.
        assert!((binomial_cdf(2, 5, 0.5) - 0.5).abs() < 1e-12);
        assert_eq!(binomial_cdf(3, 3, 0.9), 1.0);
        assert_eq!(binomial_cdf(0, 0, 0.5), 1.0);
    }

    #[test]
    fn the_base_is_the_earlier_periods_rate() {
        let mut f = Flow::default();
        // First seen at 50% of a period: 6 deals in the half period seen.
        f.tick(0, 100, 0.5);
        for t in 60..66 {
            f.event(t);
        }
        assert_eq!(f.check(0.9, 0.5), None, "no earlier period yet");
        // The next period starts with an event past the end.
        f.event(120);
        f.tick(100, 200, 0.1);
        let c = f.check(0.25, 0.5).unwrap();
        // 6 in half a period = 12 per period; 25% elapsed -> 3 expected.
        assert!((c.expected - 3.0).abs() < 1e-9, "{c:?}");
        assert_eq!(c.observed, 1);
        // 1 of the 7 deals in 0.25 of the 0.75 periods seen: Binomial(7, 1/3).
        assert!(
            (c.chance - binomial_cdf(1, 7, 1.0 / 3.0)).abs() < 1e-9,
            "{c:?}"
        );
        // A late event of the earlier period joins the base.
        f.event(99);
        let c = f.check(0.25, 0.5).unwrap();
        assert!((c.expected - 3.5).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn a_skipped_period_counts_as_an_empty_one() {
        let mut f = Flow::default();
        f.tick(0, 100, 0.0);
        for t in 0..10 {
            f.event(t);
        }
        f.tick(200, 300, 0.0); // nothing heard in [100, 200)
        let c = f.check(1.0, 1.0).unwrap();
        assert!(
            (c.expected - 5.0).abs() < 1e-6,
            "10 deals over two periods: {c:?}"
        );
    }
}
