//! `salespulse tail` against the live service's topics (real broker): what a
//! consumer sees, checked against the published schemas, and a record that
//! breaks its schema reported with where and why.

mod support;

use support::run::*;

/// `salespulse tail` with `args` over the config directory `cfg`.
fn tail(cfg: &std::path::Path, args: &[&str]) -> std::process::Output {
    salespulse(&[&["tail", "--config", cfg.to_str().unwrap()][..], args].concat())
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn tail_prints_the_live_topics_and_reports_a_record_that_breaks_its_schema() {
    let (broker, http, cfg) = broker_with_topics("tail", 2, "");
    let (_, lines) = generate(
        &cfg,
        &[
            "--reps",
            "8",
            "--days",
            "3",
            "--seed",
            "9",
            "--malformed",
            "0.02",
        ],
    );
    let run = run_over(&broker.addr, &cfg, &http, &lines);
    drop(stop(run));

    let out = tail(
        &cfg,
        &["scores", "--from-beginning", "--ndjson", "--idle", "3s"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() >= 8, "{} score records", records.len());
    assert!(records.iter().all(|r| r["schema"] == "score/2"));
    assert!(stderr.contains(", 0 invalid"), "{stderr}");

    let out = tail(
        &cfg,
        &["dlq", "--from-beginning", "--ndjson", "--idle", "3s"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dead: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!dead.is_empty(), "the malformed lines are in the DLQ");
    for d in &dead {
        assert_eq!(d["headers"]["salespulse.schema"], "dlq/1", "{d}");
        assert!(d["headers"]["reason"].is_string(), "{d}");
    }

    a_record_that_breaks_its_schema_fails_the_command(&broker.addr, &cfg);
}

/// Readable output names each record's schema; a record that breaks it
/// makes the command fail, saying where.
fn a_record_that_breaks_its_schema_fails_the_command(broker: &str, cfg: &std::path::Path) {
    produce_to(
        broker,
        "salespulse.scores",
        &[r#"{"schema":"score/2","rep_id":"intruder","seq":"one"}"#],
    );
    let out = tail(cfg, &["scores", "--from-beginning", "--idle", "3s"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(stdout.contains("· score/2 ok"), "{stdout}");
    assert!(stdout.contains("key intruder · INVALID"), "{stdout}");
    assert!(stderr.contains("invalid: salespulse.scores"), "{stderr}");
    assert!(stderr.contains("score/2 at "), "{stderr}");
    assert!(stderr.contains("1 of "), "{stderr}");
}
