//! `replay --compare`: the what-if report must equal what two separate
//! replays (current config, candidate config) say about every rep.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn salespulse(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args(args)
        .output()
        .expect("run salespulse");
    assert!(
        o.status.success(),
        "salespulse {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[path = "support/scratch.rs"]
mod scratch;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A candidate that reweights the direct role and pays inside reps more.
const CANDIDATE: &str = r#"
[profiles.direct]
version = 2
components = [
  { kpi = "revenue",          window = "month", target = 40000, weight = 0.50 },
  { kpi = "new_customers",    window = "month", target = 2,     weight = 0.20 },
  { kpi = "meetings",         window = "7d",    target = 12,    weight = 0.30 },
]

[profiles.inside.commission]
tiers = [{ from = 0.0, rate = 0.07 }, { from = 1.0, rate = 0.10 }]
"#;

/// What one plain replay says: rep -> (role, score, rank in role, commission).
type Expected = BTreeMap<String, (String, Option<f64>, Option<u32>, f64)>;

/// Reads the output of a plain `replay` (period summaries, then each rep's
/// final score record, and its `--statements` file) and derives each rep's
/// final score, its rank within the role and the commission over every
/// statement period (each period's latest statement).
fn from_plain_replay(out: &Path) -> Expected {
    let text = std::fs::read_to_string(out).unwrap();
    let mut last: HashMap<String, Value> = HashMap::new();
    let mut statements: HashMap<String, (u64, f64)> = HashMap::new();
    let sent = std::fs::read_to_string(out.with_extension("statements")).unwrap();
    for line in sent.lines() {
        let c: Value = serde_json::from_str(line).unwrap();
        let seq = c["seq"].as_u64().unwrap();
        let e = statements
            .entry(c["key"].as_str().unwrap().to_string())
            .or_insert((0, 0.0));
        if seq >= e.0 {
            let earned = c["earned_to_date"].as_str().unwrap().parse().unwrap();
            *e = (seq, earned);
        }
    }
    for line in text.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let rep = r["rep_id"].as_str().unwrap().to_string();
        let version = r["seq"].as_u64().unwrap();
        if r["schema"] == "score/2" {
            let newer = last
                .get(&rep)
                .is_none_or(|o| o["seq"].as_u64().unwrap() < version);
            if newer {
                last.insert(rep, r);
            }
        }
    }
    let role_of = |r: &Value| r["profile"]["name"].as_str().unwrap().to_string();
    let mut out = Expected::new();
    for (rep, r) in &last {
        let score = r["score"].as_f64();
        let rank = score.map(|s| {
            let higher = last
                .values()
                .filter(|o| role_of(o) == role_of(r) && o["score"].as_f64().is_some_and(|x| x > s))
                .count();
            higher as u32 + 1
        });
        let earned: f64 = statements
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix(rep.as_str())
                    .is_some_and(|k| k.starts_with('/'))
            })
            .map(|(_, (_, e))| e)
            .sum();
        out.insert(rep.clone(), (role_of(r), score, rank, earned));
    }
    out
}

fn side(v: &Value) -> (Option<f64>, Option<u32>, f64) {
    (
        v["score"].as_f64(),
        v["rank"].as_u64().map(|r| r as u32),
        v["commission"].as_f64().unwrap(),
    )
}

/// A scratch directory with generated events and a candidate config dir
/// holding `candidate_toml`; then `replay --compare` into report.json with
/// `extra` arguments. Returns (dir, events, candidate dir, report, stdout).
fn compare(
    name: &str,
    loadgen: &[&str],
    candidate_toml: &str,
    extra: &[&str],
) -> (scratch::Scratch, PathBuf, PathBuf, Value, String) {
    let dir = scratch::scratch(&format!("whatif-{name}"));
    let events = dir.join("events.ndjson");
    let mut args = vec!["loadgen", "--out", p(&events)];
    args.extend_from_slice(loadgen);
    salespulse(&args);
    let cand = dir.join("candidate");
    std::fs::create_dir_all(&cand).unwrap();
    std::fs::write(cand.join("profiles.toml"), candidate_toml).unwrap();
    let report = dir.join("report.json");
    let mut args = vec!["replay", "--events", p(&events), "--compare", p(&cand)];
    args.extend_from_slice(&["--report", p(&report)]);
    args.extend_from_slice(extra);
    let o = salespulse(&args);
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let table = String::from_utf8(o.stdout).unwrap();
    (dir, events, cand, r, table)
}

