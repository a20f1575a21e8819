//! Assist credits routed between engines (the live service's path through
//! the by-rep topic) give the same results as one engine applying them at
//! once (replay), however late they arrive and however often.

mod common;

use std::collections::VecDeque;

use proptest::prelude::*;

use salespulse_engine::{Credit, CreditOutcome, Emit, Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};
use salespulse_model::record::{RecordKind, ScoreRecord};

fn engine() -> Engine {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "assists", "window": "month", "target": 10, "weight": 1}]}}}"#,
    )
    .unwrap();
    Engine::new(EngineConfig::new(&s).unwrap())
}

fn events(seed: u64) -> Vec<String> {
    Generator::new(Options {
        reps: 40,
        days: 45,
        seed,
        out_of_order: 0.05,
        duplicates: 0.02,
        ..Options::default()
    })
    .collect()
}

/// Score records as JSON without `version`, which counts emissions and so
/// depends on when a credit arrived.
fn comparable(records: Vec<ScoreRecord>) -> Vec<serde_json::Value> {
    records
        .into_iter()
        .filter(|r| r.kind == RecordKind::Score)
        .map(|r| {
            let mut v = serde_json::to_value(&r).unwrap();
            v.as_object_mut().unwrap().remove("seq");
            v
        })
        .collect()
}

/// Asserts equal record lists, naming the first rep and field that differ.
fn assert_same(got: Vec<serde_json::Value>, want: Vec<serde_json::Value>) {
    assert_eq!(got.len(), want.len(), "record count");
    for (g, w) in got.iter().zip(&want) {
        if g == w {
            continue;
        }
        let (g, w) = (g.as_object().unwrap(), w.as_object().unwrap());
        for (k, wv) in w {
            assert_eq!(g.get(k), Some(wv), "rep {} field {k}", w["rep_id"]);
        }
    }
}

fn direct(lines: &[String]) -> Engine {
    let mut e = engine();
    for l in lines {
        let _ = e.ingest(l.as_bytes(), None);
    }
    e
}

#[test]
fn credits_routed_late_and_twice_equal_credits_applied_at_once() {
    let lines = events(5);
    let mut want = direct(&lines);
    assert!(
        common::drive::final_scores(&mut want).iter().any(|r| r
            .kpis
            .rows()
            .any(|(k, row)| k == "assists"
                && row.iter().any(|v| v.is_some_and(|n| n.as_f64() > 0.0)))),
        "the generator produces assists"
    );
    let mut e = engine();
    e.set_route_credits(true);
    let mut transit: VecDeque<(usize, Credit)> = VecDeque::new();
    let mut routed = 0;
    let mut outcomes = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let _ = e.ingest(l.as_bytes(), None);
        for c in common::drive::credits(&mut e) {
            // Every credit is delivered twice (at-least-once transport).
            transit.push_back((i, c.clone()));
            transit.push_back((i, c));
            routed += 1;
        }
        // Credits arrive 40 events after the win that made them.
        while transit.front().is_some_and(|(at, _)| i - at >= 40) {
            let (_, c) = transit.pop_front().unwrap();
            outcomes.push(e.apply_credit(&c));
        }
    }
    for (_, c) in transit {
        outcomes.push(e.apply_credit(&c));
    }
    assert!(routed > 10, "{routed} credits routed");
    assert!(outcomes.contains(&CreditOutcome::Duplicate));
    assert_same(
        comparable(common::drive::final_scores(&mut e)),
        comparable(common::drive::final_scores(&mut want)),
    );
}

/// Every KPI's quarter value, by KPI name.
type QuarterRow = Vec<(String, Option<f64>)>;

