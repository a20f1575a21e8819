//! Scores and their explanation.
//!
//! Attainment `a = value / target` (`target / value` when lower is better;
//! 0 when the value is null). Score = `100 * sum(w * min(a, cap)) / sum(w)`,
//! so 100 means every target met exactly.

use salespulse_model::record::ComponentScore;
use salespulse_model::{KpiName, TargetOverride};
use salespulse_window::Period;

use crate::{Component, Direction, KpiValue, RoleProfile, WindowRef};

/// What a rep's targets depend on besides the profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetContext<'a> {
    /// Per-rep overrides from the directory.
    pub overrides: &'a [TargetOverride],
    /// The rep's first day (UTC millis of its local midnight), for pro-rating period targets.
    pub start_ms: Option<i64>,
}

impl TargetContext<'_> {
    /// The target in force for a component: the override if any, pro-rated
    /// for a rep who started inside the period. None when the rep had not
    /// started by the period's end (the component is then left out).
    pub fn target(&self, c: &Component, period: Option<&Period>) -> Option<f64> {
        self.target_of(c.kpi, &c.window_name, c.target, period)
    }

    /// The same for any KPI and window name with `base` as the default
    /// target (a commission plan's target).
    pub fn target_of(
        &self,
        kpi: KpiName,
        window: &str,
        base: f64,
        period: Option<&Period>,
    ) -> Option<f64> {
        let base = self
            .overrides
            .iter()
            .rev()
            .find(|o| o.kpi == kpi && o.window == window)
            .map_or(base, |o| o.value);
        match (period, self.start_ms) {
            (Some(p), Some(s)) if s > p.start => {
                let share = (p.end - s) as f64 / (p.end - p.start) as f64;
                (share > 0.0).then_some(base * share)
            }
            _ => Some(base),
        }
    }
}

/// Inputs of one score computation.
pub struct ScoreInput<'a, F: Fn(&Component) -> KpiValue> {
    /// The profile.
    pub profile: &'a RoleProfile,
    /// Looks a component's KPI value up in its window.
    pub value: F,
    /// Targets.
    pub targets: TargetContext<'a>,
    /// The period each period component is evaluated in.
    pub period_of: &'a dyn Fn(&Component) -> Option<Period>,
    /// Keep only components whose window passes this filter (period summaries).
    pub only: Option<WindowRef>,
}

/// Computes the score and its per-component explanation. Returns None when no component applies.
pub fn score<F: Fn(&Component) -> KpiValue>(
    input: &ScoreInput<'_, F>,
) -> (Option<f64>, Vec<ComponentScore>) {
    let mut parts = Vec::new();
    for c in &input.profile.components {
        if input.only.is_some_and(|w| w != c.window) {
            continue;
        }
        let period = (input.period_of)(c);
        let Some(target) = input.targets.target(c, period.as_ref()) else {
            continue;
        };
        let value = (input.value)(c).as_f64();
        let attainment = match (value, c.direction) {
            (None, _) => 0.0,
            (Some(v), Direction::Higher) => v / target,
            (Some(v), Direction::Lower) if v <= 0.0 => c.cap,
            (Some(v), Direction::Lower) => target / v,
        };
        parts.push((c, value, target, attainment));
    }
    let total: f64 = parts.iter().map(|(c, ..)| c.weight).sum();
    if parts.is_empty() || total <= 0.0 {
        return (None, Vec::new());
    }
    let mut sum = 0.0;
    let explained = parts
        .into_iter()
        .map(|(c, value, target, attainment)| {
            let points = 100.0 * c.weight * attainment.min(c.cap) / total;
            sum += points;
            ComponentScore {
                kpi: c.kpi.as_str().into(),
                window: std::sync::Arc::clone(&c.window_name),
                value: value.map(salespulse_model::record::Num::Real),
                target: salespulse_model::record::Num::Real(target),
                attainment,
                weight: c.weight,
                points,
                pace: None,
                p_reach: None,
            }
        })
        .collect();
    (Some(sum), explained)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Profiles, RawProfile};
    use salespulse_model::KpiName;
    use salespulse_window::RollingSpecs;
    use std::collections::BTreeMap;

    fn profile() -> Profiles {
        let raw: BTreeMap<String, RawProfile> = serde_json::from_str(
            r#"{"direct": {"components": [
                {"kpi": "revenue", "window": "month", "target": 1000, "weight": 3},
                {"kpi": "sales_cycle_days", "window": "30d", "target": 20, "weight": 1, "direction": "lower", "cap": 2}
            ]}}"#,
        )
        .unwrap();
        Profiles::new(&raw, "direct", &RollingSpecs::defaults()).unwrap()
    }

    #[test]
    fn weighted_capped_score_with_explanation() {
        let p = profile();
        let prof = p.for_role(Some("direct"));
        let value = |c: &Component| match c.kpi {
            KpiName::Revenue => KpiValue::Money(2_000 * 1_000_000), // 200% -> capped at 150%
            _ => KpiValue::Real(10.0),                              // 20/10 = 200%, cap 2
        };
        let none = |_: &Component| None;
        let (s, parts) = score(&ScoreInput {
            profile: prof,
            value,
            targets: TargetContext::default(),
            period_of: &none,
            only: None,
        });
        assert_eq!(parts.len(), 2);
        assert!((s.unwrap() - 100.0 * (3.0 * 1.5 + 1.0 * 2.0) / 4.0).abs() < 1e-9);
        assert_eq!(parts[0].attainment, 2.0);
        assert!((parts[0].points - 112.5).abs() < 1e-9);
    }

    #[test]
    fn overrides_and_prorating() {
        let p = profile();
        let c = &p.for_role(None).components[0];
        let o = [TargetOverride {
            kpi: KpiName::Revenue,
            window: "month".into(),
            value: 4000.0,
        }];
        let period = Period {
            kind: salespulse_window::PeriodKind::Month,
            start: 0,
            end: 30 * 86_400_000,
        };
        let ctx = TargetContext {
            overrides: &o,
            start_ms: Some(15 * 86_400_000),
        };
        assert_eq!(ctx.target(c, Some(&period)), Some(2000.0));
        let late = TargetContext {
            overrides: &o,
            start_ms: Some(31 * 86_400_000),
        };
        assert_eq!(late.target(c, Some(&period)), None);
    }

    #[test]
    fn bad_profiles_name_the_problem() {
        let raw: BTreeMap<String, RawProfile> =
            serde_json::from_str(r#"{"direct": {"components": [{"kpi": "revenue", "window": "fortnight", "target": 1, "weight": 1}]}}"#).unwrap();
        let e = Profiles::new(&raw, "direct", &RollingSpecs::defaults())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("fortnight") && e.contains("expected one of"),
            "{e}"
        );
    }
}
