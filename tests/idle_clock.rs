//! Live, against the test broker: a partition that receives nothing has its
//! stream time moved from the wall clock, so its silent rep's inactivity
//! alert fires while another partition keeps receiving events, and a source
//! that stops raises one `source_silent` alert that holds the reps'
//! inactivity back until it resumes. Every move is recorded on
//! `salespulse.clock`, and `replay --clock` over the input and those records
//! raises the same alerts (docs/windows.md).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use salespulse_model::Timestamp;
use serde_json::Value;

use support::read_topic;
use support::run::*;

/// Every hour is working time, an hour without activity is inactivity, and
/// a partition idle for 2 s moves to the wall clock.
const IDLE_TOML: &str = "[service]\nidle_after = \"2s\"\nallowed_lateness = \"0s\"\n\
    [detect.calendar]\nworking_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
    working_hours = \"00:00-24:00\"\n[detect.inactivity]\nworking_hours = 1.0\n\
    [detect.source_silent]\nmin_silence = \"10m\"\nmin_gaps = 5\n";

/// A rep id whose records go to partition `p` of `partitions`.
fn rep_on(p: i32, partitions: i32, skip: usize) -> String {
    (0..)
        .map(|i| format!("rep-{i:03}"))
        .filter(|r| salespulse_pipeline::partition_for(r.as_bytes(), partitions) == p)
        .nth(skip)
        .expect("a rep")
}

fn call(rep: &str, t: i64, source: &str) -> String {
    let at = Timestamp(t).to_rfc3339();
    format!(
        r#"{{"event_id":"{rep}-{t}","type":"activity.call","occurred_at":"{at}","rep_id":"{rep}","source":"{source}"}}"#
    )
}

/// The alert records on the alert topic.
fn live_alerts(broker: &str, partitions: i32) -> Vec<Value> {
    read_topic(broker, "salespulse.alerts", partitions)
        .iter()
        .filter_map(|(_, p, _)| serde_json::from_slice(p).ok())
        .collect()
}

