//! `outlier_deal`: a won deal whose amount is far outside the rep's own
//! distribution, a likely data error (a misplaced decimal, a wrong currency)
//! or worse. The measure is a robust z-score of the log amount against the
//! rep's last deals: (ln x - median) / (1.4826 × MAD), with the scale floored
//! at 0.5 (a few similar deals would otherwise make any bigger one an outlier).
//! A configured `max_amount` flags any larger deal, history or not. With
//! `exclude` the engine asks [`is_outlier`] before applying a won deal and
//! holds an outlier back (rejected as `outlier`, to the dead-letter topic).

use salespulse_model::AlertKind;

use crate::emit::{rep_record, Facts, Raise};
use crate::rep::{RepDetect, DEALS_KEPT};

/// Checks a won deal of `amount` (reporting currency) at `at`; returns
/// whether it is an outlier. Outliers do not enter the rep's distribution.
pub fn deal_won(rs: &mut RepDetect, amount: f64, at: i64, r: &mut Raise<'_>) -> bool {
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    let s = &cfg.raw.outlier_deal;
    if !(s.enabled && amount.is_finite() && amount > 0.0) {
        return false;
    }
    let x = amount.ln();
    let fit = robust_fit(&rs.deals, s.min_history as usize);
    let z = fit.map(|(m, scale)| (x - m) / scale);
    let over_max = s.max_amount > 0.0 && amount > s.max_amount;
    if !(over_max || z.is_some_and(|z| z >= s.z)) {
        if rs.deals.len() >= DEALS_KEPT {
            rs.deals.pop_front();
        }
        rs.deals.push_back(x as f32);
        return false;
    }
    let Some(slot) =
        rs.alerts
            .fire_instant(AlertKind::OutlierDeal, at, at, cfg.outlier_hold_ms, true)
    else {
        return true;
    };
    let usual = fit.map_or(0.0, |(m, _)| m.exp());
    // The amount the crossed rule starts at: where the rep's deals become
    // `s.z` robust deviations unusual, else the role's limit.
    let limit = match fit {
        Some((m, scale)) if z.is_some_and(|z| z >= s.z) => (m + s.z * scale).exp(),
        _ => s.max_amount,
    };
    rs.alerts
        .set_facts(AlertKind::OutlierDeal, at, [amount, limit, usual]);
    let message = match z {
        Some(z) if z >= s.z => format!(
            "{} won a deal of {amount:.2}, {z:.1} robust deviations above their usual deal size (median {usual:.2}).",
            who.rep_id
        ),
        _ => format!(
            "{} won a deal of {amount:.2}, above the role's limit of {:.2}.",
            who.rep_id, s.max_amount
        ),
    };
    out.push(rep_record(
        who,
        &slot,
        s.severity,
        false,
        at,
        Facts {
            value: amount,
            threshold: limit,
            baseline: usual,
            message,
            suggestion: "Verify the amount and currency in the CRM before it reaches commissions; a misplaced decimal or a wrong currency is the usual cause.".into(),
        },
    ));
    true
}

/// Whether a won deal of `amount` would be flagged by [`deal_won`] (which
/// also raises the alert and keeps the distribution).
pub fn is_outlier(rs: &RepDetect, amount: f64, cfg: &crate::RoleConfig) -> bool {
    let s = &cfg.raw.outlier_deal;
    if !(s.enabled && amount.is_finite() && amount > 0.0) {
        return false;
    }
    let z =
        robust_fit(&rs.deals, s.min_history as usize).map(|(m, scale)| (amount.ln() - m) / scale);
    (s.max_amount > 0.0 && amount > s.max_amount) || z.is_some_and(|z| z >= s.z)
}

/// The smallest scale (in natural-log units) the z-score divides by: a few
/// similar deals must not make an ordinary bigger one an outlier (deal sizes
/// commonly vary by a factor of e^0.5 = 1.6 and more).
const SCALE_FLOOR: f64 = 0.5;

/// The median and robust scale (1.4826 MAD, floored) of the log amounts
/// `xs`, once there are at least `min` of them.
fn robust_fit(xs: &std::collections::VecDeque<f32>, min: usize) -> Option<(f64, f64)> {
    if xs.is_empty() || xs.len() < min.max(1) {
        return None;
    }
    let mut v: Vec<f64> = xs.iter().map(|&a| f64::from(a)).collect();
    let m = median(&mut v);
    let mut dev: Vec<f64> = v.iter().map(|a| (a - m).abs()).collect();
    let mad = median(&mut dev);
    Some((m, (1.4826 * mad).max(SCALE_FLOOR)))
}

/// The median of `v` (sorted in place); `v` is not empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    salespulse_model::rank::median(v).unwrap_or(f64::NAN)
}