#[test]
fn credits_cross_partitions_to_the_helpers_owner() {
    // Two engines own the reps by a hash of rep_id, as two partitions do;
    // credits go to the helper's owner. Each rep's record from its owner
    // carries the same per-period totals as one engine over everything
    // (rolling windows end at each partition's own stream time, so they are
    // compared through the calendar quarter, which both partitions share).
    let lines = events(9);
    let owner = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let rep = v["rep_id"].as_str()?.to_string();
        Some((salespulse_engine::stable_hash(&rep) % 2) as usize)
    };
    let mut parts = [engine(), engine()];
    for p in &mut parts {
        p.set_route_credits(true);
    }
    for l in &lines {
        let Some(i) = owner(l) else { continue };
        let _ = parts[i].ingest(l.as_bytes(), None);
        for c in common::drive::credits(&mut parts[i]) {
            let to = (salespulse_engine::stable_hash(&c.rep_id) % 2) as usize;
            parts[to].apply_credit(&c);
        }
    }
    let quarter = |records: Vec<ScoreRecord>| {
        let mut out: Vec<(String, QuarterRow)> = records
            .into_iter()
            .map(|r| {
                let q = r.kpis.windows().iter().position(|w| &**w == "quarter");
                let row = r
                    .kpis
                    .rows()
                    .map(|(k, row)| (k.to_string(), row[q.unwrap()].map(|n| n.as_f64())))
                    .collect();
                (r.rep_id.to_string(), row)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    let mut got: Vec<ScoreRecord> = Vec::new();
    for p in &mut parts {
        got.extend(common::drive::final_scores(p));
    }
    let want = quarter(common::drive::final_scores(&mut direct(&lines)));
    assert_eq!(quarter(got), want);
}

#[test]
fn partitions_consumed_far_apart_give_the_same_records_as_in_step() {
    // Live, partitions are consumed at their own pace (a backfill may finish
    // one before another starts); credits then reach a helper's partition
    // long before or after its own events of that time. Credits never move
    // stream time, and ones ahead of it wait, so every record is the same
    // as when the partitions advance in step.
    let lines = events(13);
    let part = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        Some((salespulse_engine::stable_hash(v["rep_id"].as_str()?) % 2) as usize)
    };
    let run = |order: Vec<&String>| {
        let mut parts = [engine(), engine()];
        for p in &mut parts {
            p.set_route_credits(true);
        }
        let mut outcomes = Vec::new();
        for l in order {
            let Some(i) = part(l) else { continue };
            let _ = parts[i].ingest(l.as_bytes(), None);
            for c in common::drive::credits(&mut parts[i]) {
                let to = (salespulse_engine::stable_hash(&c.rep_id) % 2) as usize;
                outcomes.push(parts[to].apply_credit(&c));
            }
        }
        let mut all = Vec::new();
        for p in &mut parts {
            all.extend(common::drive::final_scores(p));
        }
        all.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
        (comparable(all), outcomes)
    };
    let (in_step, _) = run(lines.iter().collect());
    // Partition 1 entirely first, then partition 0.
    let mut apart: Vec<&String> = lines.iter().filter(|l| part(l) == Some(1)).collect();
    apart.extend(lines.iter().filter(|l| part(l) != Some(1)));
    let (far_apart, outcomes) = run(apart);
    assert!(
        outcomes.contains(&CreditOutcome::Deferred),
        "some credits arrived ahead of their helper's partition"
    );
    assert_same(far_apart, in_step);
}

/// Routes the credits of `lines` through a transport that delivers each
/// twice, `lag` records after the win, to the engine that owns the helper
/// (`owner` of a rep id, out of `parts` engines), consuming the lines in
/// `order`. Returns each rep's final record from its owner, and the outcomes.
fn routed(
    lines: &[String],
    order: &[usize],
    parts: usize,
    lag: usize,
) -> (Vec<serde_json::Value>, Vec<CreditOutcome>) {
    let owner = |rep: &str| (salespulse_engine::stable_hash(rep) % parts as u64) as usize;
    let line_owner = |l: &str| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        Some(owner(v["rep_id"].as_str()?))
    };
    let mut engines: Vec<Engine> = (0..parts).map(|_| common::engine()).collect();
    for e in &mut engines {
        e.set_route_credits(true);
    }
    let mut transit: VecDeque<(usize, Credit)> = VecDeque::new();
    let mut outcomes = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let Some(p) = line_owner(&lines[i]) else {
            continue;
        };
        let _ = engines[p].ingest(lines[i].as_bytes(), None);
        // As replay and the service do: summaries go out as they fall due
        // (writing one notes the period in the rep's history).
        engines[p].flush(Emit::Summaries);
        for c in engines[p].drain().credits() {
            transit.push_back((n, c.clone()));
            transit.push_back((n, c));
        }
        while transit.front().is_some_and(|(at, _)| n - at >= lag) {
            let (_, c) = transit.pop_front().unwrap();
            let to = owner(&c.rep_id);
            outcomes.push(engines[to].apply_credit(&c));
            let _ = common::drive::summaries_due(&mut engines[to]);
        }
    }
    for (_, c) in transit {
        let to = owner(&c.rep_id);
        outcomes.push(engines[to].apply_credit(&c));
        let _ = common::drive::summaries_due(&mut engines[to]);
    }
    let mut all: Vec<ScoreRecord> = engines
        .iter_mut()
        .flat_map(common::drive::final_scores)
        .collect();
    all.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    (without_peers(comparable(all)), outcomes)
}

