//! `rank_change` alerts against a real broker (Tansu): every rep's score at
//! each working-day close travels in its score records, the instance that
//! owns partition 0 ranks the company at each close and publishes the moves,
//! and the same moves follow from a replay's records.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use support::run::*;
use support::{http_get, metric, read_topic};

type Move = (String, String, u64, u64); // rep, close, old rank, new rank

/// The moves of at least `min` places between consecutive closes, from
/// score records: each rep's `day_close` ranked within its profile.
fn moves_from(records: &[Value], min: u64) -> (Vec<String>, BTreeSet<Move>) {
    let mut closes: BTreeMap<String, BTreeMap<String, (String, f64)>> = BTreeMap::new();
    for r in records {
        if r["schema"] != "score/2" || r["day_close"].is_null() {
            continue;
        }
        let close = r["day_close"]["as_of"].as_str().unwrap().to_string();
        let rep = r["rep_id"].as_str().unwrap().to_string();
        let entry = (
            r["profile"]["name"].as_str().unwrap().to_string(),
            r["day_close"]["score"].as_f64().unwrap(),
        );
        closes.entry(close).or_default().insert(rep, entry);
    }
    let rank = |reps: &BTreeMap<String, (String, f64)>| -> BTreeMap<String, (String, u64)> {
        reps.iter()
            .map(|(rep, (role, s))| {
                let higher = reps.values().filter(|(r, o)| r == role && o > s).count();
                (rep.clone(), (role.clone(), higher as u64 + 1))
            })
            .collect()
    };
    let names: Vec<String> = closes.keys().cloned().collect();
    let mut moves = BTreeSet::new();
    for pair in names.windows(2) {
        let (before, after) = (rank(&closes[&pair[0]]), rank(&closes[&pair[1]]));
        for (rep, (role, new)) in &after {
            if let Some((r, old)) = before.get(rep) {
                if r == role && old.abs_diff(*new) >= min {
                    moves.insert((rep.clone(), pair[1].clone(), *old, *new));
                }
            }
        }
    }
    (names, moves)
}

/// The moves of the firing `rank_change` alerts among `alerts`.
fn firing_moves(alerts: impl Iterator<Item = Value>) -> BTreeSet<Move> {
    alerts
        .filter(|a| a["kind"] == "rank_change" && a["status"] == "firing")
        .map(|a| {
            (
                a["rep_id"].as_str().unwrap().to_string(),
                a["started_at"].as_str().unwrap().to_string(),
                a["baseline"].as_f64().unwrap() as u64,
                a["value"].as_f64().unwrap() as u64,
            )
        })
        .collect()
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn rank_changes_on_the_alert_topic_follow_from_the_score_records() {
    let (broker, http, cfg) = broker_with_topics("ranks", 2, "");
    let (file, lines) = generate(&cfg, &["--reps", "30", "--days", "12", "--seed", "8"]);
    let run = run_over(&broker.addr, &cfg, &http, &lines);
    // The view ranks as records arrive; give the publisher a moment.
    std::thread::sleep(Duration::from_secs(4));
    let metrics = http_get(&http, "/metrics").unwrap().1;
    stop(run);

    let live = firing_moves(
        read_topic(&broker.addr, "salespulse.alerts", 2)
            .iter()
            .map(|(_, p, _)| serde_json::from_slice::<Value>(p).unwrap()),
    );
    let published = metric(
        &metrics,
        "salespulse_alerts_total{kind=\"rank_change\",status=\"firing\"}",
    );
    assert_eq!(published as usize, live.len(), "each move published once");

    let replay_alerts = cfg.join("alerts.ndjson");
    let out = ok(salespulse(&[
        "replay",
        "--events",
        file.to_str().unwrap(),
        "--partitions",
        "2",
        "--emit",
        "all",
        "--alerts",
        replay_alerts.to_str().unwrap(),
    ]));
    let records: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let (closes, offline) = moves_from(&records, 3);
    assert!(closes.len() >= 5, "{closes:?}");
    // Every close but the last is complete once both partitions moved past
    // it; the last may still wait for more events.
    let last = closes.last().unwrap();
    let settled: BTreeSet<Move> = offline.iter().filter(|m| &m.1 != last).cloned().collect();
    assert!(!settled.is_empty(), "the data has rank changes");
    assert!(
        live.is_subset(&offline),
        "live {live:?}\noffline {offline:?}"
    );
    assert!(
        settled.is_subset(&live),
        "missing {:?}",
        settled.difference(&live).collect::<Vec<_>>()
    );
    // Replay's own alerts agree with the independent computation.
    let replayed = firing_moves(
        std::fs::read_to_string(&replay_alerts)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
    );
    assert!(replayed.is_subset(&offline), "replay {replayed:?}");
    assert!(settled.is_subset(&replayed), "replay {replayed:?}");
}
