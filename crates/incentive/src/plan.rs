//! A commission plan as configured (`[profiles.<role>.commission]`) and
//! validated, and the tiered commission on a period's net revenue.

use serde::Deserialize;

use salespulse_window::PeriodKind;

use crate::MICROS;

/// A plan that cannot be used: the key, the value and what is expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("profiles.{role}.commission.{key} = {value}: expected {expected}")]
pub struct PlanError {
    /// The role.
    pub role: String,
    /// The key inside the plan.
    pub key: String,
    /// The value found.
    pub value: String,
    /// What would be accepted.
    pub expected: String,
}

/// What the tiered rate is paid on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Won revenue (the deal owner's).
    #[default]
    Revenue,
    /// Won revenue through partners.
    PartnerRevenue,
}

impl Measure {
    /// The KPI name of the measure (for target overrides).
    pub fn kpi(self) -> &'static str {
        match self {
            Measure::Revenue => "revenue",
            Measure::PartnerRevenue => "partner_revenue",
        }
    }
}

/// How a refund inside the clawback window is taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Clawback {
    /// The whole refunded amount leaves net revenue.
    #[default]
    Full,
    /// The refunded amount times the share of the window still to run.
    Prorated,
}

/// Events a SPIFF pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpiffOn {
    /// Every won deal (at least `min_deal`).
    DealWon,
    /// Every won deal marked `new_customer` (at least `min_deal`).
    NewCustomer,
    /// Every partner onboarded.
    PartnerOnboarded,
}

/// A SPIFF as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpiff {
    /// Name, reported in `by_component` as `spiff:<name>`.
    pub name: String,
    /// Qualifying events.
    pub on: SpiffOn,
    /// Paid per qualifying event (reporting currency).
    pub amount: f64,
    /// First day of the campaign (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// First day after it.
    pub until: String,
    /// Smallest qualifying deal (reporting currency).
    #[serde(default)]
    pub min_deal: f64,
}

/// One tier as written in config.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    /// Attainment (net measure / target) where the tier starts.
    pub from: f64,
    /// Rate paid on the measure inside the tier.
    pub rate: f64,
}

/// A plan as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    /// Statement period: `month` (default) or `quarter`, `week`.
    #[serde(default = "month")]
    pub period: String,
    /// What the rate is paid on.
    #[serde(default)]
    pub measure: Measure,
    /// Period target of the measure; default: the profile's target for it.
    pub target: Option<f64>,
    /// Tiers, the first from 0.
    pub tiers: Vec<RawTier>,
    /// Most tiered commission per period (SPIFFs are on top); none by default.
    pub cap: Option<f64>,
    /// Days after a deal's win in which a refund claws back; 0 = never.
    #[serde(default)]
    pub clawback_days: u32,
    /// `full` or `prorated`.
    #[serde(default)]
    pub clawback: Clawback,
    /// Campaign bonuses.
    #[serde(default)]
    pub spiffs: Vec<RawSpiff>,
}

fn month() -> String {
    "month".into()
}

/// A tier: from `from` × target on, `rate` per unit of the measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tier {
    /// Attainment where it starts.
    pub from: f64,
    /// Rate.
    pub rate: f64,
}

/// A validated SPIFF.
#[derive(Debug, Clone, PartialEq)]
pub struct Spiff {
    /// Name.
    pub name: String,
    /// Qualifying events.
    pub on: SpiffOn,
    /// Per event, micros.
    pub amount: i64,
    /// Campaign window `[from, until)`, UTC millis.
    pub from_ms: i64,
    /// End of the window.
    pub until_ms: i64,
    /// Smallest qualifying deal, micros.
    pub min_deal: i64,
}

/// A validated plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Statement period.
    pub period: PeriodKind,
    /// What the rate is paid on.
    pub measure: Measure,
    /// Period target of the measure (reporting currency); None: the profile's.
    pub target: Option<f64>,
    /// Tiers by ascending `from`, the first at 0.
    pub tiers: Vec<Tier>,
    /// Most tiered commission per period, micros.
    pub cap: Option<i64>,
    /// Clawback window, ms (0 = none).
    pub clawback_ms: i64,
    /// Full or pro-rated.
    pub clawback: Clawback,
    /// SPIFFs.
    pub spiffs: Vec<Spiff>,
}

