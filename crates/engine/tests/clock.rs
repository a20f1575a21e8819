//! Moving an idle partition's clock (`Engine::advance_clock`) has the same
//! effects on a rep as another rep's events moving stream time to the same
//! instants: the same inactivity alerts, at the same times, and the same
//! period summaries. So an alert that waits for time fires when nothing
//! arrives, and a replay of the recorded moves reproduces it.

mod common;

use salespulse_engine::{Emit, Engine, EngineConfig, Settings};
use salespulse_model::Timestamp;

fn engine() -> Engine {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}}}"#,
    )
    .expect("settings");
    Engine::new(EngineConfig::new(&s).expect("config"))
}

fn call(rep: &str, at: &str) -> String {
    format!(
        r#"{{"event_id":"{rep}-{at}","type":"activity.call","occurred_at":"{at}","rep_id":"{rep}"}}"#
    )
}

/// Every 15 minutes (plus one) from Monday 2026-03-02 00:00Z for two days.
fn quarter_hours() -> Vec<i64> {
    (0..(2 * 24 * 4))
        .map(|q| 1_772_409_600_000i64 + q * 15 * 60_000 + 60_000)
        .collect()
}

/// r1 calls every hour of Monday's working day and then nothing.
fn r1_calls() -> Vec<(i64, String)> {
    (9..=16)
        .map(|h| {
            let at = format!("2026-03-02T{h:02}:00:00Z");
            let t = Timestamp::parse_rfc3339(&at).expect("time").millis();
            (t, call("r1", &at))
        })
        .collect()
}

/// r1's alerts (kind, status, started_at) and summaries (period, seq-free JSON).
fn r1_outputs(e: &mut Engine) -> (Vec<(String, String, String)>, Vec<String>) {
    e.flush(Emit::Changed);
    let out = e.drain();
    let alerts = out
        .clone()
        .alerts()
        .into_iter()
        .filter(|a| a.rep_id.as_deref() == Some("r1"))
        .map(|a| {
            (
                a.kind.as_str().to_string(),
                format!("{:?}", a.status),
                a.started_at,
            )
        })
        .collect();
    let summaries = out
        .summaries()
        .into_iter()
        .filter(|s| s.rep_id == "r1")
        .map(|s| serde_json::to_string(&s.period).expect("json"))
        .collect();
    (alerts, summaries)
}

#[test]
fn a_clock_move_does_what_another_reps_event_at_that_time_does() {
    // Stream time moved by r2's calls.
    let mut by_events = engine();
    let mut lines: Vec<(i64, String)> = r1_calls();
    lines.extend(
        quarter_hours()
            .into_iter()
            .map(|t| (t, call("r2", &Timestamp(t).to_rfc3339()))),
    );
    lines.sort();
    let (mut alerts_a, mut summaries_a) = (Vec::new(), Vec::new());
    for (_, line) in &lines {
        by_events.ingest(line.as_bytes(), None).expect("valid");
        let (a, s) = r1_outputs(&mut by_events);
        alerts_a.extend(a);
        summaries_a.extend(s);
    }
    // The same instants reached by clock moves alone.
    let mut by_clock = engine();
    let mut steps: Vec<(i64, Option<String>)> =
        r1_calls().into_iter().map(|(t, l)| (t, Some(l))).collect();
    steps.extend(quarter_hours().into_iter().map(|t| (t, None)));
    steps.sort();
    let (mut alerts_b, mut summaries_b) = (Vec::new(), Vec::new());
    for (t, line) in &steps {
        match line {
            Some(l) => {
                by_clock.ingest(l.as_bytes(), None).expect("valid");
            }
            None => {
                by_clock.advance_clock(*t);
            }
        }
        let (a, s) = r1_outputs(&mut by_clock);
        alerts_b.extend(a);
        summaries_b.extend(s);
    }
    assert!(
        alerts_b.iter().any(|(kind, _, _)| kind == "inactivity"),
        "no inactivity alert from clock moves: {alerts_b:?}"
    );
    assert_eq!(alerts_a, alerts_b);
    assert!(!summaries_b.is_empty(), "Monday's day closed");
    assert_eq!(summaries_a, summaries_b);
}
