//! A corpus of hand-written hostile records, each with the reason code it
//! must be rejected with, interleaved with valid records: every hostile
//! record is rejected for its reason, and the valid records around them
//! score exactly as they do alone. The size limit applies before parsing:
//! a record over it is refused without being read (a deeply nested one of
//! that size would otherwise reach the parser).

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};
use salespulse_model::Reason;

/// A valid won deal; hostile records are variations of it.
const WON: &str = r#"{"event_id":"h-0","type":"deal.won","occurred_at":"2026-01-20T10:00:00Z","rep_id":"rep-00001","deal_id":"hd-1","amount":"100.00","currency":"EUR","customer_id":"c-1","channel":"direct"}"#;

fn with(field: &str, value: &str) -> Vec<u8> {
    let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(WON).unwrap();
    v.remove(field);
    let mut s = serde_json::to_string(&v).unwrap();
    s.insert_str(1, &format!("\"{field}\":{value},"));
    s.into_bytes()
}

fn text(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn corpus() -> Vec<(&'static str, Vec<u8>, Reason)> {
    use Reason::*;
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    // Nesting in a known field recurses in the parser (its limit is 128).
    let deep_in_field = String::from_utf8(with(
        "rep_id",
        &format!("{}1{}", "[".repeat(5000), "]".repeat(5000)),
    ))
    .unwrap();
    // Nesting in an unknown field is skipped without recursion; the record
    // is then judged on its own fields.
    let deep_unknown = format!(
        "{{\"type\":\"deal.won\",\"x\":{}1{}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let over = format!(
        "{{\"event_id\":\"big\",\"pad\":\"{}\"}}",
        "x".repeat(70_000)
    );
    let over_nested = "[".repeat(70_000);
    vec![
        ("empty record", text(""), NotJson),
        ("only spaces", text("   "), NotJson),
        (
            "truncated object",
            text(r#"{"event_id":"x","type":"deal.won""#),
            NotJson,
        ),
        (
            "trailing garbage",
            text(&format!("{WON} trailing")),
            NotJson,
        ),
        ("two documents", text(&format!("{WON}{WON}")), NotJson),
        (
            "invalid UTF-8",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
            NotJson,
        ),
        (
            "invalid UTF-8 in a value",
            [&WON.as_bytes()[..20], &[0xc3, 0x28], &WON.as_bytes()[20..]].concat(),
            NotJson,
        ),
        (
            "overlong UTF-8 slash",
            text("{\"a\":\"\u{0}\"}")
                .into_iter()
                .map(|b| if b == 0 { 0xc0 } else { b })
                .collect(),
            NotJson,
        ),
        (
            "lone surrogate escape",
            text(r#"{"event_id":"\ud800","type":"deal.won"}"#),
            NotJson,
        ),
        ("NaN amount", with("amount", "NaN"), NotJson),
        ("Infinity amount", with("amount", "Infinity"), NotJson),
        ("negative infinity", with("amount", "-Infinity"), NotJson),
        ("number beyond f64", with("amount", "1e400"), NotJson),
        ("deeply nested array", text(&deep), WrongType),
        (
            "deep nesting in a known field",
            text(&deep_in_field),
            NotJson,
        ),
        (
            "deep nesting in an unknown field",
            text(&deep_unknown),
            MissingField,
        ),
        ("a JSON array", text("[1,2,3]"), WrongType),
        ("a JSON string", text("\"deal.won\""), WrongType),
        ("a JSON number", text("42"), WrongType),
        ("null", text("null"), WrongType),
        ("over the size limit", text(&over), TooLarge),
        ("nested past the size limit", text(&over_nested), TooLarge),
        (
            "missing type",
            text(r#"{"event_id":"x","occurred_at":"2026-01-20T10:00:00Z","rep_id":"r"}"#),
            MissingField,
        ),
        ("missing rep_id", with("rep_id", "null"), MissingField),
        ("missing event_id", with("event_id", "null"), MissingField),
        ("unknown type", with("type", "\"deal.stolen\""), UnknownType),
        (
            "type with different case",
            with("type", "\"Deal.Won\""),
            UnknownType,
        ),
        ("type as number", with("type", "7"), WrongType),
        ("rep_id as number", with("rep_id", "12345"), WrongType),
        ("rep_id as object", with("rep_id", "{\"id\":1}"), WrongType),
        ("rep_id as array", with("rep_id", "[\"a\"]"), WrongType),
        ("empty rep_id", with("rep_id", "\"\""), OutOfRange),
        ("empty event_id", with("event_id", "\"\""), OutOfRange),
        (
            "rep_id too long",
            with("rep_id", &format!("\"{}\"", "r".repeat(300))),
            OutOfRange,
        ),
        (
            "customer_id as bool",
            with("customer_id", "true"),
            WrongType,
        ),
        (
            "channel unknown",
            with("channel", "\"carrier pigeon\""),
            OutOfRange,
        ),
        (
            "timestamp year 0",
            with("occurred_at", "\"0000-01-01T00:00:00Z\""),
            TooLate,
        ),
        (
            "timestamp year 9999",
            with("occurred_at", "\"9999-12-31T23:59:59Z\""),
            FutureTimestamp,
        ),
        (
            "timestamp without offset",
            with("occurred_at", "\"2026-01-20T10:00:00\""),
            BadTimestamp,
        ),
        (
            "timestamp as epoch number",
            with("occurred_at", "1768903200"),
            WrongType,
        ),
        (
            "timestamp February 30",
            with("occurred_at", "\"2026-02-30T10:00:00Z\""),
            BadTimestamp,
        ),
        (
            "timestamp hour 25",
            with("occurred_at", "\"2026-01-20T25:00:00Z\""),
            BadTimestamp,
        ),
        (
            "timestamp with spaces",
            with("occurred_at", "\" 2026-01-20T10:00:00Z\""),
            BadTimestamp,
        ),
        ("negative amount", with("amount", "\"-100.00\""), BadAmount),
        ("negative number amount", with("amount", "-5"), BadAmount),
        (
            "over-precise amount",
            with("amount", "\"100.001\""),
            BadAmount,
        ),
        (
            "over-precise JPY",
            text(
                &String::from_utf8(with("amount", "\"100.5\""))
                    .unwrap()
                    .replace("\"EUR\"", "\"JPY\""),
            ),
            BadAmount,
        ),
        (
            "amount with exponent string",
            with("amount", "\"1e3\""),
            BadAmount,
        ),
        (
            "amount with thousands separator",
            with("amount", "\"1,000.00\""),
            BadAmount,
        ),
        (
            "huge amount",
            with("amount", "\"99999999999999999999999999.00\""),
            BadAmount,
        ),
        (
            "huge integer amount",
            with("amount", "123456789012345678901234567890"),
            BadAmount,
        ),
        ("empty amount", with("amount", "\"\""), BadAmount),
        ("amount as bool", with("amount", "false"), WrongType),
        (
            "unknown currency",
            with("currency", "\"XXX\""),
            UnknownCurrency,
        ),
        (
            "lowercase currency",
            with("currency", "\"eur\""),
            UnknownCurrency,
        ),
        (
            "control characters in rep_id",
            with("rep_id", "\"rep\\u0000\\u001b[31m\""),
            OutOfRange,
        ),
        (
            "C1 control in team_id",
            with("team_id", "\"t\\u0085x\""),
            OutOfRange,
        ),
        (
            "DEL in event_id",
            with("event_id", "\"e\\u007f\""),
            OutOfRange,
        ),
        (
            "raw control character",
            text(&WON.replace("rep-00001", "rep\u{1}x")),
            NotJson,
        ),
        (
            "duplicate amount key",
            text(&WON.replace(
                "\"amount\":\"100.00\"",
                "\"amount\":\"1.00\",\"amount\":\"100000.00\"",
            )),
            DuplicateField,
        ),
        (
            "duplicate rep_id key",
            text(&WON.replace(
                "\"rep_id\":\"rep-00001\"",
                "\"rep_id\":\"rep-00001\",\"rep_id\":\"rep-00002\"",
            )),
            DuplicateField,
        ),
        (
            "assists not an array",
            with("assist_rep_ids", "\"bob\""),
            WrongType,
        ),
        (
            "too many assists",
            with(
                "assist_rep_ids",
                &format!(
                    "[{}]",
                    (0..40)
                        .map(|i| format!("\"r{i}\""))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            OutOfRange,
        ),
        (
            "csat out of range",
            text(
                r#"{"event_id":"f","type":"feedback.received","occurred_at":"2026-01-20T10:00:00Z","rep_id":"rep-00001","customer_id":"c","csat":6}"#,
            ),
            OutOfRange,
        ),
        (
            "nps fractional",
            text(
                r#"{"event_id":"f","type":"feedback.received","occurred_at":"2026-01-20T10:00:00Z","rep_id":"rep-00001","customer_id":"c","nps":7.5}"#,
            ),
            WrongType,
        ),
        (
            "duration negative",
            text(
                r#"{"event_id":"a","type":"activity.call","occurred_at":"2026-01-20T10:00:00Z","rep_id":"rep-00001","duration_s":-1}"#,
            ),
            OutOfRange,
        ),
        (
            "duration huge",
            text(
                r#"{"event_id":"a","type":"activity.call","occurred_at":"2026-01-20T10:00:00Z","rep_id":"rep-00001","duration_s":18446744073709551615}"#,
            ),
            OutOfRange,
        ),
    ]
}

#[test]
fn every_hostile_record_is_rejected_for_its_reason_and_the_rest_is_unaffected() {
    let s: Settings = serde_json::from_str(
        r#"{"currency": {"rates": {"EUR": "1.1", "JPY": "0.0067"}},
            "profiles": {"direct": {"components": [{"kpi": "revenue", "window": "month", "target": 40000, "weight": 1}]}}}"#,
    )
    .unwrap();
    let cfg = EngineConfig::new(&s).unwrap();
    let valid: Vec<String> = Generator::new(Options {
        reps: 12,
        days: 30,
        seed: 4,
        ..Options::default()
    })
    .collect();
    let corpus = corpus();
    assert!(corpus.len() >= 50, "{} records", corpus.len());
    // Wall clock a day after the data (the generator starts 2026-01-05).
    let now = Some(1_770_000_000_000);
    let (mut mixed, mut clean) = (Engine::new(cfg.clone()), Engine::new(cfg));
    let mut wrong = Vec::new();
    let mut next = corpus.iter();
    for (i, line) in valid.iter().enumerate() {
        let a = mixed.ingest(line.as_bytes(), now).map_err(|r| r.reason);
        let b = clean.ingest(line.as_bytes(), now).map_err(|r| r.reason);
        assert_eq!(a, b, "valid line {i} answered differently");
        if i % 7 == 3 {
            if let Some((name, bytes, want)) = next.next() {
                match mixed.ingest(bytes, now) {
                    Err(r) if r.reason == *want => {
                        assert!(
                            r.message.len() < 400,
                            "{name}: a long message: {}",
                            r.message
                        )
                    }
                    Err(r) => wrong.push(format!("{name}: {} ({})", r.reason.code(), r.message)),
                    Ok(t) => wrong.push(format!("{name}: accepted as {}", t.as_str())),
                }
            }
        }
    }
    assert!(
        next.next().is_none(),
        "the valid stream is too short for the corpus"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let strip = |e: &mut Engine| -> Vec<serde_json::Value> {
        common::drive::final_scores(e)
            .into_iter()
            .map(|r| serde_json::to_value(&r).unwrap())
            .collect()
    };
    assert_eq!(strip(&mut mixed), strip(&mut clean));
}

/// Found by the fuzzer: one event thousands of years ahead of stream time
/// (replay has no wall clock to reject it) walked every hour and every day
/// of the gap for every rep, tens of seconds for 20 reps. The walks are
/// bounded now; the inactivity alert it raises says the silence was "over"
/// what was measured.
#[test]
fn an_event_millennia_ahead_is_applied_with_bounded_catch_up() {
    // Without source_silent: the jump silences every source, which would
    // hold the reps' inactivity back (tests/source_silent.rs).
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}},
            "detect": {"source_silent": {"enabled": false}}}"#,
    )
    .unwrap();
    let mut e = Engine::new(EngineConfig::new(&s).unwrap());
    for line in Generator::new(Options {
        reps: 30,
        days: 10,
        seed: 3,
        ..Options::default()
    }) {
        let _ = e.ingest(line.as_bytes(), None);
    }
    drop(common::drive::alerts(&mut e));
    let far = r#"{"event_id":"far","type":"activity.call","occurred_at":"7994-03-02T09:30:00Z","rep_id":"rep-00001"}"#;
    e.ingest(far.as_bytes(), None).unwrap();
    let later = r#"{"event_id":"far2","type":"activity.call","occurred_at":"7994-03-03T11:30:00Z","rep_id":"rep-00001"}"#;
    e.ingest(later.as_bytes(), None).unwrap();
    let alerts = common::drive::alerts(&mut e);
    let silent: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind.as_str() == "inactivity" && a.rep_id.as_deref() != Some("rep-00001"))
        .collect();
    assert!(
        !silent.is_empty(),
        "the other reps' silence raises inactivity"
    );
    for a in silent {
        assert!(a.message.contains(" for over "), "{}", a.message);
    }
}
