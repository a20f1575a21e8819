//! The probability that a rep reaches a period target, from its own
//! recent rate (docs/forecast.md).
//!
//! Events still to come before the period ends are modelled as Poisson
//! with a rate learned from `k` events over an exposure `e_win` (the
//! reference window, in weighted working hours); with a Jeffreys prior
//! the rate's posterior is Gamma(k + ½, e_win), so the number of events in
//! the remaining exposure `e_rem` is negative binomial with shape k + ½
//! and success probability e_win / (e_win + e_rem). That keeps a rep with
//! four deals last month from looking more certain than four deals allow.
//! For a money KPI each event adds a log-normal amount (mean: the
//! window's mean, log-sd from the rep's recent deals); the sum of n of
//! them is approximated by a log-normal with the same mean and variance
//! (Fenton-Wilkinson).

/// Weight of the reference window's events in the rate's posterior.
pub const EVIDENCE: f64 = 0.25;
/// Events the prior adds to the window's (so a rep with none can still score).
pub const PRIOR_EVENTS: f64 = 1.0;

/// The remaining events: negative binomial probabilities P(N = 0), P(N = 1), ...
/// until their sum passes 1 - 1e-9 (at most `max` terms).
fn negbin(k: f64, e_win: f64, e_rem: f64, max: usize) -> Vec<f64> {
    // Past rates drift (pipeline, seasons): the window's evidence counts
    // for EVIDENCE of its size, which widens the prediction, not its mean.
    let (r, e_win) = ((k + PRIOR_EVENTS) * EVIDENCE, e_win * EVIDENCE);
    let p = e_win / (e_win + e_rem);
    let q = 1.0 - p;
    let mut out = Vec::new();
    let mut term = p.powf(r);
    let mut total = 0.0;
    for n in 0..max {
        if n > 0 {
            term *= (n as f64 - 1.0 + r) / n as f64 * q;
        }
        out.push(term);
        total += term;
        if total > 1.0 - 1e-9 {
            break;
        }
    }
    out
}

/// P(at least `need` more events), with `k` events over `e_win` so far and
/// `e_rem` of exposure left.
pub fn p_reach_count(k: f64, e_win: f64, e_rem: f64, need: f64) -> f64 {
    if need <= 0.0 {
        return 1.0;
    }
    if e_rem <= 0.0 || e_win <= 0.0 {
        return 0.0;
    }
    let need = need.ceil() as usize;
    let below: f64 = negbin(k, e_win, e_rem, need).iter().take(need).sum();
    (1.0 - below).clamp(0.0, 1.0)
}

/// P(the amounts of the remaining events add up to at least `need`), each
/// log-normal with mean `mean` and log-sd `sigma`.
pub fn p_reach_money(k: f64, e_win: f64, e_rem: f64, need: f64, mean: f64, sigma: f64) -> f64 {
    if need <= 0.0 {
        return 1.0;
    }
    if e_rem <= 0.0 || e_win <= 0.0 || mean <= 0.0 {
        return 0.0;
    }
    let s2 = sigma * sigma;
    let mu = mean.ln() - s2 / 2.0;
    let (m1, var1) = (mean, (s2.exp() - 1.0) * (2.0 * mu + s2).exp());
    let mut p = 0.0;
    for (n, pn) in negbin(k, e_win, e_rem, 2_000).iter().enumerate().skip(1) {
        let (m, v) = (n as f64 * m1, n as f64 * var1);
        let sn2 = (1.0 + v / (m * m)).ln();
        let mun = m.ln() - sn2 / 2.0;
        let z = (need.ln() - mun) / sn2.sqrt();
        p += pn * 0.5 * erfc(z / std::f64::consts::SQRT_2);
    }
    p.clamp(0.0, 1.0)
}

/// The complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_negative_binomial() {
        // k = 39 (shape (39 + 1) × EVIDENCE = 10) over 4 units, 1 unit
        // left: p = 1/2, mean 10.
        let p_all: f64 = negbin(39.0, 4.0, 1.0, 10_000).iter().sum();
        assert!((p_all - 1.0).abs() < 1e-8);
        // P(N >= 1) = 1 - 0.5^10.
        assert!((p_reach_count(39.0, 4.0, 1.0, 1.0) - (1.0 - 0.5f64.powi(10))).abs() < 1e-12);
        assert_eq!(p_reach_count(3.0, 1.0, 1.0, 0.0), 1.0);
        assert_eq!(p_reach_count(3.0, 1.0, 0.0, 2.0), 0.0);
        // More needed, less likely.
        assert!(p_reach_count(10.0, 1.0, 1.0, 5.0) > p_reach_count(10.0, 1.0, 1.0, 15.0));
    }

    #[test]
    fn money_is_about_a_half_at_the_expected_sum() {
        // 40 events expected (k 80 over 2, 1 left), mean 1,000: need 40,000.
        let p = p_reach_money(80.0, 2.0, 1.0, 40_000.0, 1_000.0, 0.5);
        assert!((0.4..0.6).contains(&p), "{p}");
        // The discounted evidence keeps the tails wide: about 11 events of sd.
        assert!(p_reach_money(80.0, 2.0, 1.0, 20_000.0, 1_000.0, 0.5) > 0.9);
        assert!(p_reach_money(80.0, 2.0, 1.0, 80_000.0, 1_000.0, 0.5) < 0.05);
        assert!((erfc(0.0) - 1.0).abs() < 1e-7 && (erfc(1.0) - 0.157_299_2).abs() < 1e-6);
    }
}
