//! Profile versions from control records, computed by hand: where each
//! version applies (scores by stream time, summaries by their period's
//! last instant, commission plans by statement period), the re-score of
//! every rep when a version takes effect, and every rejection's message.

mod common;

use salespulse_engine::control::{apply_control, ControlError};
use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_kpi::{Added, TimelineError};
use serde_json::Value;

const V1: &str = r#"{"version": 1, "components": [{"kpi": "calls", "window": "month", "target": 4, "weight": 1}]}"#;
const V2: &str = r#"{"version": 2, "components": [{"kpi": "calls", "window": "month", "target": 2, "weight": 1}]}"#;

fn config(direct: &str) -> EngineConfig {
    let s: Settings =
        serde_json::from_str(&format!(r#"{{"profiles": {{"direct": {direct}}}}}"#)).unwrap();
    EngineConfig::new(&s).unwrap()
}

fn change(direct: &str, effective_at: &str, published_at: &str) -> String {
    format!(
        r#"{{"type":"profiles","effective_at":"{effective_at}","published_at":"{published_at}","source":"test","profiles":{{"direct":{direct}}}}}"#
    )
}

fn call(rep: &str, at: &str, n: usize) -> String {
    format!(
        r#"{{"event_id":"c-{rep}-{at}-{n}","type":"activity.call","occurred_at":"{at}","rep_id":"{rep}"}}"#
    )
}

fn feed(e: &mut Engine, line: &str) -> Vec<Value> {
    e.ingest(line.as_bytes(), None).unwrap();
    common::drive::flushed(e)
        .iter()
        .map(common::drive::full_json)
        .collect()
}

fn score_of<'a>(records: &'a [Value], rep: &str) -> Option<&'a Value> {
    // The last: a working-day close's record of the rep comes first.
    records
        .iter()
        .rfind(|r| r["schema"] == "score/2" && r["rep_id"] == rep)
}

#[test]
fn a_version_applies_from_its_effective_at_and_rescores_every_rep() {
    let mut e = Engine::new(config(V1));
    feed(&mut e, &call("r1", "2026-02-20T10:00:00Z", 0));
    feed(&mut e, &call("r2", "2026-03-10T10:00:00Z", 0));
    // Closes February for r1 (1 call of 4: 25) under version 1.
    let out = feed(&mut e, &call("r2", "2026-03-10T11:00:00Z", 1));
    let r2 = score_of(&out, "r2").unwrap();
    assert_eq!(
        (r2["score"].as_f64(), &r2["profile"]["version"]),
        (Some(50.0), &Value::from(1))
    );

    // Target 2 from March 15, published a day before.
    let mut cfg = e.config().clone();
    let applied = apply_control(
        &mut cfg,
        change(V2, "2026-03-15T00:00:00Z", "2026-03-14T00:00:00Z").as_bytes(),
    )
    .unwrap();
    assert_eq!(applied.added, Added::New);
    assert!(
        !e.set_profiles(cfg.profiles.clone()),
        "stream time is before March 15"
    );

    // Still version 1 before the 15th.
    let out = feed(&mut e, &call("r1", "2026-03-14T10:00:00Z", 0));
    let r1 = score_of(&out, "r1").unwrap();
    assert_eq!(
        (r1["score"].as_f64(), &r1["profile"]["version"]),
        (Some(25.0), &Value::from(1))
    );
    // r2 is scored again at each working-day close, still under version 1.
    assert!(score_of(&out, "r2").is_none_or(|r| r["profile"]["version"] == 1));

    // Stream time reaches the 15th: r1 (2 calls of 2: 100) and r2, which
    // has no new event (2 calls of 2: 100), are both scored under version 2.
    let out = feed(&mut e, &call("r1", "2026-03-15T09:00:00Z", 1));
    for rep in ["r1", "r2"] {
        let r = score_of(&out, rep).unwrap_or_else(|| panic!("{rep} re-scored"));
        assert_eq!(r["profile"]["version"], 2, "{rep}");
    }
    assert_eq!(
        score_of(&out, "r1").unwrap()["score"],
        100.0,
        "March: 2 calls of 2"
    );
    assert_eq!(score_of(&out, "r2").unwrap()["score"], 100.0);

    // March closes: its summary is judged under the version of its last
    // instant (2); the version 1 February summary stays as it was.
    let out = feed(&mut e, &call("r2", "2026-04-01T08:00:00Z", 0));
    let march = out
        .iter()
        .find(|r| {
            r["kind"] == "period_summary" && r["rep_id"] == "r1" && r["period"]["kind"] == "month"
        })
        .unwrap();
    assert_eq!(march["profile"]["version"], 2);
    assert_eq!(
        march["score"], 100.0,
        "2 calls of 2 (version 1 would give 50)"
    );
    assert_eq!(
        march["previous"]["score"], 25.0,
        "February under version 1: 1 call of 4"
    );

    // A change read after stream time passed its effective_at is reported.
    let mut cfg = e.config().clone();
    let v3 = V2
        .replace("\"version\": 2", "\"version\": 3")
        .replace("\"target\": 2", "\"target\": 3");
    apply_control(
        &mut cfg,
        change(&v3, "2026-03-20T00:00:00Z", "2026-03-19T00:00:00Z").as_bytes(),
    )
    .unwrap();
    assert!(
        e.set_profiles(cfg.profiles.clone()),
        "stream time is in April"
    );
}