impl Plan {
    /// Validates a configured plan of `role`.
    pub fn new(role: &str, raw: &RawPlan) -> Result<Plan, PlanError> {
        let err = |key: &str, value: String, expected: &str| PlanError {
            role: role.into(),
            key: key.into(),
            value,
            expected: expected.into(),
        };
        let period = match PeriodKind::parse(&raw.period) {
            Some(p) if p != PeriodKind::Day => p,
            _ => {
                return Err(err(
                    "period",
                    format!("{:?}", raw.period),
                    "week, month or quarter",
                ))
            }
        };
        if let Some(t) = raw.target.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(err("target", t.to_string(), "a positive amount"));
        }
        let mut tiers = Vec::new();
        for (i, t) in raw.tiers.iter().enumerate() {
            let key = format!("tiers[{i}]");
            let ok_from = if i == 0 {
                t.from == 0.0
            } else {
                t.from.is_finite() && t.from > tiers.last().map_or(0.0, |p: &Tier| p.from)
            };
            if !ok_from {
                return Err(err(
                    &format!("{key}.from"),
                    t.from.to_string(),
                    "0 for the first tier, then ascending attainments",
                ));
            }
            if !(t.rate.is_finite() && (0.0..=10.0).contains(&t.rate)) {
                return Err(err(
                    &format!("{key}.rate"),
                    t.rate.to_string(),
                    "a rate from 0 to 10",
                ));
            }
            tiers.push(Tier {
                from: t.from,
                rate: t.rate,
            });
        }
        if tiers.is_empty() {
            return Err(err(
                "tiers",
                "[]".into(),
                "at least one tier, the first { from = 0.0, rate = ... }",
            ));
        }
        let cap = match raw.cap {
            Some(c) if !(c.is_finite() && c >= 0.0) => {
                return Err(err("cap", c.to_string(), "a non-negative amount"))
            }
            c => c.map(to_micros),
        };
        let mut spiffs = Vec::new();
        for (i, s) in raw.spiffs.iter().enumerate() {
            let key = |k: &str| format!("spiffs[{i}].{k}");
            if s.name.is_empty() || !(s.amount.is_finite() && s.amount >= 0.0) || s.min_deal < 0.0 {
                return Err(err(
                    &key("amount"),
                    format!("{} ({:?})", s.amount, s.name),
                    "a named SPIFF with a non-negative amount and min_deal",
                ));
            }
            let day = |k: &str, v: &str| {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp_millis())
                    .ok_or_else(|| err(&key(k), format!("{v:?}"), "a date YYYY-MM-DD"))
            };
            let (from_ms, until_ms) = (day("from", &s.from)?, day("until", &s.until)?);
            if until_ms <= from_ms {
                return Err(err(
                    &key("until"),
                    format!("{:?}", s.until),
                    "a day after `from`",
                ));
            }
            spiffs.push(Spiff {
                name: s.name.clone(),
                on: s.on,
                amount: to_micros(s.amount),
                from_ms,
                until_ms,
                min_deal: to_micros(s.min_deal),
            });
        }
        Ok(Plan {
            period,
            measure: raw.measure,
            target: raw.target,
            tiers,
            cap,
            clawback_ms: i64::from(raw.clawback_days) * 86_400_000,
            clawback: raw.clawback,
            spiffs,
        })
    }
}

fn to_micros(v: f64) -> i64 {
    (v * MICROS).round() as i64
}

/// The tiered commission on `net` (micros) against `target` (micros), before
/// the cap, and the rate the next unit of the measure earns.
pub fn tiered(tiers: &[Tier], net: i64, target: i64) -> (f64, f64) {
    let (net, target) = (net.max(0) as f64, target.max(1) as f64);
    let mut paid = 0.0;
    let mut next_rate = tiers.first().map_or(0.0, |t| t.rate);
    for (i, t) in tiers.iter().enumerate() {
        let lo = t.from * target;
        let hi = tiers.get(i + 1).map_or(f64::INFINITY, |n| n.from * target);
        if net > lo {
            paid += t.rate * (net.min(hi) - lo);
        }
        if net >= lo {
            next_rate = t.rate;
        }
    }
    (paid, next_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 1_000_000;

    #[test]
    fn a_deal_crossing_a_tier_boundary_is_split() {
        let tiers = [
            Tier {
                from: 0.0,
                rate: 0.05,
            },
            Tier {
                from: 1.0,
                rate: 0.08,
            },
        ];
        // Target 40,000: 30,000 at 5% = 1,500; a 20,000 deal takes it to
        // 50,000: 10,000 at 5% and 10,000 at 8%.
        assert_eq!(
            tiered(&tiers, 30_000 * M, 40_000 * M),
            (1_500.0 * 1e6, 0.05)
        );
        let (paid, next) = tiered(&tiers, 50_000 * M, 40_000 * M);
        assert_eq!(paid, (2_000.0 + 800.0) * 1e6);
        assert_eq!(next, 0.08);
        assert_eq!(tiered(&tiers, 0, 40_000 * M), (0.0, 0.05));
    }

    #[test]
    fn errors_name_the_key() {
        let raw = |tiers: Vec<RawTier>| RawPlan {
            period: "month".into(),
            measure: Measure::Revenue,
            target: None,
            tiers,
            cap: None,
            clawback_days: 0,
            clawback: Clawback::Full,
            spiffs: vec![],
        };
        let e = Plan::new(
            "direct",
            &raw(vec![RawTier {
                from: 0.5,
                rate: 0.1,
            }]),
        )
        .unwrap_err();
        assert_eq!(e.key, "tiers[0].from");
        let e = Plan::new(
            "direct",
            &raw(vec![
                RawTier {
                    from: 0.0,
                    rate: 0.1,
                },
                RawTier {
                    from: 0.0,
                    rate: 0.2,
                },
            ]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("profiles.direct.commission.tiers[1].from = 0"),
            "{e}"
        );
        let mut r = raw(vec![RawTier {
            from: 0.0,
            rate: 0.1,
        }]);
        r.period = "day".into();
        assert_eq!(Plan::new("direct", &r).unwrap_err().key, "period");
    }
}
