//! The `salespulse.head` header of a score record carries the record's own
//! values: the company view reads it instead of the record, so a field that
//! differed would put a rep in the wrong team, order or day close.

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};
use serde_json::Value;

#[test]
fn every_head_field_equals_the_records_field() {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "revenue", "window": "month", "target": 40000, "weight": 1}]},
                         "inside": {"components": [{"kpi": "calls", "window": "day", "target": 20, "weight": 1}]}}}"#,
    )
    .unwrap();
    let mut e = Engine::new(EngineConfig::new(&s).unwrap());
    let lines = Generator::new(Options {
        reps: 20,
        days: 10,
        seed: 3,
        ..Options::default()
    });
    let (mut checked, mut with_close, mut summaries) = (0, 0, 0);
    for (i, l) in lines.enumerate() {
        let _ = e.ingest(l.as_bytes(), None);
        if i % 50 != 0 {
            continue;
        }
        for r in common::drive::flushed(&mut e) {
            let head = serde_json::to_value(r.head()).unwrap();
            let record = serde_json::to_value(&r).unwrap();
            let Value::Object(fields) = &head else {
                panic!("a head is an object: {head}");
            };
            for (k, v) in fields {
                assert_eq!(Some(v), record.get(k), "field {k} of {}", r.rep_id);
            }
            for k in ["rep_id", "seq", "as_of", "profile"] {
                assert!(fields.contains_key(k), "the head has {k}");
            }
            assert_eq!(
                fields.contains_key("day_close"),
                record.get("day_close").is_some()
            );
            with_close += usize::from(fields.contains_key("day_close"));
            summaries += usize::from(r.kind == salespulse_model::record::RecordKind::PeriodSummary);
            checked += 1;
        }
    }
    assert!(
        checked > 100 && with_close > 0 && summaries > 0,
        "{checked} {with_close} {summaries}"
    );
}
