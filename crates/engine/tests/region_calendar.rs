//! A rep's working-time calendar follows its region, also when a directory
//! record moves the rep to another region after its calendar was first used
//! (the engine caches each rep's calendar between ticks).

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};

fn engine() -> Engine {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}},
            "detect": {"regions": {"late": {"working_hours": "14:00-23:00"}}}}"#,
    )
    .expect("settings");
    Engine::new(EngineConfig::new(&s).expect("config"))
}

fn directory(at: &str, region: &str) -> (String, String) {
    let line = format!(
        r#"{{"event_id":"hr-{at}","type":"rep.updated","occurred_at":"{at}","rep_id":"r1","team_id":"t1","region":"{region}","role":"direct"}}"#
    );
    (at.to_string(), line)
}

fn call(rep: &str, at: &str) -> (String, String) {
    let line = format!(
        r#"{{"event_id":"{rep}-{at}","type":"activity.call","occurred_at":"{at}","rep_id":"{rep}"}}"#
    );
    (at.to_string(), line)
}

#[test]
fn inactivity_counts_the_working_hours_of_the_region_the_rep_moved_to() {
    let mut lines = vec![directory("2026-03-02T07:00:00Z", "emea")];
    // r1 calls every hour of Monday's default working day, then, once moved
    // to the `late` region (14:00-23:00) on Tuesday morning, once at 09:00.
    for h in 9..=16 {
        lines.push(call("r1", &format!("2026-03-02T{h:02}:00:00Z")));
    }
    lines.push(directory("2026-03-03T08:00:00Z", "late"));
    lines.push(call("r1", "2026-03-03T09:00:00Z"));
    // r2 keeps stream time moving, every 15 minutes.
    for q in 0..(2 * 24 * 4) {
        let at = 1_772_409_600_000i64 + q * 15 * 60_000; // from 2026-03-02T00:00Z
        let at = salespulse_model::Timestamp(at + 60_000).to_rfc3339();
        lines.push(call("r2", &at));
    }
    lines.sort();
    let mut e = engine();
    for (_, line) in &lines {
        e.ingest(line.as_bytes(), None).expect("valid event");
    }
    let fired: Vec<String> = common::drive::alerts(&mut e)
        .into_iter()
        .filter(|a| a.rep_id.as_deref() == Some("r1") && a.kind.as_str() == "inactivity")
        .map(|a| a.started_at)
        .collect();
    // Four `late` working hours after 09:00 are 14:00-18:00 (the default
    // calendar, 09:00-17:00, would have fired at 13:00).
    assert_eq!(fired, ["2026-03-03T18:00:00Z"], "{fired:?}");
}
