//! Business gauges over the reps this instance owns, with bounded labels:
//! additive KPIs and a score histogram per (team, role), refreshed on a
//! slow cadence; and the opt-in per-rep series (`metrics.per_rep`), updated
//! as score records are emitted, for at most `metrics.per_rep_limit` reps.

use std::collections::{BTreeMap, HashMap};

use salespulse_engine::{Engine, SCORE_BUCKETS};
use salespulse_kpi::SalesAcc;
use salespulse_model::record::{RecordKind, ScoreRecord};
use salespulse_model::KpiName;

use crate::{MetricsSection, Status};

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
    status: &Status,
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
    status.kpi.reset();
    status.active_reps.reset();
    for ((team, role, region), g) in &groups {
        status
            .active_reps
            .with_label_values(&[team.as_str(), role.as_str()])
            .add(g.reps as i64);
        for kpi in ADDITIVE {
            for (window, acc) in names.iter().zip(&g.sums) {
                if let Some(v) = salespulse_kpi::kpi_value(kpi, acc).as_f64() {
                    status
                        .kpi
                        .with_label_values(&[kpi.as_str(), window, team, role, region])
                        .set(v);
                }
            }
        }
    }
    set_score_histogram(status, &groups);
}

/// The score histogram by (team, role): regions added up, buckets made cumulative.
fn set_score_histogram(status: &Status, groups: &HashMap<(String, String, String), Group>) {
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
    status.score_bucket.reset();
    status.score_count.reset();
    status.score_sum.reset();
    for ((team, role), (sum, hist)) in by_team_role {
        let mut cumulative = 0u64;
        for (i, n) in hist.iter().enumerate() {
            cumulative += n;
            let le = SCORE_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            status
                .score_bucket
                .with_label_values(&[team, role, &le])
                .set(cumulative as f64);
        }
        status
            .score_count
            .with_label_values(&[team, role])
            .set(cumulative as f64);
        status.score_sum.with_label_values(&[team, role]).set(sum);
    }
}

/// The per-rep series exported for one rep.
struct Series {
    partition: i32,
    team: String,
    role: String,
    /// (kpi, window) of each attainment series.
    components: Vec<(&'static str, String)>,
}

impl Series {
    fn remove(&self, status: &Status, rep: &str) {
        let _ = status
            .rep_score
            .remove_label_values(&[rep, &self.team, &self.role]);
        for (kpi, window) in &self.components {
            let _ = status
                .rep_attainment
                .remove_label_values(&[rep, kpi, window]);
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
    pub(crate) fn observe(&mut self, status: &Status, partition: i32, r: &ScoreRecord) {
        if !self.enabled || r.kind != RecordKind::Score {
            return;
        }
        if !self.admitted.contains_key(&r.rep_id) {
            if self.admitted.len() >= self.limit {
                if self.left_out.insert(r.rep_id.clone(), partition).is_none() {
                    status.rep_series_left_out.set(self.left_out.len() as f64);
                }
                return;
            }
            if self.left_out.remove(&r.rep_id).is_some() {
                status.rep_series_left_out.set(self.left_out.len() as f64);
            }
        } else if let Some(old) = self.admitted.get(&r.rep_id) {
            old.remove(status, &r.rep_id);
        }
        let series = Series {
            partition,
            team: r.team_id.clone().unwrap_or_else(|| "unassigned".into()),
            role: r.role.clone().unwrap_or_else(|| "unassigned".into()),
            components: r
                .components
                .iter()
                .map(|c| (c.kpi, c.window.clone()))
                .collect(),
        };
        if let Some(score) = r.score {
            status
                .rep_score
                .with_label_values(&[&r.rep_id, &series.team, &series.role])
                .set(score);
        }
        for c in &r.components {
            status
                .rep_attainment
                .with_label_values(&[&r.rep_id, c.kpi, &c.window])
                .set(c.attainment);
        }
        self.admitted.insert(r.rep_id.clone(), series);
    }

    /// Drops the series of reps in partitions this instance no longer owns.
    pub(crate) fn forget_partitions(&mut self, status: &Status, owned: impl Fn(i32) -> bool) {
        if !self.enabled {
            return;
        }
        self.admitted.retain(|rep, series| {
            let keep = owned(series.partition);
            if !keep {
                series.remove(status, rep);
            }
            keep
        });
        self.left_out.retain(|_, p| owned(*p));
        status.rep_series_left_out.set(self.left_out.len() as f64);
    }
}
