//! `replay --clock`: the clock moves the live service records for an idle
//! partition, replayed at their input positions, raise what they raised
//! live; without them a partition that receives nothing stands still.

use std::process::Command;

use salespulse_model::record::ClockRecord;
use salespulse_model::Timestamp;

#[path = "support/scratch.rs"]
mod scratch;

/// The alert kinds and start times raised for `rep` by a replay of
/// `events` with the extra `args`.
fn alerts_of(dir: &std::path::Path, rep: &str, args: &[&str]) -> Vec<(String, String)> {
    let alerts = dir.join("alerts.ndjson");
    let o = Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args(["replay", "--events"])
        .arg(dir.join("events.ndjson"))
        .args(["--out", "/dev/null", "--alerts"])
        .arg(&alerts)
        .args(args)
        .output()
        .expect("run salespulse");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(&alerts)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["rep_id"] == rep && a["status"] == "firing")
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["started_at"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn recorded_clock_moves_raise_the_inactivity_that_waits_for_time() {
    let dir = scratch::scratch("replay-clock");
    // r1 calls every hour of Monday's working day, then nothing arrives.
    let events: Vec<String> = (9..=16)
        .map(|h| {
            format!(
                r#"{{"event_id":"c{h}","type":"activity.call","occurred_at":"2026-03-02T{h:02}:00:00Z","rep_id":"r1"}}"#
            )
        })
        .collect();
    std::fs::write(dir.join("events.ndjson"), events.join("\n")).unwrap();
    // The live service moved the idle partition's clock every 15 minutes
    // until Wednesday, after the 8th record (position 8).
    let monday_17 = Timestamp::parse_rfc3339("2026-03-02T17:00:00Z")
        .unwrap()
        .millis();
    let moves: Vec<String> = (0..(31 * 4))
        .map(|q| {
            let t = monday_17 + q * 15 * 60_000;
            serde_json::to_string(&ClockRecord::new(0, 8, t, t + 30_000)).unwrap()
        })
        .collect();
    std::fs::write(dir.join("clock.ndjson"), moves.join("\n")).unwrap();

    let still = alerts_of(&dir, "r1", &[]);
    assert!(
        !still.iter().any(|(k, _)| k == "inactivity"),
        "stream time stood still at Monday 16:00: {still:?}"
    );
    let clock = dir.join("clock.ndjson");
    let moved = alerts_of(&dir, "r1", &["--clock", clock.to_str().unwrap()]);
    let inactivity: Vec<&(String, String)> =
        moved.iter().filter(|(k, _)| k == "inactivity").collect();
    assert!(!inactivity.is_empty(), "{moved:?}");
    // Deterministic: the same moves give the same alerts.
    assert_eq!(
        alerts_of(&dir, "r1", &["--clock", clock.to_str().unwrap()]),
        moved
    );
    // A move recorded for a partition the replay does not have is an error.
    let bad = dir.join("bad.ndjson");
    std::fs::write(
        &bad,
        serde_json::to_string(&ClockRecord::new(3, 0, monday_17, 0)).unwrap(),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args(["replay", "--events"])
        .arg(dir.join("events.ndjson"))
        .args(["--out", "/dev/null", "--clock"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("partition = 3"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
