//! Coaching feedback, judged at each working-day close with the standings:
//! within each role, every component's attainment is ranked over the role's
//! scored reps, and each rep keeps the components where it ranks lowest,
//! with the configured ratios against the role's medians and the index of
//! the first rule that matched. The score record renders it
//! ([`render`]); the judgement is saved in the changelog (format 5), so a
//! restored rep shows the same coaching. Peers are the reps one engine
//! holds, as for `peer_laggard`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use salespulse_model::record::{Coaching, CoachingItem, CoachingRatio, ComponentScore, WindowName};
use salespulse_model::{KpiName, Timestamp};

use super::standing::{median, percentile};
use crate::coaching::{render as fill, CoachingConfig, Fill};
use crate::output::round6;
use crate::EngineConfig;

/// A rep's coaching as judged at a day close.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Coached {
    /// End of the judged day (0 = never judged).
    day_end: i64,
    /// Scored reps of the role.
    peers: u32,
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    /// Position of the component in the rep's profile, and its KPI (checked
    /// when rendering, in case the profile changed since).
    component: u16,
    kpi: KpiName,
    attainment: f64,
    percentile: f64,
    median: f64,
    /// (index into the config's ratios, rep value, role median).
    ratios: Vec<(u16, Option<f64>, Option<f64>)>,
    /// Index of the rule that matched.
    rule: Option<u16>,
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
) -> BTreeMap<Box<str>, Coached> {
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
            let mut c = Coached {
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

/// The score record's `coaching` from a rep's judgement (None before its
/// first judged day close, or with coaching off).
pub(crate) fn render(
    cfg: &EngineConfig,
    rep_id: &str,
    role: Option<&str>,
    names: &[WindowName],
    c: &Coached,
) -> Option<Coaching> {
    let cc = &cfg.coaching;
    if !cc.enabled || c.day_end == 0 {
        return None;
    }
    // The profiles the judgement was made under (see `day_close`).
    let profile = cfg.profiles.for_role(c.day_end - 1, role);
    let items = c
        .items
        .iter()
        .filter_map(|it| {
            let comp = profile
                .components
                .get(usize::from(it.component))
                .filter(|comp| comp.kpi == it.kpi)?;
            let ratios: Vec<CoachingRatio> = it
                .ratios
                .iter()
                .filter_map(|&(i, v, m)| {
                    let r = cc.ratios.get(usize::from(i))?;
                    Some(CoachingRatio {
                        kpi: r.kpi.as_str(),
                        window: names.get(r.window)?.to_string(),
                        value: v.map(round6),
                        role_median: m.map(round6),
                    })
                })
                .collect();
            let rule = it.rule.and_then(|i| cc.rules.get(usize::from(i)));
            let ratio = rule.and_then(|rule| {
                let r = cc.ratios.get(rule.ratio)?;
                let (_, v, m) = it.ratios.iter().find(|x| usize::from(x.0) == rule.ratio)?;
                Some((r.kpi, *v, *m))
            });
            let f = Fill {
                rep: rep_id,
                role: &profile.name,
                kpi: comp.kpi.as_str(),
                window: &comp.window_name,
                attainment: it.attainment,
                percentile: it.percentile,
                ratio,
            };
            Some(CoachingItem {
                kpi: comp.kpi.as_str(),
                window: comp.window_name.clone(),
                attainment: round6(it.attainment),
                percentile: round6(it.percentile),
                role_median_attainment: round6(it.median),
                ratios,
                suggestion: fill(rule.map_or(&cc.fallback, |r| &r.say), &f),
            })
        })
        .collect();
    Some(Coaching {
        as_of: Timestamp(c.day_end).to_rfc3339(),
        peers: c.peers,
        items,
    })
}

impl Coached {
    /// Whether this judgement is of the day ending at `day_end` or later.
    pub(crate) fn judged(&self, day_end: i64) -> bool {
        self.day_end >= day_end
    }

    /// End of the judged day.
    pub(crate) fn day_end(&self) -> i64 {
        self.day_end
    }
}