/// Records without what is judged against peers at working-day closes: a
/// rep known only through credits joins its role's peers when its first
/// credit arrives, so a credit in transit over a close changes who the
/// peers were (peer judgments across partitions: docs/coaching.md).
fn without_peers(mut records: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    for r in &mut records {
        if let Some(o) = r.as_object_mut() {
            o.remove("coaching");
            o.remove("day_close");
        }
    }
    records
}

/// The first rep and value (as a JSON path) where two record lists differ, if any.
fn first_difference(got: &[serde_json::Value], want: &[serde_json::Value]) -> Option<String> {
    fn leaf(path: String, g: &serde_json::Value, w: &serde_json::Value) -> Option<String> {
        use serde_json::Value::{Array, Object};
        match (g, w) {
            _ if g == w => None,
            (Object(a), Object(b)) => b
                .iter()
                .find_map(|(k, v)| {
                    leaf(
                        format!("{path}.{k}"),
                        a.get(k).unwrap_or(&serde_json::Value::Null),
                        v,
                    )
                })
                .or_else(|| {
                    Some(format!(
                        "{path}: keys {:?} want {:?}",
                        a.keys().collect::<Vec<_>>(),
                        b.keys().collect::<Vec<_>>()
                    ))
                }),
            (Array(a), Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| leaf(format!("{path}[{i}]"), x, y)),
            _ => Some(format!("{path}: {g} want {w}")),
        }
    }
    if got.len() != want.len() {
        return Some(format!("{} records, want {}", got.len(), want.len()));
    }
    got.iter()
        .zip(want)
        .find_map(|(g, w)| leaf(format!("rep {}", w["rep_id"]), g, w))
}

proptest! {
    // Cases where the transport or the partitions' distance dropped a
    // credit as too late are skipped (documented to differ): about half.
    #![proptest_config(ProptestConfig { cases: 64, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// Under the arrival patterns of real connectors (outages and bursts,
    /// backfills, retries, stragglers), credits routed late and twice give
    /// the records of credits applied at once; and two partitions consumed
    /// far apart give the records of the same partitions consumed in step.
    #[test]
    fn credits_under_delivery_patterns(s in common::delivery::scenario(1..200), lag in 0usize..8) {
        let lines: Vec<String> = s
            .deliveries()
            .iter()
            .map(|(id, spec)| common::stream::line(*id, spec))
            .collect();
        let in_order: Vec<usize> = (0..lines.len()).collect();
        let mut direct = common::engine();
        for l in &lines {
            let _ = direct.ingest(l.as_bytes(), None);
            let _ = common::drive::summaries_due(&mut direct);
        }
        let (got, outcomes) = routed(&lines, &in_order, 1, lag);
        // A credit can only differ when the transport held it until its time was no longer kept.
        prop_assume!(!outcomes.contains(&CreditOutcome::TooLate));
        let want = without_peers(comparable(common::drive::final_scores(&mut direct)));
        prop_assert_eq!(first_difference(&got, &want), None, "routed vs direct");
        let (in_step, in_step_outcomes) = routed(&lines, &in_order, 2, 0);
        let part = |i: &usize| {
            serde_json::from_str::<serde_json::Value>(&lines[*i])
                .ok()
                .and_then(|v| v["rep_id"].as_str().map(|r| salespulse_engine::stable_hash(r) % 2))
        };
        let mut apart: Vec<usize> = in_order.iter().copied().filter(|i| part(i) == Some(1)).collect();
        apart.extend(in_order.iter().copied().filter(|i| part(i) != Some(1)));
        let (far_apart, outcomes) = routed(&lines, &apart, 2, 0);
        // docs/topics.md: a credit older than everything its helper's
        // partition still keeps is dropped, so far apart can then differ.
        prop_assume!(!outcomes.contains(&CreditOutcome::TooLate));
        prop_assume!(!in_step_outcomes.contains(&CreditOutcome::TooLate));
        prop_assert_eq!(first_difference(&far_apart, &in_step), None, "far apart vs in step");
    }
}
