//! Business gauges over the reps this instance owns, with bounded labels:
//! additive KPIs and a score histogram per (team, role), refreshed on a
//! slow cadence; and the opt-in per-rep series (`metrics.per_rep`), updated
//! as score records are emitted, for at most `metrics.per_rep_limit` reps.

use std::collections::{BTreeMap, HashMap};

use salespulse_engine::{Engine, SCORE_BUCKETS};
use salespulse_kpi::SalesAcc;
use salespulse_model::record::{RecordKind, ScoreRecord, WindowName};
use salespulse_model::KpiName;

use prometheus::{Gauge, GaugeVec, IntGaugeVec};
use salespulse_telemetry::Metrics;

use crate::MetricsSection;

/// The business series: KPIs and score distributions per (team, role),
/// and the opt-in per-rep series.
pub struct BusinessMetrics {
    kpi: GaugeVec,
    active_reps: IntGaugeVec,
    score_bucket: GaugeVec,
    score_count: GaugeVec,
    score_sum: GaugeVec,
    rep_score: GaugeVec,
    rep_attainment: GaugeVec,
    rep_series_left_out: Gauge,
}

impl BusinessMetrics {
    /// The series, registered in `m`.
    pub fn new(m: &Metrics) -> Self {
        BusinessMetrics {
            kpi: m.gauge_vec(
                "salespulse_kpi",
                "Additive KPIs summed over the reps this instance owns (sum by (...) across instances)",
                &["kpi", "window", "team", "role", "region"],
            ),
            active_reps: m.int_gauge_vec(
                "salespulse_active_reps",
                "Reps this instance owns",
                &["team", "role"],
            ),
            score_bucket: m.gauge_vec(
                "salespulse_score_bucket",
                "Owned reps with a score at or below le (cumulative; histogram_quantile works on it)",
                &["team", "role", "le"],
            ),
            score_count: m.gauge_vec(
                "salespulse_score_count",
                "Owned reps with a score",
                &["team", "role"],
            ),
            score_sum: m.gauge_vec(
                "salespulse_score_sum",
                "Sum of the owned reps' scores",
                &["team", "role"],
            ),
            rep_score: m.gauge_vec(
                "salespulse_rep_score",
                "A rep's latest score (metrics.per_rep)",
                &["rep", "team", "role"],
            ),
            rep_attainment: m.gauge_vec(
                "salespulse_rep_attainment",
                "A rep's attainment per score component (metrics.per_rep)",
                &["rep", "kpi", "window"],
            ),
            rep_series_left_out: m.gauge(
                "salespulse_rep_series_left_out",
                "Reps without per-rep series because of metrics.per_rep_limit",
            ),
        }
    }
}

/// KPIs that add up across reps and instances (ratios are derived in PromQL from these).
const ADDITIVE: [KpiName; 16] = [
    KpiName::Revenue,
    KpiName::DealsWon,
    KpiName::DealsLost,
    KpiName::PipelineCreated,
    KpiName::Calls,
    KpiName::Meetings,
    KpiName::Emails,
    KpiName::Activities,
    KpiName::NewCustomers,
    KpiName::Invoiced,
    KpiName::Collected,
    KpiName::Refunds,
    KpiName::NetRevenue,
    KpiName::PartnersOnboarded,
    KpiName::PartnerRevenue,
    KpiName::Assists,
];

/// Sums of one (team, role, region) group over all owned partitions.
#[derive(Default)]
struct Group {
    reps: usize,
    sums: Vec<SalesAcc>,
    score_sum: f64,
    score_hist: Vec<u64>,
}

/// Sets the business gauges from the engines' group sums (replacing the previous values).
pub(crate) fn refresh_business_gauges<'a>(
    m: &BusinessMetrics,
    kpi_gauges: &mut KpiGauges,
    engines: impl Iterator<Item = &'a mut Engine>,
) {
    let mut groups: HashMap<(String, String, String), Group> = HashMap::new();
    let mut names = Vec::new();
    for engine in engines {
        names = engine.window_names().to_vec();
        for (key, g) in engine.group_sums() {
            let e = groups.entry(key).or_insert_with(|| Group {
                sums: vec![SalesAcc::default(); g.sums.len()],
                score_hist: vec![0; g.score_hist.len()],
                ..Group::default()
            });
            e.reps += g.reps;
            e.score_sum += g.score_sum;
            for (t, s) in e.sums.iter_mut().zip(&g.sums) {
                salespulse_window::Accumulator::merge(t, s);
            }
            for (t, n) in e.score_hist.iter_mut().zip(&g.score_hist) {
                *t += n;
            }
        }
    }
    m.active_reps.reset();
    for ((team, role, _), g) in &groups {
        m.active_reps
            .with_label_values(&[team.as_str(), role.as_str()])
            .add(g.reps as i64);
    }
    kpi_gauges.set(m, &names, &groups);
    set_score_histogram(m, &groups);
}

