//! Judging coaching at a working-day close: within each role, every
//! component's attainment is ranked over the role's scored reps, and each
//! rep keeps the components where it ranks lowest, with the configured
//! ratios against the role's medians and the index of the first rule that
//! matched.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use salespulse_model::rank::{median, percentile};
use salespulse_model::record::ComponentScore;
use salespulse_model::KpiName;

use crate::coaching_rules::CoachingConfig;
use crate::EngineConfig;

/// A rep's coaching as judged at a day close.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Coaching {
    /// End of the judged day (0 = never judged).
    pub day_end: i64,
    /// Scored reps of the role.
    pub peers: u32,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Item {
    /// Position of the component in the rep's profile, and its KPI (checked
    /// when rendering, in case the profile changed since).
    pub component: u16,
    pub kpi: KpiName,
    pub attainment: f64,
    pub percentile: f64,
    pub median: f64,
    /// (index into the config's ratios, rep value, role median).
    pub ratios: Vec<(u16, Option<f64>, Option<f64>)>,
    /// Index of the rule that matched.
    pub rule: Option<u16>,
}

/// One rep at a day close: its role, each component's attainment (by
/// position in the profile; None when the component is left out) and each
/// configured ratio's value.
pub(crate) struct Row {
    pub id: Box<str>,
    pub role: String,
    /// The KPI of each component of the role's profile.
    pub kpis: Vec<KpiName>,
    pub attainments: Vec<Option<f64>>,
    pub ratios: Vec<Option<f64>>,
}

/// The attainments of `parts` by position in the profile's components.
/// Components of KPI `assists` are left out: assist credits come from other
/// partitions and may arrive after the close, and a judgement must not
/// depend on when they did.
pub(crate) fn attainments(
    cfg: &EngineConfig,
    at: i64,
    role: Option<&str>,
    parts: &[ComponentScore],
) -> Vec<Option<f64>> {
    let profile = cfg.profiles.for_role(at, role);
    profile
        .components
        .iter()
        .map(|c| {
            if c.kpi == KpiName::Assists {
                return None;
            }
            parts
                .iter()
                .find(|p| p.kpi == c.kpi.as_str() && p.window == c.window_name)
                .map(|p| p.attainment)
        })
        .collect()
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Judges every rep of `rows` at the close of the day ending at `day_end`.
/// Reps in roles with fewer than `min_peers` scored reps get an empty judgement.
pub(crate) fn judge(
    cfg: &CoachingConfig,
    rows: &[Row],
    day_end: i64,
) -> BTreeMap<Box<str>, Coaching> {
    let mut by_role: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_role.entry(&r.role).or_default().push(r);
    }
    let mut out = BTreeMap::new();
    for reps in by_role.values() {
        let peers = reps.len() as u32;
        let width = reps.iter().map(|r| r.attainments.len()).max().unwrap_or(0);
        let comps: Vec<Vec<f64>> = (0..width)
            .map(|j| {
                sorted(
                    reps.iter()
                        .filter_map(|r| r.attainments.get(j).copied().flatten()),
                )
            })
            .collect();
        let ratio_medians: Vec<Option<f64>> = (0..cfg.ratios.len())
            .map(|i| {
                median(&sorted(
                    reps.iter()
                        .filter_map(|r| r.ratios.get(i).copied().flatten()),
                ))
            })
            .collect();
        for r in reps {
            let mut c = Coaching {
                day_end,
                peers,
                items: Vec::new(),
            };
            if peers >= cfg.min_peers {
                c.items = items(cfg, r, &comps, &ratio_medians);
            }
            out.insert(r.id.clone(), c);
        }
    }
    out
}

fn items(cfg: &CoachingConfig, r: &Row, comps: &[Vec<f64>], medians: &[Option<f64>]) -> Vec<Item> {
    let mut weak: Vec<(usize, f64, f64)> = r
        .attainments
        .iter()
        .enumerate()
        .filter_map(|(j, a)| {
            let a = a.filter(|a| a.is_finite())?;
            let p = percentile(&comps[j], a);
            // Below the role's median too: a rep tied with the median mass
            // (say, nobody has collected yet) is not singled out.
            let below_median = median(&comps[j]).is_some_and(|m| a < m);
            (p < cfg.below_percentile && below_median).then_some((j, a, p))
        })
        .collect();
    weak.sort_by(|x, y| {
        x.2.total_cmp(&y.2)
            .then(x.1.total_cmp(&y.1))
            .then(x.0.cmp(&y.0))
    });
    weak.truncate(cfg.max_items);
    weak.into_iter()
        .filter_map(|(j, a, p)| {
            let kpi = *r.kpis.get(j)?;
            let explain = cfg.explain.get(&kpi).map_or(&[][..], Vec::as_slice);
            let ratios = explain
                .iter()
                .map(|&i| (i as u16, r.ratios[i], medians[i]))
                .collect();
            let rule = cfg.rules.iter().position(|rule| {
                rule.component.is_none_or(|c| c == kpi)
                    && rule.matches(r.ratios[rule.ratio], medians[rule.ratio])
            });
            Some(Item {
                component: j as u16,
                kpi,
                attainment: a,
                percentile: p,
                median: median(&comps[j]).unwrap_or(0.0),
                ratios,
                rule: rule.map(|i| i as u16),
            })
        })
        .collect()
}
