//! Live, against the test broker: a partition that receives nothing has its
//! stream time moved from the wall clock, so its silent rep's inactivity
//! alert fires while another partition keeps receiving events; every move
//! is recorded on `salespulse.clock`, and `replay --clock` over the input
//! and those records raises the same alerts (docs/windows.md).

mod support;

use std::time::{Duration, Instant};

use salespulse_model::Timestamp;
use serde_json::Value;

use support::read_topic;
use support::run::*;

const PARTITIONS: i32 = 2;

/// A rep id whose records go to partition `p`.
fn rep_on(p: i32) -> String {
    (0..)
        .map(|i| format!("rep-{i:03}"))
        .find(|r| salespulse_pipeline::partition_for(r.as_bytes(), PARTITIONS) == p)
        .expect("a rep")
}

fn call(rep: &str, t: i64) -> String {
    let at = Timestamp(t).to_rfc3339();
    format!(
        r#"{{"event_id":"{rep}-{t}","type":"activity.call","occurred_at":"{at}","rep_id":"{rep}"}}"#
    )
}

/// The firing and resolved alerts of `rep` (whole records).
fn alerts_of(records: impl Iterator<Item = Value>, rep: &str) -> Vec<Value> {
    records.filter(|a| a["rep_id"] == rep).collect()
}

#[test]
#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
fn an_idle_partitions_silent_rep_is_alerted_and_the_recorded_clock_replays_it() {
    let (broker, http, cfg) = broker_with_topics("idle-clock", PARTITIONS, "");
    // Every hour is working time, an hour without activity is inactivity,
    // and a partition idle for 2 s moves to the wall clock.
    std::fs::write(
        cfg.join("zz-idle.toml"),
        "[service]\nidle_after = \"2s\"\nallowed_lateness = \"0s\"\n\
         [detect.calendar]\nworking_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
         working_hours = \"00:00-24:00\"\n[detect.inactivity]\nworking_hours = 1.0\n",
    )
    .unwrap();
    let (quiet, busy) = (rep_on(0), rep_on(1));
    let now = Timestamp::wall_now().millis();
    // Both call every 5 minutes for an hour, from three hours ago; then
    // the quiet rep's partition receives nothing, the busy rep's more.
    let mut lines: Vec<String> = (0..12)
        .flat_map(|i| {
            let t = now - 3 * 3_600_000 + i * 300_000;
            [call(&quiet, t), call(&busy, t + 1)]
        })
        .collect();
    let run = run_over(&broker.addr, &cfg, &http, &lines);
    // The quiet rep's partition has nothing more from here.
    let idle_since = Instant::now();
    // The busy rep's partition keeps receiving events meanwhile.
    let live: Vec<String> = (0..20)
        .map(|i| call(&busy, Timestamp::wall_now().millis() - 60_000 + i))
        .collect();
    let producing = support::fault::produce_paced(&broker.addr, live.clone(), 2.0);
    lines.extend(live);
    // The quiet rep's inactivity, raised by a clock move alone.
    let deadline = Instant::now() + Duration::from_secs(60);
    let fired = loop {
        let alerts = read_topic(&broker.addr, "salespulse.alerts", PARTITIONS);
        let mine = alerts_of(
            alerts
                .iter()
                .filter_map(|(_, p, _)| serde_json::from_slice(p).ok()),
            &quiet,
        );
        if mine.iter().any(|a| a["kind"] == "inactivity") {
            break idle_since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "no inactivity alert for {quiet}: {mine:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    producing.join().expect("producer");
    wait_processed(&http, lines.len() as f64);
    // idle_after (2 s) and the next emit cycle; the rest is slack for a
    // busy machine (without the clock it would never fire).
    assert!(
        fired < Duration::from_secs(20),
        "inactivity only after {fired:?}"
    );
    let log = stop(run);
    let clock = read_topic(&broker.addr, "salespulse.clock", PARTITIONS);
    assert!(!clock.is_empty(), "no clock move recorded\n{log}");
    eprintln!("inactivity after {fired:?}; {} clock moves", clock.len());

    // Replay of the input, in the order produced, and the recorded clock.
    let dir = support::scratch::scratch("idle-clock-replay");
    let events = dir.join("events.ndjson");
    std::fs::write(&events, lines.join("\n")).unwrap();
    let moves: Vec<String> = clock
        .iter()
        .map(|(_, p, _)| String::from_utf8(p.clone()).unwrap())
        .collect();
    let clock_file = dir.join("clock.ndjson");
    std::fs::write(&clock_file, moves.join("\n")).unwrap();
    let replayed = dir.join("alerts.ndjson");
    ok(salespulse(&[
        "replay",
        "--events",
        events.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--partitions",
        &PARTITIONS.to_string(),
        "--clock",
        clock_file.to_str().unwrap(),
        "--out",
        "/dev/null",
        "--alerts",
        replayed.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&replayed).unwrap();
    let replay_alerts = alerts_of(
        text.lines().map(|l| serde_json::from_str(l).unwrap()),
        &quiet,
    );
    let live_alerts = alerts_of(
        read_topic(&broker.addr, "salespulse.alerts", PARTITIONS)
            .iter()
            .filter_map(|(_, p, _)| serde_json::from_slice(p).ok()),
        &quiet,
    );
    assert!(live_alerts.iter().any(|a| a["kind"] == "inactivity"));
    assert_eq!(live_alerts, replay_alerts);
}
