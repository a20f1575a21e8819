//! `replay --compare CANDIDATE_DIR`: the same events through a second engine
//! configured from the candidate directory, and a report of how each rep's
//! final score, rank within its role and commission would change. The
//! commission compared is the total earned over every statement period the
//! replay covers (each period's latest statement).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use salespulse_model::record::{round6, RecordKind, ScoreRecord};

use salespulse_engine::Emit;
use salespulse_pipeline::{Collected, Pipeline};

/// A rep's statements, by statement period start: (record version, earned).
type Statements = HashMap<(String, String), (u64, f64)>;

/// Keeps the latest statement of each (rep, period) seen in `records`.
fn note(statements: &mut Statements, records: &[ScoreRecord]) {
    for r in records {
        let Some(c) = &r.commission else { continue };
        let key = (r.rep_id.clone(), c.period.start.clone());
        let e = statements.entry(key).or_insert((0, 0.0));
        if r.seq >= e.0 {
            *e = (r.seq, c.earned_to_date);
        }
    }
}

/// The candidate engine and what both sides' statements add up to.
pub struct WhatIf {
    dir: PathBuf,
    candidate: Pipeline,
    base_statements: Statements,
    candidate_statements: Statements,
}

impl WhatIf {
    /// A candidate engine from the config in `dir` (layered on the embedded
    /// defaults like `--config`), over as many partitions as the base.
    pub fn new(dir: &Path, partitions: usize) -> Result<Self> {
        let cfg = crate::config::load(Some(dir))
            .with_context(|| format!("--compare {}", dir.display()))?;
        Ok(WhatIf {
            dir: dir.to_path_buf(),
            candidate: Pipeline::owning_all(cfg, partitions as i32),
            base_statements: Statements::new(),
            candidate_statements: Statements::new(),
        })
    }

    /// Applies one record in the candidate engine too; rejections and
    /// alerts are the base's business.
    pub fn ingest(&mut self, record: &[u8], now_ms: Option<i64>) {
        let mut sink = Collected::default();
        let p = self.candidate.route(record);
        let Ok(_) = self.candidate.ingest(p, record, now_ms, None, &mut sink);
        let Ok(()) = self.candidate.emit(Emit::Summaries, &mut sink);
        note(&mut self.candidate_statements, &sink.records);
    }

    /// Records the base engine emitted.
    pub fn note_base(&mut self, records: &[ScoreRecord]) {
        note(&mut self.base_statements, records);
    }

    /// The report, from the base's final score records.
    pub fn finish(mut self, base_final: &[ScoreRecord]) -> Report {
        note(&mut self.base_statements, base_final);
        let cand_final = super::final_records(&mut self.candidate).records;
        note(&mut self.candidate_statements, &cand_final);
        let base = Side::of(base_final, &self.base_statements);
        let cand = Side::of(&cand_final, &self.candidate_statements);
        report(&self.dir, &base, &cand)
    }
}

/// One rep's final state on one side.
#[derive(Debug, Clone, Serialize)]
pub struct RepSide {
    /// The final score (null when the profile had nothing to score).
    pub score: Option<f64>,
    /// 1 + reps of the same role scoring higher (null without a score).
    pub rank: Option<u32>,
    /// Commission earned over the replay's statement periods.
    pub commission: f64,
    /// `name v<version>` of the profile that scored it.
    pub profile: String,
}

struct Side {
    reps: BTreeMap<String, (Option<String>, String, RepSide)>,
}