/// Waits (up to a minute) until `alerts` has one that `wanted` picks; returns how long it took.
fn wait_for_alert(broker: &str, partitions: i32, wanted: impl Fn(&Value) -> bool) -> Duration {
    let (started, deadline) = (Instant::now(), Instant::now() + Duration::from_secs(60));
    loop {
        let alerts = live_alerts(broker, partitions);
        if alerts.iter().any(&wanted) {
            return started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "the alert did not come: {alerts:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `replay --clock` over `lines` (the input in the order produced) and the
/// recorded clock moves: its alert records.
fn replayed_alerts(cfg: &Path, broker: &str, partitions: i32, lines: &[String]) -> Vec<Value> {
    let dir = support::scratch::scratch("idle-clock-replay");
    let events = dir.join("events.ndjson");
    std::fs::write(&events, lines.join("\n")).unwrap();
    let clock = read_topic(broker, "salespulse.clock", partitions);
    assert!(!clock.is_empty(), "no clock move recorded");
    let moves: Vec<String> = clock
        .iter()
        .map(|(_, p, _)| String::from_utf8(p.clone()).unwrap())
        .collect();
    let clock_file = dir.join("clock.ndjson");
    std::fs::write(&clock_file, moves.join("\n")).unwrap();
    let alerts = dir.join("alerts.ndjson");
    ok(salespulse(&[
        "replay",
        "--events",
        events.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--partitions",
        &partitions.to_string(),
        "--clock",
        clock_file.to_str().unwrap(),
        "--out",
        "/dev/null",
        "--alerts",
        alerts.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&alerts).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_rep<'a>(alerts: &'a [Value], rep: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["rep_id"] == rep).collect()
}

#[test]
#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
fn an_idle_partitions_silent_rep_is_alerted_and_the_recorded_clock_replays_it() {
    const P: i32 = 2;
    let (broker, http, cfg) = broker_with_topics("idle-clock", P, "");
    // The quiet rep's dialer falls silent on its partition too, but only
    // one rep used it there: its inactivity alert reports it (min_reps).
    std::fs::write(cfg.join("zz-idle.toml"), IDLE_TOML).unwrap();
    let (quiet, busy) = (rep_on(0, P, 0), rep_on(1, P, 0));
    let now = Timestamp::wall_now().millis();
    // Both call every 5 minutes for an hour, from three hours ago (each
    // from its own source); then the quiet rep's partition receives
    // nothing, the busy rep's more.
    let mut lines: Vec<String> = (0..12)
        .flat_map(|i| {
            let t = now - 3 * 3_600_000 + i * 300_000;
            [call(&quiet, t, "dialer-a"), call(&busy, t + 1, "dialer-b")]
        })
        .collect();
    let run = run_over(&broker.addr, &cfg, &http, &lines);
    // The quiet rep's partition has nothing more from here.
    let live: Vec<String> = (0..20)
        .map(|i| {
            call(
                &busy,
                Timestamp::wall_now().millis() - 60_000 + i,
                "dialer-b",
            )
        })
        .collect();
    let producing = support::fault::produce_paced(&broker.addr, live.clone(), 2.0);
    lines.extend(live);
    let fired = wait_for_alert(&broker.addr, P, |a| {
        a["rep_id"] == quiet && a["kind"] == "inactivity"
    });
    producing.join().expect("producer");
    wait_processed(&http, lines.len() as f64);
    // idle_after (2 s) and the next emit cycle; the rest is slack for a
    // busy machine (without the clock it would never fire).
    assert!(
        fired < Duration::from_secs(20),
        "inactivity only after {fired:?}"
    );
    stop(run);
    let live = live_alerts(&broker.addr, P);
    let replayed = replayed_alerts(&cfg, &broker.addr, P, &lines);
    assert!(of_rep(&live, &quiet)
        .iter()
        .any(|a| a["kind"] == "inactivity"));
    assert_eq!(of_rep(&live, &quiet), of_rep(&replayed, &quiet));
}

#[test]
#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
fn a_source_that_stops_is_one_alert_holding_back_inactivity_until_it_resumes() {
    const P: i32 = 1;
    let (broker, http, cfg) = broker_with_topics("source-silent", P, "");
    std::fs::write(cfg.join("zz-idle.toml"), IDLE_TOML).unwrap();
    let reps: Vec<String> = (0..3).map(|i| rep_on(0, P, i)).collect();
    let now = Timestamp::wall_now().millis();
    // The telephony integration sends the reps' calls every 2 minutes for
    // an hour, from three hours ago; then nothing.
    let mut lines: Vec<String> = (0..30)
        .map(|i| {
            call(
                &reps[i % 3],
                now - 3 * 3_600_000 + i as i64 * 120_000,
                "telephony",
            )
        })
        .collect();
    let run = run_over(&broker.addr, &cfg, &http, &lines);
    let silent = |status: &'static str| {
        move |a: &Value| a["kind"] == "source_silent" && a["status"] == status
    };
    wait_for_alert(&broker.addr, P, silent("firing"));
    // Held back: the reps have been inactive for two hours.
    std::thread::sleep(Duration::from_secs(3));
    let before = live_alerts(&broker.addr, P);
    assert!(
        !before.iter().any(|a| a["kind"] == "inactivity"),
        "held back while the source is silent: {before:#?}"
    );
    // It resumes: the reps' calls of now.
    let resumed: Vec<String> = reps
        .iter()
        .map(|r| call(r, Timestamp::wall_now().millis() - 1_000, "telephony"))
        .collect();
    let refs: Vec<&str> = resumed.iter().map(String::as_str).collect();
    produce(&broker.addr, &refs);
    lines.extend(resumed);
    wait_processed(&http, lines.len() as f64);
    wait_for_alert(&broker.addr, P, silent("resolved"));
    stop(run);
    let live = live_alerts(&broker.addr, P);
    let resolved = live
        .iter()
        .find(|a| a["kind"] == "source_silent" && a["status"] == "resolved")
        .expect("resolved");
    assert_eq!(resolved["source"], "telephony");
    assert_eq!(resolved["baseline"], 3, "three reps held back: {resolved}");
    assert!(
        !live.iter().any(|a| a["kind"] == "inactivity"),
        "their calls arrived with the source: {live:#?}"
    );
    assert_eq!(live, replayed_alerts(&cfg, &broker.addr, P, &lines));
}
