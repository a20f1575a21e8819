//! Coaching inside the engine, on a hand-computed day: six reps of one role,
//! judged at Monday's close. Every expected number below is worked out by
//! hand in the comments (docs/coaching.md has the same example).

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use serde_json::Value;

fn engine(min_peers: u32) -> Engine {
    let s: Settings = serde_json::from_str(&format!(
        r#"{{"profiles": {{"direct": {{"components": [
                {{"kpi": "calls", "window": "day", "target": 10, "weight": 1}},
                {{"kpi": "meetings", "window": "7d", "target": 5, "weight": 1}}]}}}},
            "coaching": {{"min_peers": {min_peers},
                "explain": {{"calls": ["calls/7d"], "meetings": ["meetings_per_call/7d", "calls/7d"]}},
                "rules": [{{"component": "meetings", "ratio": "meetings_per_call/7d", "below": 0.7,
                           "say": "{{rep}} books {{value}} meetings per call; the {{role}} median is {{median}}."}}]}}}}"#
    ))
    .unwrap();
    Engine::new(EngineConfig::new(&s).unwrap())
}

fn event(rep: &str, kind: &str, at: &str, n: usize) -> String {
    format!(
        r#"{{"event_id":"{rep}-{kind}-{at}-{n}","type":"activity.{kind}","occurred_at":"{at}","rep_id":"{rep}"}}"#
    )
}

/// Monday 2026-01-05: rep r{i} makes CALLS[i] calls and holds MEETINGS[i]
/// meetings; on Tuesday one call of r6 moves stream time past the close.
const CALLS: [usize; 6] = [2, 4, 6, 8, 10, 12];
const MEETINGS: [usize; 6] = [3, 1, 2, 2, 4, 5];

fn coaching(min_peers: u32) -> Vec<Value> {
    let mut e = engine(min_peers);
    let mut lines = Vec::new();
    for i in 0..6 {
        let rep = format!("r{}", i + 1);
        for n in 0..CALLS[i] {
            lines.push(event(&rep, "call", &format!("2026-01-05T09:{n:02}:00Z"), n));
        }
        for n in 0..MEETINGS[i] {
            lines.push(event(
                &rep,
                "meeting",
                &format!("2026-01-05T14:{n:02}:00Z"),
                n,
            ));
        }
    }
    lines.sort_by_key(|l| l.split("occurred_at").nth(1).map(str::to_string));
    lines.push(event("r6", "call", "2026-01-06T09:30:00Z", 99));
    for l in &lines {
        e.ingest(l.as_bytes(), None).unwrap();
    }
    // Each rep's latest coaching record (sent when a close changed it), in
    // the order of the final score records.
    e.flush(salespulse_engine::Emit::All);
    let out = e.drain();
    let mut latest = std::collections::BTreeMap::new();
    for c in out.clone().coaching() {
        latest.insert(c.rep_id.clone(), serde_json::to_value(&c.coaching).unwrap());
    }
    let mut reps: Vec<String> = out.scores().into_iter().map(|r| r.rep_id).collect();
    reps.sort();
    reps.dedup();
    reps.iter()
        .map(|r| latest.get(r).cloned().unwrap_or(Value::Null))
        .collect()
}

fn items(c: &Value) -> Vec<(&str, f64)> {
    c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kpi"].as_str().unwrap(),
                i["percentile"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn lowest_components_with_ratios_and_a_rule() {
    let c = coaching(5);
    // Attainments at Monday's close (n = 6, percentile = 100 × (lower +
    // ties/2) / 5):
    //   calls/day  = calls / 10:   .2 .4 .6 .8 1 1.2   -> p 0 20 40 60 80 100, median .7
    //   meetings/7d = meetings / 5: .6 .2 .4 .4 .8 1   -> p 60 0 30 30 80 100, median .5
    // Coached: below p50 and below the median; lowest percentile first.
    assert_eq!(items(&c[0]), vec![("calls", 0.0)]);
    assert_eq!(items(&c[1]), vec![("meetings", 0.0), ("calls", 20.0)]);
    assert_eq!(items(&c[2]), vec![("meetings", 30.0), ("calls", 40.0)]);
    assert_eq!(items(&c[3]), vec![("meetings", 30.0)]);
    assert!(items(&c[4]).is_empty() && items(&c[5]).is_empty());
    assert_eq!(c[0]["as_of"], "2026-01-06T00:00:00Z");
    assert_eq!(c[0]["peers"], 6);

    // meetings_per_call/7d = meetings / calls: 1.5 .25 .333 .25 .4 .4167,
    // median (.3333 + .4) / 2 = .366667; the rule fires under .7 × median = .256667.
    let r2 = &c[1]["items"][0];
    assert_eq!(r2["attainment"], 0.2);
    assert_eq!(r2["role_median_attainment"], 0.5);
    assert_eq!(r2["ratios"][0]["kpi"], "meetings_per_call");
    assert_eq!(r2["ratios"][0]["value"], 0.25);
    assert_eq!(r2["ratios"][0]["role_median"], 0.366667);
    assert_eq!(r2["ratios"][1]["value"], 4.0);
    assert_eq!(r2["ratios"][1]["role_median"], 7.0);
    assert_eq!(
        r2["suggestion"],
        "r2 books 0.250 meetings per call; the direct median is 0.367."
    );
    // r3's .333 is above .256667: the fallback sentence.
    assert_eq!(
        c[2]["items"][0]["suggestion"],
        "meetings (7d) is at 40% of target, at percentile 30 of direct reps: agree one concrete step with r3 to move it this week."
    );
    // A calls item shows its own explain list.
    let r1 = &c[0]["items"][0];
    assert_eq!(r1["ratios"].as_array().unwrap().len(), 1);
    assert_eq!(r1["ratios"][0]["value"], 2.0);
}

#[test]
fn a_role_below_min_peers_gets_no_items() {
    let c = coaching(7);
    assert!(c.iter().all(|x| items(x).is_empty()), "{c:?}");
    assert_eq!(c[0]["peers"], 6);
}
