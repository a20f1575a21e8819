//! Coaching feedback, judged at each working-day close with the standings:
//! within each role, every component's attainment is ranked over the role's
//! scored reps, and each rep keeps the components where it ranks lowest,
//! with the configured ratios against the role's medians and the index of
//! the first rule that matched. A `coaching/1` record renders it when it
//! changes; the judgement is in the changelog, so a restored rep shows the same coaching. Peers
//! are the reps one engine holds, as for `peer_laggard`.

pub(crate) mod judge;

use salespulse_model::record::{
    round6, Coaching as CoachingRecord, CoachingItem, CoachingRatio, WindowName,
};
use salespulse_model::Timestamp;

use super::hooks::{Feature, TickCx};
use crate::coaching_rules::{render as fill, Fill};
use crate::score::kpi_num;
use crate::EngineConfig;
pub(crate) use judge::Coaching;
use judge::Item;

/// An item's explaining ratios as written (money as amounts).
fn ratios(cfg: &EngineConfig, names: &[WindowName], it: &Item) -> Vec<CoachingRatio> {
    let num = |kpi, x| kpi_num(&cfg.decode.currencies, kpi, x);
    it.ratios
        .iter()
        .filter_map(|&(i, v, m)| {
            let r = cfg.coaching.ratios.get(usize::from(i))?;
            Some(CoachingRatio {
                kpi: r.kpi.as_str().into(),
                window: names.get(r.window)?.to_string(),
                value: v.map(|x| num(r.kpi, x)),
                role_median: m.map(|x| num(r.kpi, x)),
            })
        })
        .collect()
}

/// The rep's coaching from its judgement (None before its first judged
/// day close, or with coaching off).
pub(crate) fn render(
    cfg: &EngineConfig,
    rep_id: &str,
    role: Option<&str>,
    names: &[WindowName],
    c: &Coaching,
) -> Option<CoachingRecord> {
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
            let ratios = ratios(cfg, names, it);
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
                kpi: comp.kpi.as_str().into(),
                window: comp.window_name.to_string(),
                attainment: round6(it.attainment),
                percentile: round6(it.percentile),
                role_median_attainment: round6(it.median),
                ratios,
                suggestion: fill(rule.map_or(&cc.fallback, |r| &r.say), &f),
            })
        })
        .collect();
    Some(CoachingRecord {
        as_of: Timestamp(c.day_end).to_rfc3339(),
        peers: c.peers,
        items,
    })
}

impl Feature for Coaching {
    fn on_tick(&mut self, cx: &mut TickCx<'_>) -> bool {
        let Some(c) = cx.close.and_then(|close| close.coached.get(cx.rep_id)) else {
            return false;
        };
        // Judged once per day, also when a restore replays the close.
        if self.day_end >= c.day_end {
            return false;
        }
        *self = c.clone();
        true
    }

    fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Item>()
            + self
                .items
                .iter()
                .map(|i| i.ratios.capacity() * 24)
                .sum::<usize>()
    }
}