impl Side {
    fn of(finals: &[ScoreRecord], statements: &Statements) -> Side {
        let mut earned: HashMap<&str, f64> = HashMap::new();
        for ((rep, _), (_, e)) in statements {
            *earned.entry(rep.as_str()).or_default() += e;
        }
        let mut by_role: HashMap<&str, Vec<f64>> = HashMap::new();
        let scores = finals.iter().filter(|r| r.kind == RecordKind::Score);
        for r in scores.clone() {
            if let Some(s) = r.score {
                by_role.entry(&r.profile.name).or_default().push(s);
            }
        }
        let mut reps = BTreeMap::new();
        for r in scores {
            let rank = r.score.map(|s| {
                let higher = by_role[r.profile.name.as_str()]
                    .iter()
                    .filter(|&&o| o > s)
                    .count();
                higher as u32 + 1
            });
            let side = RepSide {
                score: r.score,
                rank,
                commission: round2(earned.get(r.rep_id.as_str()).copied().unwrap_or(0.0)),
                profile: format!("{} v{}", r.profile.name, r.profile.version),
            };
            let role = r.role.clone().unwrap_or_else(|| r.profile.name.clone());
            reps.insert(r.rep_id.clone(), (r.team_id.clone(), role, side));
        }
        Side { reps }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One rep in the report.
#[derive(Debug, Clone, Serialize)]
pub struct RepChange {
    /// The rep.
    pub rep_id: String,
    /// Its team (base side).
    pub team_id: Option<String>,
    /// Its role (base side).
    pub role: String,
    /// Under the current config.
    pub base: Option<RepSide>,
    /// Under the candidate config.
    pub candidate: Option<RepSide>,
    /// Candidate minus base score (null when either is null).
    pub score_change: Option<f64>,
    /// Places moved up within the role (base rank minus candidate rank).
    pub rank_change: Option<i64>,
    /// Candidate minus base commission.
    pub commission_change: f64,
}

/// A team's or role's totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupChange {
    /// Reps in the group.
    pub reps: usize,
    /// Mean score under the current config (over reps with a score).
    pub mean_score_base: Option<f64>,
    /// Mean score under the candidate.
    pub mean_score_candidate: Option<f64>,
    /// Total commission under the current config.
    pub commission_base: f64,
    /// Total commission under the candidate.
    pub commission_candidate: f64,
    /// Reps who move up within their role.
    pub moved_up: usize,
    /// Reps who move down.
    pub moved_down: usize,
    /// The largest move, in places.
    pub largest_move: i64,
}

/// The what-if report (written as JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The candidate config directory.
    pub candidate: String,
    /// Every rep, by rep_id.
    pub reps: Vec<RepChange>,
    /// Totals by role.
    pub by_role: BTreeMap<String, GroupChange>,
    /// Totals by team (`(none)` for reps without one).
    pub by_team: BTreeMap<String, GroupChange>,
    /// Totals over everyone.
    pub total: GroupChange,
}