/// The handles of the `salespulse_kpi` series, by (team, role, region) and
/// then KPI and window, kept between refreshes: a refresh sets each value
/// through its handle instead of looking up five labels per series, and
/// removes only the series whose group or value is gone. (Re-creating every
/// series through `with_label_values` was 5% of the service's CPU.)
#[derive(Default)]
pub(crate) struct KpiGauges {
    windows: Vec<WindowName>,
    by_group: HashMap<(String, String, String), Vec<Option<prometheus::Gauge>>>,
}

impl KpiGauges {
    fn set(
        &mut self,
        m: &BusinessMetrics,
        names: &[WindowName],
        groups: &HashMap<(String, String, String), Group>,
    ) {
        if self.windows != names {
            m.kpi.reset();
            self.by_group.clear();
            self.windows = names.to_vec();
        }
        let per_group = ADDITIVE.len() * names.len();
        self.by_group.retain(|key, handles| {
            let keep = groups.contains_key(key);
            if !keep {
                for (i, h) in handles.iter().enumerate() {
                    if h.is_some() {
                        remove_series(m, names, key, i);
                    }
                }
            }
            keep
        });
        for (key, g) in groups {
            let handles = self
                .by_group
                .entry(key.clone())
                .or_insert_with(|| vec![None; per_group]);
            for (i, handle) in handles.iter_mut().enumerate() {
                let (kpi, w) = (ADDITIVE[i / names.len()], i % names.len());
                let value = g
                    .sums
                    .get(w)
                    .and_then(|acc| salespulse_kpi::kpi_value(kpi, acc).as_f64());
                match (value, handle.as_ref()) {
                    (Some(v), Some(h)) => h.set(v),
                    (Some(v), None) => {
                        let (team, role, region) = key;
                        let h = m.kpi.with_label_values(&[
                            kpi.as_str(),
                            &*names[w],
                            team,
                            role,
                            region,
                        ]);
                        h.set(v);
                        *handle = Some(h);
                    }
                    (None, Some(_)) => {
                        remove_series(m, names, key, i);
                        *handle = None;
                    }
                    (None, None) => {}
                }
            }
        }
    }
}

/// Removes series `i` (KPI `i / windows`, window `i % windows`) of a group.
fn remove_series(
    m: &BusinessMetrics,
    names: &[WindowName],
    key: &(String, String, String),
    i: usize,
) {
    let (team, role, region) = key;
    let kpi = ADDITIVE[i / names.len()];
    let _ =
        m.kpi
            .remove_label_values(&[kpi.as_str(), &*names[i % names.len()], team, role, region]);
}

/// The score histogram by (team, role): regions added up, buckets made cumulative.
fn set_score_histogram(m: &BusinessMetrics, groups: &HashMap<(String, String, String), Group>) {
    let mut by_team_role: BTreeMap<(&str, &str), (f64, Vec<u64>)> = BTreeMap::new();
    for ((team, role, _), g) in groups {
        let e = by_team_role
            .entry((team, role))
            .or_insert_with(|| (0.0, vec![0; g.score_hist.len()]));
        e.0 += g.score_sum;
        for (t, n) in e.1.iter_mut().zip(&g.score_hist) {
            *t += n;
        }
    }
    m.score_bucket.reset();
    m.score_count.reset();
    m.score_sum.reset();
    for ((team, role), (sum, hist)) in by_team_role {
        let mut cumulative = 0u64;
        for (i, n) in hist.iter().enumerate() {
            cumulative += n;
            let le = SCORE_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            m.score_bucket
                .with_label_values(&[team, role, &le])
                .set(cumulative as f64);
        }
        m.score_count
            .with_label_values(&[team, role])
            .set(cumulative as f64);
        m.score_sum.with_label_values(&[team, role]).set(sum);
    }
}

/// The per-rep series exported for one rep.
struct Series {
    partition: i32,
    team: String,
    role: String,
    /// (kpi, window) of each attainment series.
    components: Vec<(std::borrow::Cow<'static, str>, std::sync::Arc<str>)>,
}

impl Series {
    fn remove(&self, m: &BusinessMetrics, rep: &str) {
        let _ = m
            .rep_score
            .remove_label_values(&[rep, &self.team, &self.role]);
        for (kpi, window) in &self.components {
            let _ = m.rep_attainment.remove_label_values(&[rep, kpi, window]);
        }
    }
}

/// Which reps have per-rep series: the first `per_rep_limit` reps whose
/// score records this instance emitted, dropped again when their partition
/// moves to another instance.
pub(crate) struct PerRep {
    enabled: bool,
    limit: usize,
    admitted: HashMap<String, Series>,
    /// Reps without series, with their partition.
    left_out: HashMap<String, i32>,
}

impl PerRep {
    pub(crate) fn new(m: &MetricsSection) -> Self {
        PerRep {
            enabled: m.per_rep,
            limit: m.per_rep_limit,
            admitted: HashMap::new(),
            left_out: Default::default(),
        }
    }

