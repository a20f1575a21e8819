//! Customer data never leaves ingest in clear: a dataset whose customer and
//! partner ids and free-text fields all carry a marker runs through the live
//! service (re-keying ingest, redacted DLQ, per-rep metrics); every output
//! topic, the changelog, the log, /metrics and the API are scanned for the
//! marker. The input topic is scanned too, to show the scan finds it.

mod support;

use support::run::{broker_with_topics, generate, run_over};
use support::{http_get, read_topic, Record};

const MARK: &str = "CLEARTEXT";

/// The generated lines with every identifier and free text marked, plus
/// hostile lines whose rejection must not quote them.
fn marked(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| {
            let mut l = l
                .replace("\"cust-", &format!("\"{MARK}-cust-"))
                .replace("\"partner-", &format!("\"{MARK}-partner-"));
            if l.contains("\"deal.lost\"") {
                l = l.replacen('{', &format!("{{\"reason\":\"{MARK} lost to rival\","), 1);
            }
            if l.contains("\"activity.") {
                l = l.replacen(
                    '{',
                    &format!("{{\"outcome\":\"{MARK} wants a call back\","),
                    1,
                );
            }
            l
        })
        .collect();
    let long = format!("{MARK}-{}", "x".repeat(300));
    out.push(format!(
        r#"{{"event_id":"h1","type":"deal.created","occurred_at":"2026-01-05T10:00:00Z","rep_id":"rep-00001","deal_id":"d-h1","amount":"10.00","currency":"EUR","customer_id":"{long}","channel":"direct"}}"#
    ));
    out.push(format!("not json at all {MARK}-cust-9"));
    out
}

fn hits(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|(k, p, h)| {
            let key = k
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            key.contains(MARK)
                || String::from_utf8_lossy(p).contains(MARK)
                || h.values().any(|v| v.contains(MARK))
        })
        .count()
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn clear_customer_data_reaches_no_topic_log_metric_or_answer() {
    let extra = "[input]\nkeyed_by = \"other\"\n[dlq]\nredact = true\n[metrics]\nper_rep = true\n";
    let (broker, http, cfg) = broker_with_topics("privacy", 2, extra);
    std::fs::write(
        cfg.join("pseudonym.key"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    std::fs::write(
        cfg.join("zz-privacy.toml"),
        format!(
            "[privacy]\nkey_file = \"{}\"\nkey_id = \"k7\"\n",
            cfg.join("pseudonym.key").display()
        ),
    )
    .unwrap();
    let (_, lines) = generate(&cfg, &["--reps", "20", "--days", "8", "--seed", "11"]);
    let lines = marked(&lines);
    let marked_lines = lines.iter().filter(|l| l.contains(MARK)).count();
    assert!(marked_lines > 100, "only {marked_lines} marked lines");
    let run = run_over(&broker.addr, &cfg, &http, &lines);
    // Give the last emit cycle time to publish.
    std::thread::sleep(std::time::Duration::from_secs(2));

    assert!(hits(&read_topic(&broker.addr, "sales.events", 2)) >= marked_lines);
    let by_rep = read_topic(&broker.addr, "salespulse.by-rep", 2);
    assert!(
        by_rep
            .iter()
            .any(|(_, p, _)| String::from_utf8_lossy(p).contains("\"customer_id\":\"k7:")),
        "no pseudonymised record reached the by-rep topic"
    );
    for (topic, partitions) in [
        ("salespulse.by-rep", 2),
        ("salespulse.scores", 2),
        ("salespulse.alerts", 2),
        ("salespulse.statements", 2),
        ("salespulse.state", 2),
        ("salespulse.dlq", 2),
        ("salespulse.control", 1),
    ] {
        let records = read_topic(&broker.addr, topic, partitions);
        assert_eq!(hits(&records), 0, "{topic} holds clear customer data");
    }
    let dlq = read_topic(&broker.addr, "salespulse.dlq", 2);
    assert!(dlq.len() >= 2, "the hostile lines were not dead-lettered");
    assert!(dlq
        .iter()
        .all(|(_, p, _)| String::from_utf8_lossy(p).contains("\"sha256\"")));

    let metrics = http_get(&http, "/metrics").unwrap().1;
    assert!(
        metrics.contains("salespulse_rep_score"),
        "per-rep metrics are on"
    );
    assert!(!metrics.contains(MARK));
    for rep in ["rep-00001", "rep-00002"] {
        let (code, body) = http_get(&http, &format!("/v1/reps/{rep}")).unwrap();
        assert_eq!(code, 200, "{body}");
        assert!(!body.contains(MARK), "{body}");
    }
    let alerts = http_get(&http, "/v1/alerts?limit=1000").unwrap().1;
    assert!(!alerts.contains(MARK));
    let log = run.log();
    assert!(log.contains("pseudonymised"), "{log}");
    assert!(!log.contains(MARK), "the log holds clear customer data");
}