fn report(dir: &Path, base: &Side, cand: &Side) -> Report {
    let mut ids: Vec<&String> = base.reps.keys().chain(cand.reps.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut reps = Vec::with_capacity(ids.len());
    for id in ids {
        let b = base.reps.get(id);
        let c = cand.reps.get(id);
        let Some((team, role, _)) = b.or(c) else {
            continue;
        };
        let (bs, cs) = (b.map(|x| x.2.clone()), c.map(|x| x.2.clone()));
        let score_of = |s: &Option<RepSide>| s.as_ref().and_then(|s| s.score);
        let rank_of = |s: &Option<RepSide>| s.as_ref().and_then(|s| s.rank);
        let money = |s: &Option<RepSide>| s.as_ref().map_or(0.0, |s| s.commission);
        reps.push(RepChange {
            rep_id: id.clone(),
            team_id: team.clone(),
            role: role.clone(),
            score_change: score_of(&bs).zip(score_of(&cs)).map(|(b, c)| round6(c - b)),
            rank_change: rank_of(&bs)
                .zip(rank_of(&cs))
                .map(|(b, c)| i64::from(b) - i64::from(c)),
            commission_change: round2(money(&cs) - money(&bs)),
            base: bs,
            candidate: cs,
        });
    }
    let group = |key: &dyn Fn(&RepChange) -> String| {
        let mut m: BTreeMap<String, Vec<&RepChange>> = BTreeMap::new();
        for r in &reps {
            m.entry(key(r)).or_default().push(r);
        }
        m.into_iter()
            .map(|(k, v)| (k, totals(&v)))
            .collect::<BTreeMap<_, _>>()
    };
    let by_role = group(&|r| r.role.clone());
    let by_team = group(&|r| r.team_id.clone().unwrap_or_else(|| "(none)".into()));
    let total = totals(&reps.iter().collect::<Vec<_>>());
    Report {
        candidate: dir.display().to_string(),
        reps,
        by_role,
        by_team,
        total,
    }
}

fn totals(reps: &[&RepChange]) -> GroupChange {
    let mean = |f: &dyn Fn(&RepChange) -> Option<f64>| {
        let v: Vec<f64> = reps.iter().filter_map(|r| f(r)).collect();
        (!v.is_empty()).then(|| round6(v.iter().sum::<f64>() / v.len() as f64))
    };
    let sum = |f: &dyn Fn(&RepChange) -> f64| round2(reps.iter().map(|r| f(r)).sum());
    let moves = || reps.iter().filter_map(|r| r.rank_change);
    GroupChange {
        reps: reps.len(),
        mean_score_base: mean(&|r| r.base.as_ref().and_then(|s| s.score)),
        mean_score_candidate: mean(&|r| r.candidate.as_ref().and_then(|s| s.score)),
        commission_base: sum(&|r| r.base.as_ref().map_or(0.0, |s| s.commission)),
        commission_candidate: sum(&|r| r.candidate.as_ref().map_or(0.0, |s| s.commission)),
        moved_up: moves().filter(|&m| m > 0).count(),
        moved_down: moves().filter(|&m| m < 0).count(),
        largest_move: moves().map(i64::abs).max().unwrap_or(0),
    }
}

/// Writes the report as JSON to `path`.
pub fn write_report(report: &Report, path: &Path) -> Result<()> {
    let f = std::fs::File::create(path)
        .with_context(|| format!("creating --report {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    serde_json::to_writer_pretty(&mut w, report)?;
    std::io::Write::write_all(&mut w, b"\n")?;
    std::io::Write::flush(&mut w)?;
    Ok(())
}

/// The readable tables: by role, by team, then the `top` reps whose
/// score or commission changes most.
pub fn render(report: &Report, top: usize) -> String {
    let mut s = format!("What-if: current config vs {}\n", report.candidate);
    for (title, groups) in [("role", &report.by_role), ("team", &report.by_team)] {
        s += &format!(
            "\n{:<14} {:>5} {:>9} {:>9} {:>8} {:>13} {:>13} {:>12} {:>4} {:>4}\n",
            title, "reps", "score", "cand", "change", "commission", "cand", "change", "up", "down"
        );
        let mut rows: Vec<(&String, &GroupChange)> = groups.iter().collect();
        let all = "(all)".to_string();
        rows.push((&all, &report.total));
        for (name, g) in rows {
            s += &format!(
                "{:<14} {:>5} {:>9} {:>9} {:>8} {:>13.2} {:>13.2} {:>+12.2} {:>4} {:>4}\n",
                name,
                g.reps,
                opt(g.mean_score_base),
                opt(g.mean_score_candidate),
                change(g.mean_score_base, g.mean_score_candidate),
                g.commission_base,
                g.commission_candidate,
                g.commission_candidate - g.commission_base,
                g.moved_up,
                g.moved_down,
            );
        }
    }
    let mut movers: Vec<&RepChange> = report.reps.iter().collect();
    movers.sort_by(|a, b| {
        let key = |r: &RepChange| {
            (
                r.score_change.unwrap_or(0.0).abs(),
                r.commission_change.abs(),
            )
        };
        key(b)
            .partial_cmp(&key(a))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.rep_id.cmp(&b.rep_id))
    });
    s += &format!(
        "\n{:<12} {:<10} {:<10} {:>7} {:>7} {:>8} {:>9} {:>12}\n",
        "rep", "team", "role", "score", "cand", "change", "rank", "commission"
    );
    for r in movers.iter().take(top) {
        let b = r.base.as_ref();
        let c = r.candidate.as_ref();
        let rank = match (b.and_then(|x| x.rank), c.and_then(|x| x.rank)) {
            (Some(x), Some(y)) => format!("{x}->{y}"),
            _ => "-".into(),
        };
        s += &format!(
            "{:<12} {:<10} {:<10} {:>7} {:>7} {:>8} {:>9} {:>+12.2}\n",
            r.rep_id,
            r.team_id.as_deref().unwrap_or("-"),
            r.role,
            opt(b.and_then(|x| x.score)),
            opt(c.and_then(|x| x.score)),
            change(b.and_then(|x| x.score), c.and_then(|x| x.score)),
            rank,
            r.commission_change,
        );
    }
    if report.reps.len() > top {
        s += &format!(
            "({} more reps in the JSON report)\n",
            report.reps.len() - top
        );
    }
    s
}

fn opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.1}"))
}

fn change(a: Option<f64>, b: Option<f64>) -> String {
    a.zip(b)
        .map_or("-".into(), |(a, b)| format!("{:+.1}", b - a))
}
