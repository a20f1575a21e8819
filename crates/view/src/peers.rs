//! Company-wide peer view over the latest score record of every rep (the
//! score topic's view, so every instance answers the same whatever
//! partitions it owns): a rep's percentile within its role (score and each
//! component), its rank in role, team and company; team rollups with the
//! quota-weighted team score and summed KPIs; the manager hierarchy from
//! the directory's `manager_id`.

use std::collections::{BTreeMap, BTreeSet};

use salespulse_model::record::{round6, Amount, KpiTable, Num, ScoreRecord};
use salespulse_model::{rank, KpiName};
use serde_json::{json, Value};

use crate::Rec;

/// [`rank::percentile`] of `x` among `values` (which hold `x`), rounded
/// as every number in a record is.
pub fn percentile(values: &[f64], x: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    round6(rank::percentile(&sorted, x))
}

/// The role a record was scored in: the profile that scored it.
fn role(r: &ScoreRecord) -> &str {
    &r.profile.name
}

/// 1 + how many of `group` score higher than `s`, and the group's size (over scored reps).
fn rank<'a>(group: impl Iterator<Item = &'a Rec>, s: f64) -> Value {
    let scores: Vec<f64> = group.filter_map(|o| o.score).collect();
    let higher = scores.iter().filter(|&&o| o > s).count();
    json!({"rank": higher + 1, "of": scores.len()})
}

/// The component's attainment in a record, by KPI and window.
fn attainment(r: &ScoreRecord, kpi: &str, window: &str) -> Option<f64> {
    r.components
        .iter()
        .find(|c| c.kpi == kpi && *c.window == *window)
        .map(|c| c.attainment)
}

/// `rep`'s standing among `all`: percentile of its score and of each
/// component's attainment within its role (the profile that scored it),
/// and its rank in role, team and company by score. None without a score.
pub fn standing(all: &[Rec], rep: &ScoreRecord) -> Option<Value> {
    let s = rep.score?;
    let same_role: Vec<&Rec> = all.iter().filter(|o| role(o) == role(rep)).collect();
    let role_scores: Vec<f64> = same_role.iter().filter_map(|o| o.score).collect();
    let components: Vec<Value> = rep
        .components
        .iter()
        .map(|c| {
            let peers: Vec<f64> = same_role
                .iter()
                .filter_map(|o| attainment(o, &c.kpi, &c.window))
                .collect();
            json!({"kpi": c.kpi, "window": c.window, "attainment": c.attainment,
                   "percentile": percentile(&peers, c.attainment)})
        })
        .collect();
    let team = rep.team_id.as_deref();
    let mut role_rank = rank(same_role.iter().copied(), s);
    role_rank["percentile"] = json!(percentile(&role_scores, s));
    Some(json!({
        "role": role_rank,
        "team": rank(all.iter().filter(|o| team.is_some() && o.team_id.as_deref() == team), s),
        "company": rank(all.iter(), s),
        "components": components,
    }))
}

/// A member's quota: the target of its `revenue` or `partner_revenue`
/// component with a calendar-period window (the first such), if any.
fn quota(r: &ScoreRecord) -> Option<f64> {
    r.components.iter().find_map(|c| {
        let money = matches!(&*c.kpi, "revenue" | "partner_revenue");
        let period = matches!(&*c.window, "day" | "week" | "month" | "quarter");
        (money && period).then_some(c.target.as_f64())
    })
}

/// What a team's figures are built from, per member: its score, quota and
/// KPI table (now, or as of a closed period).
#[derive(Debug, Clone, Copy)]
pub struct Figures<'a> {
    /// The score.
    pub score: Option<f64>,
    /// The quota (see `quota`), weighting the score in the team score.
    pub quota: Option<f64>,
    /// The KPI values.
    pub kpis: &'a KpiTable,
}

impl<'a> Figures<'a> {
    /// A member's current figures.
    pub fn now(r: &'a ScoreRecord) -> Self {
        Figures::of(r, r.score, &r.kpis)
    }

    /// A member's figures with another score and table (a closed period's),
    /// weighted by its current quota.
    pub fn of(r: &ScoreRecord, score: Option<f64>, kpis: &'a KpiTable) -> Self {
        Figures {
            score,
            quota: quota(r),
            kpis,
        }
    }
}

