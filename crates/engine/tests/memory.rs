//! Per-rep memory follows what a rep holds, not its worst burst: the
//! collections are bounded, and the spare capacity a burst left is released
//! at the next working-day close (`RepState::shrink`), so a long-running
//! service does not creep up to every rep's largest day.

use salespulse_engine::{Engine, EngineConfig, Settings};

fn call(id: &str, at: &str) -> String {
    format!(r#"{{"event_id":"{id}","type":"activity.call","occurred_at":"{at}","rep_id":"r1"}}"#)
}

#[test]
fn a_bursts_spare_capacity_is_released_after_the_next_day_closes() {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}}}"#,
    )
    .unwrap();
    let mut e = Engine::new(EngineConfig::new(&s).unwrap());
    // A burst: 3,000 calls in one Monday hour, each id kept for the
    // 24 h dedupe horizon.
    for i in 0..3000 {
        let at = format!("2026-03-02T09:{:02}:{:02}Z", (i / 60) % 60, i % 60);
        e.ingest(call(&format!("burst-{i}"), &at).as_bytes(), None)
            .unwrap();
    }
    let burst = e.memory().dedupe_bytes;
    assert!(burst >= 3000 * 16, "dedupe bytes after the burst: {burst}");
    // Then a quiet week: one call a day, so the burst's ids expire and
    // working days close.
    for day in 3..=9 {
        let at = format!("2026-03-{day:02}T10:00:00Z");
        e.ingest(call(&format!("quiet-{day}"), &at).as_bytes(), None)
            .unwrap();
    }
    let quiet = e.memory().dedupe_bytes;
    assert!(
        quiet <= 64 * 16,
        "dedupe bytes a week after the burst: {quiet} (after the burst: {burst})"
    );
}