const PLAN: &str = r#"{"version": VERSION, "components": [{"kpi": "revenue", "window": "month", "target": 1000, "weight": 1}],
    "commission": {"period": "month", "tiers": [{"from": 0.0, "rate": RATE}]}}"#;

fn won(deal: &str, at: &str) -> String {
    format!(
        r#"{{"event_id":"{deal}","type":"deal.won","occurred_at":"{at}","rep_id":"r1","deal_id":"{deal}","amount":"1000.00","currency":"USD","customer_id":"c-{deal}","channel":"direct"}}"#
    )
}

#[test]
fn a_commission_plan_change_applies_from_the_next_statement_period() {
    let plan = |v: u32, rate: &str| {
        PLAN.replace("VERSION", &v.to_string())
            .replace("RATE", rate)
    };
    let mut cfg = config(&plan(1, "0.1"));
    apply_control(
        &mut cfg,
        change(
            &plan(2, "0.2"),
            "2026-03-15T00:00:00Z",
            "2026-03-01T00:00:00Z",
        )
        .as_bytes(),
    )
    .unwrap();
    let mut e = Engine::new(cfg);
    // March began under rate 0.1: a deal after the change still earns 10%.
    let out = feed(&mut e, &won("d1", "2026-03-20T10:00:00Z"));
    let r = score_of(&out, "r1").unwrap();
    assert_eq!(r["profile"]["version"], 2, "the score uses version 2");
    assert_eq!(r["commission"]["earned_to_date"], 100.0);
    // April is the first statement period under rate 0.2.
    let out = feed(&mut e, &won("d2", "2026-04-05T10:00:00Z"));
    assert_eq!(
        score_of(&out, "r1").unwrap()["commission"]["earned_to_date"],
        200.0
    );
    let march = out
        .iter()
        .find(|r| r["kind"] == "period_summary" && r["period"]["kind"] == "month")
        .unwrap();
    assert_eq!(
        march["commission"]["earned_to_date"], 100.0,
        "March's statement"
    );
}