    /// Updates the series of the rep of an emitted score record.
    pub(crate) fn observe(&mut self, m: &BusinessMetrics, partition: i32, r: &ScoreRecord) {
        if !self.enabled || r.kind != RecordKind::Score {
            return;
        }
        if !self.admitted.contains_key(&r.rep_id) {
            if self.admitted.len() >= self.limit {
                if self.left_out.insert(r.rep_id.clone(), partition).is_none() {
                    m.rep_series_left_out.set(self.left_out.len() as f64);
                }
                return;
            }
            if self.left_out.remove(&r.rep_id).is_some() {
                m.rep_series_left_out.set(self.left_out.len() as f64);
            }
        } else if let Some(old) = self.admitted.get(&r.rep_id) {
            old.remove(m, &r.rep_id);
        }
        let series = Series {
            partition,
            team: r.team_id.clone().unwrap_or_else(|| "unassigned".into()),
            role: r.role.clone().unwrap_or_else(|| "unassigned".into()),
            components: r
                .components
                .iter()
                .map(|c| (c.kpi.clone(), c.window.clone()))
                .collect(),
        };
        if let Some(score) = r.score {
            m.rep_score
                .with_label_values(&[&r.rep_id, &series.team, &series.role])
                .set(score);
        }
        for c in &r.components {
            m.rep_attainment
                .with_label_values(&[r.rep_id.as_str(), &c.kpi, &c.window])
                .set(c.attainment);
        }
        self.admitted.insert(r.rep_id.clone(), series);
    }

    /// Drops the series of reps in partitions this instance no longer owns.
    pub(crate) fn forget_partitions(&mut self, m: &BusinessMetrics, owned: impl Fn(i32) -> bool) {
        if !self.enabled {
            return;
        }
        self.admitted.retain(|rep, series| {
            let keep = owned(series.partition);
            if !keep {
                series.remove(m, rep);
            }
            keep
        });
        self.left_out.retain(|_, p| owned(*p));
        m.rep_series_left_out.set(self.left_out.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salespulse_engine::{EngineConfig, Settings};

    fn engine(events: &[(&str, &str)]) -> Engine {
        let s: Settings = serde_json::from_str(
            r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}}}"#,
        )
        .expect("settings");
        let mut e = Engine::new(EngineConfig::new(&s).expect("config"));
        for (i, (rep, team)) in events.iter().enumerate() {
            let ev = format!(
                r#"{{"event_id":"e{i}","type":"activity.call","occurred_at":"2026-03-02T10:00:0{i}Z","rep_id":"{rep}","team_id":"{team}"}}"#
            );
            e.ingest(ev.as_bytes(), None).expect("valid event");
        }
        e
    }

    /// The `salespulse_kpi` series as (kpi, window, team) -> value.
    fn series(m: &BusinessMetrics) -> BTreeMap<(String, String, String), f64> {
        use prometheus::core::Collector;
        let mut out = BTreeMap::new();
        for mf in m.kpi.collect() {
            for m in mf.get_metric() {
                let label = |n: &str| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == n)
                        .map(|l| l.value().to_string())
                        .unwrap_or_default()
                };
                out.insert(
                    (label("kpi"), label("window"), label("team")),
                    m.get_gauge().get_value(),
                );
            }
        }
        out
    }

    #[test]
    fn kpi_series_follow_the_groups_across_refreshes() {
        let m = BusinessMetrics::new(&Metrics::new());
        let mut cache = KpiGauges::default();
        let key = |team: &str| ("calls".to_string(), "day".to_string(), team.to_string());
        let mut e = engine(&[("r1", "north"), ("r2", "north"), ("r3", "south")]);
        refresh_business_gauges(&m, &mut cache, std::iter::once(&mut e));
        let first = series(&m);
        assert_eq!(first.get(&key("north")), Some(&2.0), "{first:?}");
        assert_eq!(first.get(&key("south")), Some(&1.0));
        // A later refresh sets the values through the kept handles...
        let mut e = engine(&[("r1", "north"), ("r2", "north"), ("r4", "north")]);
        refresh_business_gauges(&m, &mut cache, std::iter::once(&mut e));
        let second = series(&m);
        assert_eq!(second.get(&key("north")), Some(&3.0), "{second:?}");
        // ... and removes the series of a group that is gone.
        assert!(
            !second.keys().any(|k| k.2 == "south"),
            "south's series stayed: {second:?}"
        );
        assert_eq!(second.len(), first.len() / 2);
        // No engines (every partition moved away): no series.
        refresh_business_gauges(&m, &mut cache, std::iter::empty());
        assert!(series(&m).is_empty());
    }
}