/// The quota-weighted mean score of `members` (reps with a bigger quota
/// count more; members without a quota count as the mean quota of those
/// with one; equal weights when none has one), and the plain mean.
pub fn team_scores(members: &[Figures<'_>]) -> (Option<f64>, Option<f64>) {
    let scored: Vec<(f64, Option<f64>)> = members
        .iter()
        .filter_map(|m| Some((m.score?, m.quota.filter(|q| *q > 0.0))))
        .collect();
    if scored.is_empty() {
        return (None, None);
    }
    let quotas: Vec<f64> = scored.iter().filter_map(|x| x.1).collect();
    let fill = if quotas.is_empty() {
        1.0
    } else {
        quotas.iter().sum::<f64>() / quotas.len() as f64
    };
    let (mut num, mut den) = (0.0, 0.0);
    for (s, q) in &scored {
        let w = q.unwrap_or(fill);
        num += w * s;
        den += w;
    }
    let mean = scored.iter().map(|x| x.0).sum::<f64>() / scored.len() as f64;
    (Some(round6(num / den)), Some(round6(mean)))
}

/// A team's KPI values by KPI, then window (null where undefined): money
/// as exact amounts, other values as numbers.
pub type TeamKpis = BTreeMap<String, BTreeMap<String, Option<Num>>>;

/// Per KPI, then window: the members' sum as a number, and for money the
/// exact sum (None once members disagree on the minor unit).
type Sums<'a> = BTreeMap<&'a str, BTreeMap<&'a str, (f64, Option<Amount>)>>;

/// Team KPIs by window over `members`' tables: sums of additive KPIs (money
/// summed exactly, in minor units), ratios re-derived from those sums, and
/// the members' mean for `csat`, `nps` and `sales_cycle_days` (their counts
/// are not in the records).
pub fn team_kpis(members: &[Figures<'_>]) -> TeamKpis {
    let mut sums: Sums<'_> = BTreeMap::new();
    let mut means: BTreeMap<&str, BTreeMap<&str, (f64, u32)>> = BTreeMap::new();
    for m in members {
        let windows = m.kpis.windows();
        for (kpi, row) in m.kpis.rows() {
            for (w, v) in windows.iter().zip(row) {
                let Some(v) = v else {
                    continue;
                };
                if KpiName::parse(kpi).is_some_and(KpiName::is_additive) {
                    add(sums.entry(kpi).or_default().entry(w), *v);
                } else if matches!(kpi, "csat" | "nps" | "sales_cycle_days") {
                    let e = means.entry(kpi).or_default().entry(w).or_default();
                    e.0 += v.as_f64();
                    e.1 += 1;
                }
            }
        }
    }
    let mut out: TeamKpis = sums
        .iter()
        .map(|(kpi, ws)| {
            let row = ws.iter().map(|(w, &(x, exact))| {
                let v = exact.map_or(Num::Real(round6(x)), Num::Amount);
                (w.to_string(), Some(v))
            });
            (kpi.to_string(), row.collect())
        })
        .collect();
    derive_ratios(&sums, &mut out);
    for (kpi, ws) in &means {
        let m = ws
            .iter()
            .map(|(w, (s, n))| (w.to_string(), Some(Num::Real(round6(s / f64::from(*n))))));
        out.insert(kpi.to_string(), m.collect());
    }
    out
}

/// The team's ratios, from the sums: win rate, average deal size (an
/// amount), meetings per call, collection rate.
fn derive_ratios(sums: &Sums<'_>, out: &mut TeamKpis) {
    let sum = |kpi: &str, w: &str| sums.get(kpi).and_then(|x| x.get(w)).copied();
    let ratio = |num: &str, den: &str, plus: Option<&str>| -> BTreeMap<String, Option<Num>> {
        let Some(d) = sums.get(den) else {
            return BTreeMap::new();
        };
        d.iter()
            .map(|(w, (dv, _))| {
                let total = dv + plus.and_then(|p| sum(p, w)).map_or(0.0, |s| s.0);
                let n = sum(num, w).unwrap_or_default();
                let value = (total > 0.0).then(|| match n.1 {
                    // Money over a count: an amount, rounded once.
                    Some(m) if plus.is_none() && total.fract() == 0.0 => Num::Amount(Amount {
                        minor: quotient(m.minor, total as i64),
                        exp: m.exp,
                    }),
                    _ => Num::Real(round6(n.0 / total)),
                });
                (w.to_string(), value)
            })
            .collect()
    };
    out.insert(
        "win_rate".into(),
        ratio("deals_won", "deals_won", Some("deals_lost")),
    );
    out.insert("avg_deal_size".into(), ratio("revenue", "deals_won", None));
    out.insert("meetings_per_call".into(), ratio("meetings", "calls", None));
    let rate = |w: &str| {
        let (c, i) = (sum("collected", w)?, sum("invoiced", w)?);
        (i.0 > 0.0).then(|| Num::Real(round6(c.0 / i.0)))
    };
    if let Some(inv) = sums.get("invoiced") {
        let row = inv.keys().map(|w| (w.to_string(), rate(w)));
        out.insert("collection_rate".into(), row.collect());
    }
}

/// Adds one member's value to a sum; an amount to the exact sum too.
fn add(e: std::collections::btree_map::Entry<'_, &str, (f64, Option<Amount>)>, v: Num) {
    let first = matches!(e, std::collections::btree_map::Entry::Vacant(_));
    let s = e.or_insert((0.0, None));
    s.0 += v.as_f64();
    s.1 = match (v, s.1) {
        (Num::Amount(a), None) if first => Some(a),
        (Num::Amount(a), Some(t)) if a.exp == t.exp => Some(Amount {
            minor: t.minor.saturating_add(a.minor),
            exp: t.exp,
        }),
        _ => None,
    };
}

/// `minor / n` rounded half-even (n > 0).
fn quotient(minor: i64, n: i64) -> i64 {
    let q = salespulse_model::money::div_round_half_even(i128::from(minor), i128::from(n.max(1)));
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// One member row of a team or manager answer.
pub fn member_row(r: &ScoreRecord) -> Value {
    json!({"rep_id": r.rep_id, "role": r.role, "team_id": r.team_id, "manager_id": r.manager_id,
           "score": r.score, "as_of": r.as_of, "seq": r.seq})
}

/// The manager `id`'s organisation: direct reports, and the reports of
/// each report that manages others (any depth, each manager once).
pub fn organisation(all: &[Rec], id: &str) -> Option<Value> {
    let mut reports: BTreeMap<&str, Vec<&Rec>> = BTreeMap::new();
    for r in all {
        if let Some(m) = r.manager_id.as_deref() {
            reports.entry(m).or_default().push(r);
        }
    }
    reports.get(id)?;
    let mut seen = BTreeSet::new();
    Some(org_node(&reports, id, &mut seen))
}

fn org_node<'a>(
    reports: &BTreeMap<&'a str, Vec<&'a Rec>>,
    id: &'a str,
    seen: &mut BTreeSet<&'a str>,
) -> Value {
    seen.insert(id);
    let direct = reports.get(id).map(Vec::as_slice).unwrap_or_default();
    let mut everyone: Vec<&Rec> = direct.to_vec();
    let mut managers = Vec::new();
    for r in direct {
        let sub = r.rep_id.as_str();
        if reports.contains_key(sub) && !seen.contains(sub) {
            let node = org_node(reports, sub, seen);
            collect(reports, sub, &mut everyone, &mut BTreeSet::from([id]));
            managers.push(node);
        }
    }
    everyone.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    everyone.dedup_by(|a, b| a.rep_id == b.rep_id);
    let figures: Vec<Figures<'_>> = everyone.iter().map(|r| Figures::now(r)).collect();
    let (team_score, mean_score) = team_scores(&figures);
    let teams: BTreeSet<&str> = everyone
        .iter()
        .filter_map(|r| r.team_id.as_deref())
        .collect();
    let mut direct: Vec<&Rec> = direct.to_vec();
    direct.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    let rows: Vec<Value> = direct.iter().map(|r| member_row(r)).collect();
    json!({"manager_id": id, "direct_reports": rows, "reps_total": everyone.len(),
           "teams": teams, "team_score": team_score, "mean_score": mean_score, "managers": managers})
}

/// Everyone under `id`, at any depth.
fn collect<'a>(
    reports: &BTreeMap<&'a str, Vec<&'a Rec>>,
    id: &'a str,
    out: &mut Vec<&'a Rec>,
    seen: &mut BTreeSet<&'a str>,
) {
    if !seen.insert(id) {
        return;
    }
    for r in reports.get(id).map(Vec::as_slice).unwrap_or_default() {
        out.push(r);
        collect(reports, &r.rep_id, out, seen);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use salespulse_model::record::Num;
    use salespulse_model::KpiName;

    use super::*;
    use crate::sample;

    fn rec(
        rep: &str,
        team: &str,
        role: &str,
        manager: Option<&str>,
        score: f64,
        comps: &[(&'static str, &str, f64, f64)],
    ) -> Rec {
        let mut r = sample::record(rep, team, role, score);
        r.manager_id = manager.map(str::to_string);
        r.components = comps
            .iter()
            .map(|(k, w, t, a)| sample::component(k, w, *t, *a))
            .collect();
        r.kpis = sample::kpis(
            &["month", "30d"],
            &[
                (
                    KpiName::Revenue,
                    "month",
                    Num::Amount(Amount {
                        minor: (score * 10_000.0) as i64,
                        exp: 2,
                    }),
                ),
                (KpiName::DealsWon, "month", Num::Int(2)),
                (KpiName::DealsLost, "month", Num::Int(1)),
                (KpiName::Csat, "30d", Num::Real(score / 20.0)),
            ],
        );
        Arc::new(r)
    }

    fn company() -> Vec<Rec> {
        vec![
            rec(
                "a",
                "t1",
                "direct",
                Some("m1"),
                80.0,
                &[("revenue", "month", 40000.0, 0.8)],
            ),
            rec(
                "b",
                "t1",
                "direct",
                Some("m1"),
                60.0,
                &[("revenue", "month", 20000.0, 0.5)],
            ),
            rec(
                "c",
                "t2",
                "direct",
                Some("m2"),
                60.0,
                &[("revenue", "month", 40000.0, 0.9)],
            ),
            rec(
                "d",
                "t2",
                "inside",
                Some("m2"),
                100.0,
                &[("calls", "day", 30.0, 1.0)],
            ),
            rec(
                "m2",
                "t9",
                "direct",
                Some("m1"),
                40.0,
                &[("revenue", "month", 40000.0, 0.2)],
            ),
        ]
    }

    fn team(all: &[Rec], id: &str) -> Vec<Rec> {
        all.iter()
            .filter(|r| r.team_id.as_deref() == Some(id))
            .cloned()
            .collect()
    }

    fn figures(members: &[Rec]) -> Vec<Figures<'_>> {
        members.iter().map(|r| Figures::now(r)).collect()
    }

    #[test]
    fn standing_in_role_team_and_company() {
        let all = company();
        // b: direct scores 80, 60, 60, 40 -> one lower, one tie: (1 + 0.5) / 3.
        let s = standing(&all, &all[1]).unwrap();
        assert_eq!(s["role"], json!({"rank": 2, "of": 4, "percentile": 50.0}));
        assert_eq!(s["team"], json!({"rank": 2, "of": 2}));
        assert_eq!(s["company"], json!({"rank": 3, "of": 5}));
        // Revenue attainment .5 among .8 .5 .9 .2: one lower -> 1/3.
        assert_eq!(s["components"][0]["percentile"], 33.333333);
        let d = standing(&all, &all[3]).unwrap();
        assert_eq!(d["role"], json!({"rank": 1, "of": 1, "percentile": 100.0}));
        assert_eq!(d["company"]["rank"], 1);
    }

    #[test]
    fn team_score_weights_members_by_quota() {
        let all = company();
        let t1 = team(&all, "t1");
        // (40000 × 80 + 20000 × 60) / 60000 = 73.333333; plain mean 70.
        assert_eq!(team_scores(&figures(&t1)), (Some(73.333333), Some(70.0)));
        // d has no quota: it counts as the mean quota (40000) -> (60 + 100) / 2.
        let t2 = team(&all, "t2");
        assert_eq!(team_scores(&figures(&t2)), (Some(80.0), Some(80.0)));
        let k = team_kpis(&figures(&t1));
        let text = |v: Option<Num>| serde_json::to_string(&v).unwrap();
        assert_eq!(text(k["revenue"]["month"]), "\"14000.00\"");
        assert_eq!(text(k["win_rate"]["month"]), "0.666667");
        assert_eq!(text(k["avg_deal_size"]["month"]), "\"3500.00\"");
        assert_eq!(text(k["csat"]["30d"]), "3.5");
    }

    #[test]
    fn organisation_nests_managers_who_report_to_managers() {
        let all = company();
        let o = organisation(&all, "m1").unwrap();
        let direct: Vec<&str> = o["direct_reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rep_id"].as_str().unwrap())
            .collect();
        assert_eq!(direct, ["a", "b", "m2"]);
        assert_eq!(o["reps_total"], 5, "a, b, m2 and m2's c and d");
        assert_eq!(o["managers"][0]["manager_id"], "m2");
        assert_eq!(o["managers"][0]["reps_total"], 2);
        assert_eq!(o["teams"], json!(["t1", "t2", "t9"]));
        assert!(organisation(&all, "nobody").is_none());
    }
}
