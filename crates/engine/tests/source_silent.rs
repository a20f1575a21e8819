//! `source_silent`: the telephony integration stops; one alert about the
//! source fires, the reps' inactivity alerts it explains are held back and
//! counted, and both end when it sends again. Time is moved by clock moves
//! (as for an idle partition), so nothing but the clock arrives meanwhile.

use salespulse_engine::{Emit, Engine, EngineConfig, Settings};
use salespulse_model::{AlertRecord, Timestamp};

fn engine(silence: bool) -> Engine {
    let s: Settings = serde_json::from_str(&format!(
        r#"{{"profiles": {{"direct": {{"components": [{{"kpi": "calls", "window": "day", "target": 10, "weight": 1}}]}}}},
            "detect": {{"source_silent": {{"enabled": {silence}}}}}}}"#
    ))
    .expect("settings");
    Engine::new(EngineConfig::new(&s).expect("config"))
}

fn ms(at: &str) -> i64 {
    Timestamp::parse_rfc3339(at).expect("time").millis()
}

fn call(rep: usize, t: i64) -> String {
    let at = Timestamp(t).to_rfc3339();
    format!(
        r#"{{"event_id":"c{rep}-{t}","type":"activity.call","occurred_at":"{at}","rep_id":"r{rep}","source":"telephony"}}"#
    )
}

/// `reps` reps' calls every 2 minutes from `from` to `to`, in turn.
fn calls(e: &mut Engine, reps: usize, (from, to): (i64, i64), out: &mut Vec<AlertRecord>) {
    let mut t = from;
    let mut n = 0;
    while t < to {
        e.ingest(call(n % reps, t).as_bytes(), None).expect("valid");
        drain(e, out);
        t += 120_000;
        n += 1;
    }
}

fn drain(e: &mut Engine, out: &mut Vec<AlertRecord>) {
    e.flush(Emit::Changed);
    out.extend(e.drain().alerts());
}

/// Monday 2026-03-02: `reps` reps call 09:00-11:00, nothing until 16:00
/// but the clock every 15 minutes, calls again 16:00-16:30.
fn monday_of(reps: usize, silence: bool) -> (Vec<AlertRecord>, u64) {
    let mut e = engine(silence);
    let mut out = Vec::new();
    let morning = (ms("2026-03-02T09:00:00Z"), ms("2026-03-02T11:00:00Z"));
    calls(&mut e, reps, morning, &mut out);
    let mut t = ms("2026-03-02T11:00:00Z");
    while t < ms("2026-03-02T16:00:00Z") {
        t += 15 * 60_000;
        e.advance_clock(t);
        drain(&mut e, &mut out);
    }
    calls(
        &mut e,
        reps,
        (t + 30_000, ms("2026-03-02T16:30:00Z")),
        &mut out,
    );
    (out, e.stats().inactivity_held)
}

fn monday(silence: bool) -> (Vec<AlertRecord>, u64) {
    monday_of(5, silence)
}

fn of_kind<'a>(alerts: &'a [AlertRecord], kind: &str) -> Vec<&'a AlertRecord> {
    alerts.iter().filter(|a| a.kind.as_str() == kind).collect()
}

#[test]
fn a_silent_source_is_one_alert_and_holds_back_the_reps_inactivity() {
    let (alerts, held) = monday(true);
    let silent = of_kind(&alerts, "source_silent");
    assert_eq!(silent.len(), 2, "fired and resolved once: {silent:#?}");
    assert_eq!(silent[0].source.as_deref(), Some("telephony"));
    assert_eq!(format!("{:?}", silent[0].status), "Firing");
    // Its usual gap is 2 minutes; silent from 10:58 for more than the
    // one-hour floor at the 12:00 tick (62 minutes).
    assert_eq!(silent[0].started_at, "2026-03-02T12:00:00Z");
    assert_eq!(format!("{:?}", silent[1].status), "Resolved");
    assert!(
        silent[1].message.contains("of 5 reps were held back"),
        "{}",
        silent[1].message
    );
    assert!(
        of_kind(&alerts, "inactivity").is_empty(),
        "held back: {alerts:#?}"
    );
    assert!(held >= 5, "{held}");

    // Without the detector, the same silence is five inactivity alerts.
    let (alerts, held) = monday(false);
    assert!(of_kind(&alerts, "source_silent").is_empty());
    let reps: std::collections::BTreeSet<_> = of_kind(&alerts, "inactivity")
        .iter()
        .filter(|a| format!("{:?}", a.status) == "Firing")
        .map(|a| a.rep_id.clone())
        .collect();
    assert_eq!(reps.len(), 5, "{alerts:#?}");
    assert_eq!(held, 0);
}

/// A source only two reps of the partition use going quiet is those two
/// reps going quiet: their inactivity alerts say so (`min_reps` = 3).
#[test]
fn a_source_of_two_reps_is_not_judged() {
    let (alerts, held) = monday_of(2, true);
    assert!(of_kind(&alerts, "source_silent").is_empty(), "{alerts:#?}");
    let firing = of_kind(&alerts, "inactivity")
        .iter()
        .filter(|a| format!("{:?}", a.status) == "Firing")
        .count();
    assert_eq!((firing, held), (2, 0));
}