#[test]
fn report_equals_two_separate_replays() {
    let (dir, events, cand, r, table) = compare(
        "two",
        &["--reps", "80", "--days", "40", "--seed", "9"],
        CANDIDATE,
        &[],
    );
    assert!(
        table.contains("What-if") && table.contains("direct"),
        "{table}"
    );

    let base_out = dir.join("base.ndjson");
    let statements = |out: &Path| out.with_extension("statements");
    let base_st = statements(&base_out);
    salespulse(&[
        "replay",
        "--events",
        p(&events),
        "--out",
        p(&base_out),
        "--statements",
        p(&base_st),
    ]);
    let cand_out = dir.join("cand.ndjson");
    salespulse(&[
        "replay",
        "--events",
        p(&events),
        "--config",
        p(&cand),
        "--out",
        p(&cand_out),
        "--statements",
        p(&statements(&cand_out)),
    ]);
    let base = from_plain_replay(&base_out);
    let candidate = from_plain_replay(&cand_out);

    let reps = r["reps"].as_array().unwrap();
    assert_eq!(reps.len(), base.len());
    let (mut score_moves, mut pay_moves) = (0, 0);
    for rep in reps {
        let id = rep["rep_id"].as_str().unwrap();
        let (role, bs, br, bc) = &base[id];
        let (_, cs, cr, cc) = &candidate[id];
        assert_eq!(rep["role"].as_str(), Some(role.as_str()), "{id}");
        let (rs, rr, rc) = side(&rep["base"]);
        assert_eq!((rs, rr), (*bs, *br), "{id} base");
        assert!((rc - bc).abs() < 0.006, "{id} base commission {rc} vs {bc}");
        let (rs, rr, rc) = side(&rep["candidate"]);
        assert_eq!((rs, rr), (*cs, *cr), "{id} candidate");
        assert!(
            (rc - cc).abs() < 0.006,
            "{id} candidate commission {rc} vs {cc}"
        );
        let change = rep["score_change"].as_f64().unwrap();
        assert!((change - (cs.unwrap() - bs.unwrap())).abs() < 1e-5, "{id}");
        score_moves += usize::from(change != 0.0);
        pay_moves += usize::from(rep["commission_change"].as_f64().unwrap() != 0.0);
        if role == "channel" {
            assert_eq!(change, 0.0, "{id}: channel's profile is unchanged");
        }
    }
    // The candidate changes something for direct and inside reps.
    assert!(
        score_moves > 10 && pay_moves > 5,
        "{score_moves} {pay_moves}"
    );
    let inside = &r["by_role"]["inside"];
    assert!(inside["commission_candidate"].as_f64() > inside["commission_base"].as_f64());
    let total: f64 = reps
        .iter()
        .map(|x| x["base"]["commission"].as_f64().unwrap())
        .sum();
    assert!((r["total"]["commission_base"].as_f64().unwrap() - total).abs() < 0.01);
}

#[test]
fn identical_candidate_changes_nothing() {
    let (_, _, _, r, _) = compare(
        "same",
        &["--reps", "20", "--days", "10"],
        "",
        &["--partitions", "3"],
    );
    let reps = r["reps"].as_array().unwrap();
    assert_eq!(reps.len(), 20);
    for rep in reps {
        assert_eq!(rep["score_change"].as_f64(), Some(0.0), "{rep}");
        assert_eq!(rep["rank_change"].as_i64(), Some(0), "{rep}");
        assert_eq!(rep["commission_change"].as_f64(), Some(0.0), "{rep}");
    }
    assert_eq!(r["total"]["moved_up"], 0);
}
