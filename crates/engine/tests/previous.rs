//! Period over period in period summaries, computed by hand: the summary of
//! February carries January (as corrected by a late event) and the change.

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use serde_json::Value;

fn call(at: &str, n: usize) -> String {
    format!(
        r#"{{"event_id":"c-{at}-{n}","type":"activity.call","occurred_at":"{at}","rep_id":"r1"}}"#
    )
}

/// An engine scoring 4 calls a month.
fn calls_engine() -> Engine {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "month", "target": 4, "weight": 1}]}}}"#,
    )
    .unwrap();
    Engine::new(EngineConfig::new(&s).unwrap())
}

/// The first `n` of: two calls in January, three in February, three in March.
fn calls_into_march(n: usize) -> Vec<String> {
    let days = [
        "2026-01-10",
        "2026-01-11",
        "2026-02-03",
        "2026-02-04",
        "2026-02-05",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ];
    days.iter()
        .take(n)
        .enumerate()
        .map(|(i, d)| call(&format!("{d}T10:00:00Z"), i))
        .collect()
}

fn month_summaries(e: &mut Engine, line: &str, out: &mut Vec<Value>) {
    e.ingest(line.as_bytes(), None).unwrap();
    for r in common::drive::flushed(e) {
        let v = serde_json::to_value(&r).unwrap();
        if v["kind"] == "period_summary" && v["period"]["kind"] == "month" {
            out.push(v);
        }
    }
}

#[test]
fn february_summary_compares_with_corrected_january() {
    let mut e = calls_engine();
    let mut out = Vec::new();
    for n in 0..3 {
        month_summaries(&mut e, &call("2026-01-10T10:00:00Z", n), &mut out);
    }
    // Closes January: 3 calls, no period before it.
    month_summaries(&mut e, &call("2026-02-01T00:30:00Z", 0), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["kpis"]["calls"]["month"], 3);
    assert!(out[0].get("previous").is_none());
    // A late January call inside the 2-day grace corrects January to 4.
    month_summaries(&mut e, &call("2026-01-31T23:00:00Z", 0), &mut out);
    assert_eq!(out[1]["kpis"]["calls"]["month"], 4);
    for n in 1..5 {
        month_summaries(&mut e, &call("2026-02-10T10:00:00Z", n), &mut out);
    }
    // Closes February: 5 calls (score 100 × 5/4 = 125) against January's 4 (100).
    month_summaries(&mut e, &call("2026-03-01T08:00:00Z", 0), &mut out);
    let feb = out.last().unwrap();
    assert_eq!(feb["period"]["start"], "2026-02-01T00:00:00Z");
    assert_eq!(feb["score"], 125.0);
    let prev = &feb["previous"];
    assert_eq!(prev["period"]["start"], "2026-01-01T00:00:00Z");
    assert_eq!(prev["score"], 100.0);
    assert_eq!(prev["score_change"], 25.0);
    assert_eq!(prev["kpis"]["calls"]["month"], 4);
    assert_eq!(prev["kpi_change"]["calls"]["month"], 1);
    assert_eq!(prev["kpi_change"]["meetings_per_call"]["month"], 0.0);
    assert_eq!(
        prev["kpi_change"]["win_rate"]["month"],
        Value::Null,
        "no deals either month"
    );
}

/// The history is in the changelog: an engine restored mid-February emits
/// the same February summary, previous period included.
#[test]
fn a_restored_engine_remembers_the_period_before() {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "month", "target": 4, "weight": 1}]}}}"#,
    )
    .unwrap();
    let cfg = EngineConfig::new(&s).unwrap();
    let mut whole = Engine::new(cfg.clone());
    let mut sink = Vec::new();
    let first = [
        call("2026-01-10T10:00:00Z", 0),
        call("2026-01-12T10:00:00Z", 1),
        call("2026-02-05T10:00:00Z", 2),
        call("2026-02-06T10:00:00Z", 3),
    ];
    for l in &first {
        month_summaries(&mut whole, l, &mut sink);
    }
    let mut restored = Engine::new(cfg);
    for (rep, bytes) in common::drive::changelog(&mut whole) {
        restored.restore_rep(&rep, &bytes).unwrap();
    }
    restored.finish_restore();
    let close = call("2026-03-01T08:00:00Z", 4);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    month_summaries(&mut whole, &close, &mut a);
    month_summaries(&mut restored, &close, &mut b);
    let strip = |v: &mut Vec<Value>| {
        for r in v.iter_mut() {
            r.as_object_mut().unwrap().remove("seq");
        }
    };
    strip(&mut a);
    strip(&mut b);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["previous"]["kpis"]["calls"]["month"], 2);
    assert_eq!(a, b);
}

/// Score records carry the last closed month as its summary had it (the
/// source of team period-over-period figures, on the KPI record),
/// previous month included.
#[test]
fn score_records_carry_the_last_closed_month_as_summarised() {
    let mut e = calls_engine();
    let mut records = Vec::new();
    let lines = calls_into_march(6);
    for line in &lines {
        e.ingest(line.as_bytes(), None).unwrap();
        // Last periods travel with the KPI record: flush as the service
        // does once per kpis_interval.
        e.flush(salespulse_engine::Emit::ChangedWithKpis);
        records.extend(e.drain().records().iter().map(common::drive::full_json));
    }
    let feb = records
        .iter()
        .rfind(|r| r["kind"] == "period_summary" && r["period"]["kind"] == "month")
        .unwrap();
    assert_eq!(feb["period"]["start"], "2026-02-01T00:00:00Z");
    let score = records.iter().rfind(|r| r["schema"] == "score/2").unwrap();
    let last = &score["last_periods"][0];
    assert_eq!(last["period"], feb["period"]);
    assert_eq!(last["score"], 75.0, "3 calls of 4");
    assert_eq!(last["score"], feb["score"]);
    assert_eq!(last["kpis"], feb["kpis"]);
    assert_eq!(last["previous"], feb["previous"]);
    assert_eq!(last["previous"]["score"], 50.0, "January: 2 calls of 4");
    // In January nothing had closed yet.
    let first = records.iter().find(|r| r["schema"] == "score/2").unwrap();
    assert!(first.get("last_periods").is_none(), "{first}");
}

/// The last periods go out on their own record when they change (a month
/// closes), not with every KPI record: two closes, two records, each what
/// the score record built with it carries.
#[test]
fn last_periods_records_are_sent_when_the_last_periods_change() {
    let mut e = calls_engine();
    let (mut sent, mut scores) = (Vec::new(), Vec::new());
    let lines = calls_into_march(8);
    for line in &lines {
        e.ingest(line.as_bytes(), None).unwrap();
        e.flush(salespulse_engine::Emit::ChangedWithKpis);
        let out = e.drain();
        scores.extend(out.clone().scores());
        sent.extend(out.last_periods());
    }
    let months: Vec<_> = sent
        .iter()
        .map(|l| l.last_periods[0].period.start.clone())
        .collect();
    assert_eq!(months, ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]);
    for l in &sent {
        assert_eq!(l.schema, "last_periods/1");
        let with = scores
            .iter()
            .find(|r| r.seq == l.seq)
            .expect("its score record");
        assert_eq!(with.last_periods, l.last_periods);
    }
    let feb = &sent[1].last_periods[0];
    let three = salespulse_model::record::Num::Int(3);
    assert_eq!(feb.kpis.get("calls", "month"), Some(Some(three)));
}