#[test]
fn rejected_changes_say_what_is_wrong() {
    let mut cfg = config(V1);
    let err = |cfg: &mut EngineConfig, rec: &str| apply_control(cfg, rec.as_bytes()).unwrap_err();
    let lead = err(
        &mut cfg,
        &change(V2, "2026-03-15T00:10:00Z", "2026-03-15T00:00:00Z"),
    );
    assert!(matches!(lead, ControlError::Lead { .. }));
    assert!(
        lead.to_string().contains("control.min_lead (900 s)"),
        "{lead}"
    );
    let same_version = V2.replace("\"version\": 2", "\"version\": 1");
    let e = err(
        &mut cfg,
        &change(
            &same_version,
            "2026-03-15T00:00:00Z",
            "2026-03-14T00:00:00Z",
        ),
    );
    assert_eq!(
        e,
        ControlError::Timeline(TimelineError::VersionNotRaised {
            role: "direct".into(),
            version: 1,
            current: 1
        })
    );
    assert!(
        e.to_string().contains("raise profiles.direct.version"),
        "{e}"
    );
    let bad_kpi = V2.replace("calls", "cals");
    let e = err(
        &mut cfg,
        &change(&bad_kpi, "2026-03-15T00:00:00Z", "2026-03-14T00:00:00Z"),
    );
    assert!(e.to_string().contains("unknown KPI"), "{e}");
    let e = err(
        &mut cfg,
        &change(V2, "2026-13-15T00:00:00Z", "2026-03-14T00:00:00Z"),
    );
    assert!(
        e.to_string()
            .starts_with("effective_at \"2026-13-15T00:00:00Z\""),
        "{e}"
    );
    let e = err(
        &mut cfg,
        &change(V2, "2026-03-15T00:00:00Z", "2026-03-14T00:00:00Z")
            .replace("\"profiles\",", "\"weights\","),
    );
    assert_eq!(e, ControlError::Type("weights".into()));
    let e = err(&mut cfg, r#"{"type":"profiles"}"#);
    assert!(e.to_string().contains("missing field"), "{e}");

    // Accepted once; the same profiles again change nothing; an earlier
    // effective_at than the latest version is refused.
    let ok = change(V2, "2026-03-15T00:00:00Z", "2026-03-14T00:00:00Z");
    assert_eq!(
        apply_control(&mut cfg, ok.as_bytes()).unwrap().added,
        Added::New
    );
    let again = change(V2, "2026-03-16T00:00:00Z", "2026-03-15T00:00:00Z");
    assert_eq!(
        apply_control(&mut cfg, again.as_bytes()).unwrap().added,
        Added::Unchanged
    );
    let v3 = V2.replace("\"version\": 2", "\"version\": 3");
    let e = err(
        &mut cfg,
        &change(
            &v3.replace("\"target\": 2", "\"target\": 5"),
            "2026-03-10T00:00:00Z",
            "2026-03-09T00:00:00Z",
        ),
    );
    assert!(
        matches!(
            e,
            ControlError::Timeline(TimelineError::NotAfterLatest { .. })
        ),
        "{e}"
    );
    assert_eq!(cfg.profiles.versions().len(), 2);
}

/// The inactivity alerts of `r1` firing when `r2` moves stream time to `at`:
/// (threshold, severity).
fn inactivity_at(e: &mut Engine, at: &str) -> Vec<(f64, String)> {
    e.ingest(call("r2", at, 0).as_bytes(), None).unwrap();
    common::drive::alerts(e)
        .into_iter()
        .filter_map(|a| {
            let v = serde_json::to_value(&a).unwrap();
            (v["kind"] == "inactivity" && v["rep_id"] == "r1" && v["status"] == "firing").then(
                || {
                    (
                        v["threshold"].as_f64().unwrap(),
                        v["severity"].as_str().unwrap().to_string(),
                    )
                },
            )
        })
        .collect()
}

#[test]
fn detector_settings_change_with_the_version_in_effect() {
    let mut cfg = config(V1);
    let with_detect = |detect: &str| {
        change(V1, "2026-03-16T00:00:00Z", "2026-03-15T00:00:00Z").replace(
            "\"source\":\"test\"",
            &format!("\"source\":\"test\",\"detect\":{detect}"),
        )
    };
    // Working time, the tick and data quality cannot change while running.
    let e = apply_control(
        &mut cfg,
        with_detect(r#"{"calendar":{"working_hours":"08:00-16:00"}}"#).as_bytes(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("detect.calendar"), "{e}");
    // Only the detectors change (the profiles are the same): a new version.
    let inactivity = r#"{"inactivity":{"working_hours":2.0,"severity":"critical"}}"#;
    let applied = apply_control(&mut cfg, with_detect(inactivity).as_bytes()).unwrap();
    assert_eq!(applied.added, Added::New);
    let mut e = Engine::new(cfg);
    // Before March 16 (Monday the 9th): 3 working hours of silence are not
    // enough; 7 are, for a warning with the 4-hour threshold.
    feed(&mut e, &call("r1", "2026-03-09T09:00:00Z", 0));
    assert_eq!(inactivity_at(&mut e, "2026-03-09T12:00:00Z"), vec![]);
    let four = inactivity_at(&mut e, "2026-03-09T16:00:00Z");
    assert_eq!(four, vec![(4.0, "warning".to_string())]);
    // From March 16: 3 hours exceed the 2-hour threshold, critical.
    feed(&mut e, &call("r1", "2026-03-16T09:00:00Z", 0));
    let two = inactivity_at(&mut e, "2026-03-16T12:00:00Z");
    assert_eq!(two, vec![(2.0, "critical".to_string())]);
}
