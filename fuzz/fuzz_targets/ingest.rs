//! Fuzzes what every input record goes through: the decoder and validator
//! (`salespulse_model::decode`), the engine's ingest (dedupe, windows,
//! detectors) and the ingest-stage pseudonymizer. Properties checked
//! besides "no panic, no hang, no unbounded allocation":
//! - a record over the size limit is rejected as `too_large`, unread;
//! - an accepted record's ids are non-empty and free of control characters;
//! - a rejection always has a message, and never quotes a customer id;
//! - the pseudonymizer's output, when it rewrites, holds no clear customer id
//!   and an accepted record still decodes to the same event after it.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_model::{decode, CurrencyTable, DecodeContext, Pseudonymizer, Reason, Secret};

const MAX: usize = 4096;

fn ctx() -> DecodeContext {
    let mut t = CurrencyTable::new("USD", None).expect("USD");
    for (c, r) in [("EUR", "1.1"), ("JPY", "0.0067"), ("KWD", "3.25")] {
        t.add(c, r, None).expect("rate");
    }
    DecodeContext {
        max_bytes: MAX,
        currencies: t,
    }
}

fn engine() -> Engine {
    let s: Settings = serde_json::from_str(
        r#"{"engine": {"max_event_bytes": 4096},
            "currency": {"rates": {"EUR": "1.1", "JPY": "0.0067", "KWD": "3.25"}},
            "profiles": {"direct": {"components": [
                {"kpi": "revenue", "window": "month", "target": 40000, "weight": 0.6},
                {"kpi": "calls", "window": "day", "target": 20, "weight": 0.4}]}}}"#,
    )
    .expect("settings");
    Engine::new(EngineConfig::new(&s).expect("config"))
}

thread_local! {
    static STATE: RefCell<(DecodeContext, Engine, Pseudonymizer, u32)> = RefCell::new((
        ctx(),
        engine(),
        Pseudonymizer::new(Secret::new("fuzz-key-0123456789"), "k1", vec![]),
        0,
    ));
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|st| {
        let (ctx, engine, pseudo, n) = &mut *st.borrow_mut();
        let decoded = decode(data, ctx);
        match &decoded {
            Ok(ev) => {
                assert!(data.len() <= MAX);
                for id in [&ev.event_id, &ev.rep_id] {
                    assert!(!id.is_empty() && !has_control(id), "accepted id {id:?}");
                }
            }
            Err(r) => {
                assert!(!r.message.is_empty());
                if data.len() > MAX {
                    assert_eq!(r.reason, Reason::TooLarge);
                }
            }
        }
        let customer = serde_json::from_slice::<serde_json::Value>(data)
            .ok()
            .and_then(|v| v.get("customer_id")?.as_str().map(str::to_string))
            .filter(|c| c.len() >= 8);
        if let (Err(r), Some(c)) = (&decoded, &customer) {
            assert!(
                !r.message.contains(c.as_str()),
                "message quotes {c:?}: {}",
                r.message
            );
        }
        if let Some(clean) = pseudo.rewrite(data) {
            if let Some(c) = &customer {
                assert!(!String::from_utf8_lossy(&clean).contains(&format!("\"{c}\"")));
            }
            if let Ok(ev) = &decoded {
                let again = decode(&clean, ctx);
                assert_eq!(
                    Ok((ev.event_type, ev.rep_id.to_string(), ev.occurred_at)),
                    again
                        .map(|e| (e.event_type, e.rep_id.to_string(), e.occurred_at))
                        .map_err(|r| r.reason),
                    "the pseudonymised record decodes differently"
                );
            }
        }
        let _ = engine.ingest(data, None);
        *n += 1;
        if *n % 5000 == 0 {
            engine.flush(salespulse_engine::Emit::Changed);
            let _ = engine.drain();
            *engine = self::engine();
        }
    });
});
