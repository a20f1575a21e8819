//! The live service flushes every `emit_interval`, replay after every line
//! or only at the end: a rep's record at a given stream time must not
//! depend on when the flushes before it happened.

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};

#[test]
fn final_records_do_not_depend_on_flush_cadence() {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "revenue", "window": "month", "target": 40000, "weight": 1}]}}}"#,
    )
    .unwrap();
    let cfg = EngineConfig::new(&s).unwrap();
    let lines: Vec<String> = Generator::new(Options {
        reps: 30,
        days: 40,
        seed: 9,
        ..Options::default()
    })
    .collect();
    let (mut every_line, mut at_end) = (Engine::new(cfg.clone()), Engine::new(cfg));
    for l in &lines {
        let _ = every_line.ingest(l.as_bytes(), None);
        drop(common::drive::flushed(&mut every_line));
        let _ = at_end.ingest(l.as_bytes(), None);
    }
    let strip = |e: &mut Engine| -> Vec<serde_json::Value> {
        common::drive::final_scores(e)
            .into_iter()
            .map(|r| {
                let mut v = serde_json::to_value(&r).unwrap();
                v.as_object_mut().unwrap().remove("seq");
                v
            })
            .collect()
    };
    let (a, b) = (strip(&mut every_line), strip(&mut at_end));
    assert_eq!(a.len(), 30);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "rep {}", x["rep_id"]);
    }
}
