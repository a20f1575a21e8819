//! The live service against a real broker (Tansu): topics are created by
//! `salespulse topics create`, events by `salespulse loadgen --brokers`, and
//! `salespulse run` runs as a child process. Its outputs are compared with
//! `salespulse replay` over the same records.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use support::fault::{committed, ends};
use support::run::*;
use support::{config_dir, http_get, metric, read_topic, Broker};

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn live_equals_replay_through_a_restart_with_rejects_in_the_dlq() {
    let broker = Broker::start();
    let port = support::free_port();
    let http = format!("127.0.0.1:{port}");
    let cfg = config_dir(
        "equal",
        &broker.addr,
        1,
        &format!("[http]\nlisten = \"{http}\"\n"),
    );
    let cfg_s = cfg.to_str().unwrap();

    // Topics, twice: the second run finds them all and changes nothing.
    let first = ok(salespulse(&["topics", "create", "--config", cfg_s]));
    assert_eq!(first.matches("created").count(), 12, "{first}");
    let second = ok(salespulse(&["topics", "create", "--config", cfg_s]));
    assert_eq!(second.matches("exists").count(), 12, "{second}");

    // A generated stream with duplicates and malformed lines, kept in a file for replay.
    let gen = [
        "--reps",
        "24",
        "--days",
        "6",
        "--seed",
        "3",
        "--duplicates",
        "0.03",
        "--malformed",
        "0.03",
    ];
    let file = cfg.join("events.ndjson");
    ok(salespulse(
        &[&["loadgen", "--out", file.to_str().unwrap()][..], &gen].concat(),
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;

    // First half in, run until it is processed, SIGTERM.
    produce(&broker.addr, &lines[..half]);
    let child = start_run(&cfg);
    // /readyz flips to 200 once partitions are assigned and consumed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((code, _)) = http_get(&http, "/readyz") {
            if code == 200 {
                break;
            }
            assert_eq!(code, 503);
        }
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_processed(&http, half as f64);
    let first_metrics = http_get(&http, "/metrics").expect("metrics").1;
    stop(child);
    let written_before = record_sizes_by_topic(&broker.addr);

    // Second half in, restart: the new process restores the partition from
    // the records before its committed offset and continues from there.
    produce(&broker.addr, &lines[half..]);
    let child = start_run(&cfg);
    wait_processed(&http, (lines.len() - half) as f64);
    let second_metrics = http_get(&http, "/metrics").expect("metrics").1;

    // (f) The query API agrees with the topics: once nothing is left to
    // emit, every rep's /v1/reps answer is its latest record on the score
    // topic with the KPI table of its latest KPI record, plus its
    // company-wide rank, which the topic's records give too.
    std::thread::sleep(Duration::from_secs(3));
    let on_topic = last_records(&read_topic(&broker.addr, "salespulse.scores", 1));
    let kpis = latest_by_rep(&read_topic(&broker.addr, "salespulse.kpis", 1));
    assert!(!on_topic.is_empty());
    let scores: Vec<f64> = on_topic
        .values()
        .filter_map(|r| r["score"].as_f64())
        .collect();
    for (rep, record) in &on_topic {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (code, body) = http_get(&http, &format!("/v1/reps/{rep}")).expect("api");
            let mut answer: serde_json::Value =
                serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap_or_default().trim())
                    .unwrap_or_default();
            let o = answer.as_object_mut().expect("an object");
            let standing = o.remove("standing").unwrap_or_default();
            let table = o.remove("kpis").unwrap_or_default();
            for joined in ["forecast", "last_periods", "coaching", "commission"] {
                o.remove(joined);
            }
            let rank = record["score"]
                .as_f64()
                .map(|s| scores.iter().filter(|&&o| o > s).count() + 1);
            let company = &standing["company"];
            let ranked = rank.is_none_or(|r| {
                company["rank"].as_u64() == Some(r as u64)
                    && company["of"].as_u64() == Some(scores.len() as u64)
            });
            // The topic's sparse table restored whole, as the API answers it.
            let same_kpis = kpis.get(rep).is_some_and(|k| {
                let k: salespulse_model::record::KpiRecord =
                    serde_json::from_value(k.clone()).expect("a kpis/2 record");
                serde_json::to_value(&k.kpis).ok() == Some(table.clone())
            });
            if code == 200 && &answer == record && ranked && same_kpis {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "API for {rep} disagrees with the topics (record {}, rank {ranked}, kpis {same_kpis}): {answer}\nvs\n{record}",
                &answer == record
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // (g) What the second run queued, by /metrics, is byte for byte what
    // reached each topic since the first run stopped.
    let queued = settled_output_bytes(&http);
    for (topic, sizes) in record_sizes_by_topic(&broker.addr) {
        let new = &sizes[written_before.get(&topic).map_or(0, Vec::len)..];
        let on_topic: usize = new.iter().sum();
        let counted = queued.get(&topic).copied().unwrap_or(0.0);
        assert_eq!(counted, on_topic as f64, "{topic}: {} records", new.len());
    }
    assert!(queued["salespulse.scores"] > 0.0, "{queued:?}");
    let log = stop(child);

    // (e) /metrics of the two runs add up to exactly what replay rejects, reason by reason.
    let replay_summary = ok(salespulse(&[
        "replay",
        "--events",
        file.to_str().unwrap(),
        "--out",
        "/dev/null",
    ]));
    for reason in [
        "duplicate",
        "not_json",
        "missing_field",
        "wrong_type",
        "unknown_type",
        "bad_timestamp",
        "bad_amount",
        "unknown_currency",
    ] {
        let want: f64 = replay_summary
            .split(&format!("{reason}="))
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or(0.0);
        let series = format!("salespulse_events_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(
            metric(&first_metrics, &series) + metric(&second_metrics, &series),
            want,
            "{reason}"
        );
    }
    // The restarted process rebuilt its state from the changelog, not the input.
    let summary = log
        .lines()
        .find(|l| l.starts_with("run:"))
        .unwrap_or_default();
    let restored = number_after(summary, "restored");
    assert!(restored > 0.0 && restored < half as f64, "{log}");

    let want = replay_final(&file);
    let scores = read_topic(&broker.addr, "salespulse.scores", 1);
    let alerts = read_topic(&broker.addr, "salespulse.alerts", 1);
    let statements = read_topic(&broker.addr, "salespulse.statements", 1);
    let kpi_records = read_topic(&broker.addr, "salespulse.kpis", 1);
    let coaching = read_topic(&broker.addr, "salespulse.coaching", 1);
    let periods = read_topic(&broker.addr, "salespulse.periods", 1);
    check_output_schemas(&[
        &scores,
        &alerts,
        &statements,
        &kpi_records,
        &coaching,
        &periods,
    ]);
    let live = latest_statements(statements.iter().map(|(_, p, _)| p.as_slice()));
    let replayed = replayed_statements(&file);
    assert!(!replayed.is_empty(), "the replay wrote no statements");
    assert_eq!(live, replayed, "the latest statement per key");
    let got = last_scores(&scores);
    assert_eq!(got.len(), want.len());
    for (rep, v) in &want {
        assert_eq!(got.get(rep), Some(v), "rep {rep}");
    }
    // The latest KPI record per rep (the shutdown sends every rep's) is the
    // replay's, `seq` aside.
    let without_seq =
        |m: HashMap<String, serde_json::Value>| -> HashMap<String, serde_json::Value> {
            m.into_iter()
                .map(|(rep, mut v)| {
                    v.as_object_mut().unwrap().remove("seq");
                    (rep, v)
                })
                .collect()
        };
    let live_kpis = without_seq(latest_by_rep(&kpi_records));
    let replayed_kpis = without_seq(replayed_kpis(&file));
    assert_eq!(live_kpis.len(), want.len());
    assert!(
        live_kpis == replayed_kpis,
        "the latest KPI record per rep differs from the replay's"
    );

    // Every malformed line and duplicate is in the DLQ once (at-least-once may repeat
    // records between the last commit and the SIGTERM; a graceful stop commits, so none here).
    let dlq = read_topic(&broker.addr, "salespulse.dlq", 1);
    let rejected = ok(salespulse(&[
        "replay",
        "--events",
        file.to_str().unwrap(),
        "--out",
        "/dev/null",
    ]));
    let want_rejected: usize = rejected
        .split("rejected ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert_eq!(dlq.len(), want_rejected);
    for (_, payload, headers) in &dlq {
        let offset: usize = headers["source_offset"].parse().unwrap();
        assert_eq!(
            payload.as_slice(),
            lines[offset].as_bytes(),
            "DLQ keeps the original bytes"
        );
        assert!(!headers["reason"].is_empty() && !headers["message"].is_empty());
        assert_eq!(headers["source_topic"], "sales.events");
    }
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn over_three_partitions_with_a_restart_live_equals_a_partitioned_replay() {
    // Three partitions: each partition's engine has its own stream time, and
    // assist credits cross partitions through salespulse.by-rep. `replay
    // --partitions 3` models exactly that, so the last record per rep must
    // match it, through a restart that restores every partition from both
    // the input and the by-rep topic.
    let broker = Broker::start();
    let http = format!("127.0.0.1:{}", support::free_port());
    let cfg = config_dir(
        "parts",
        &broker.addr,
        3,
        &format!("[http]\nlisten = \"{http}\"\n[metrics]\nper_rep = true\nper_rep_limit = 5\n"),
    );
    create_topics(&cfg);
    let file = cfg.join("events.ndjson");
    ok(salespulse(&[
        "loadgen",
        "--out",
        file.to_str().unwrap(),
        "--reps",
        "30",
        "--days",
        "35",
        "--seed",
        "8",
        "--out-of-order",
        "0.03",
        "--duplicates",
        "0.02",
        "--malformed",
        "0.02",
    ]));
    let replay_summary = ok(salespulse(&[
        "replay",
        "--events",
        file.to_str().unwrap(),
        "--partitions",
        "3",
        "--out",
        "/dev/null",
    ]));
    let credits = number_after(&replay_summary, "credits");
    assert!(credits > 0.0, "{replay_summary}");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;

    produce(&broker.addr, &lines[..half]);
    let child = start_run(&cfg);
    wait_processed(&http, half as f64);
    let first = http_get(&http, "/metrics").expect("metrics").1;
    stop(child);

    produce(&broker.addr, &lines[half..]);
    let child = start_run(&cfg);
    wait_processed(&http, (lines.len() - half) as f64);
    // Everything is processed once the group committed the whole input and
    // every by-rep record (credits are sent before the input is committed).
    let deadline = Instant::now() + Duration::from_secs(120);
    while committed(&broker.addr, "it-parts", "sales.events", 3)
        .iter()
        .sum::<i64>()
        != lines.len() as i64
    {
        assert!(Instant::now() < deadline, "input not committed");
        std::thread::sleep(Duration::from_millis(300));
    }
    let by_rep_ends = ends(&broker.addr, "salespulse.by-rep", 3);
    while committed(&broker.addr, "it-parts", "salespulse.by-rep", 3) != by_rep_ends {
        assert!(Instant::now() < deadline, "by-rep not committed");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Every credit the input makes went through the by-rep topic exactly
    // once (a graceful restart sends none again), none misrouted.
    let credit_records = read_topic(&broker.addr, "salespulse.by-rep", 3)
        .iter()
        .filter(|(_, _, h)| h.get("salespulse.kind").map(String::as_str) == Some("assist_credit"))
        .count();
    assert_eq!(credit_records as f64, credits);
    let now = http_get(&http, "/metrics").expect("metrics").1;
    assert_eq!(
        metric(&first, "salespulse_input_misrouted_total")
            + metric(&now, "salespulse_input_misrouted_total"),
        0.0
    );
    // Every series docs/metrics.md documents is exported (the business
    // gauges within their 5 s refresh); per-rep series for 5 of 30 reps.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = http_get(&http, "/metrics").expect("metrics").1;
        let missing: Vec<String> = documented_series()
            .into_iter()
            .filter(|name| !now.lines().any(|l| l.starts_with(name.as_str())))
            .collect();
        if missing.is_empty() {
            let per_rep = now
                .lines()
                .filter(|l| l.starts_with("salespulse_rep_score{"))
                .count();
            assert_eq!(per_rep, 5);
            assert_eq!(metric(&now, "salespulse_rep_series_left_out"), 25.0);
            break;
        }
        assert!(Instant::now() < deadline, "not exported: {missing:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    stop(child);

    let want = replay_partitioned(&file, 3);
    let got = last_scores(&read_topic(&broker.addr, "salespulse.scores", 3));
    assert_eq!(got.len(), want.len());
    for (rep, v) in &want {
        assert_eq!(got.get(rep), Some(v), "rep {rep}");
    }
}

/// The record with the highest `seq` per rep of a topic keyed by rep.
fn latest_by_rep(records: &[support::Record]) -> HashMap<String, serde_json::Value> {
    let mut out: HashMap<String, serde_json::Value> = HashMap::new();
    for (_, payload, _) in records {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
        let rep = v["rep_id"].as_str().unwrap().to_string();
        if out
            .get(&rep)
            .is_none_or(|o| v["seq"].as_u64() > o["seq"].as_u64())
        {
            out.insert(rep, v);
        }
    }
    out
}

/// The size (key, value and headers) of every record of each topic the
/// service produces to (one partition each in this test), in order.
fn record_sizes_by_topic(broker: &str) -> HashMap<String, Vec<usize>> {
    let topics = [
        "salespulse.scores",
        "salespulse.periods",
        "salespulse.kpis",
        "salespulse.coaching",
        "salespulse.statements",
        "salespulse.alerts",
        "salespulse.dlq",
        "salespulse.by-rep",
        "salespulse.state",
    ];
    topics
        .iter()
        .map(|t| (t.to_string(), support::fault::record_sizes(broker, t, 0)))
        .collect()
}

/// `salespulse_output_bytes_total` by topic, once it stopped growing (the
/// last flush and changelog cycle are out).
fn settled_output_bytes(http: &str) -> HashMap<String, f64> {
    let read = || {
        let text = http_get(http, "/metrics").expect("metrics").1;
        text.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("salespulse_output_bytes_total{topic=\"")?;
                let (topic, value) = rest.split_once("\"} ")?;
                Some((topic.to_string(), value.trim().parse::<f64>().ok()?))
            })
            .collect::<HashMap<String, f64>>()
    };
    let mut last = read();
    loop {
        std::thread::sleep(Duration::from_millis(1500));
        let now = read();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Every series name in the tables of docs/metrics.md.
fn documented_series() -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .unwrap();
    let mut names: Vec<String> = doc
        .lines()
        .filter(|l| l.starts_with("| `salespulse_"))
        .flat_map(|l| {
            let first_cell = l.split('|').nth(1).unwrap_or_default();
            first_cell
                .split('`')
                .filter(|x| x.starts_with("salespulse_"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 20, "{names:?}");
    names
}

/// Every record of a live run names its schema in the `salespulse.schema`
/// header as in its `schema` field, and validates against docs/schemas/
/// with the independent validator (scripts/check_outputs.py).
fn check_output_schemas(topics: &[&[support::Record]]) {
    let dir = support::scratch("live-schemas");
    let path = dir.join("records.ndjson");
    let mut lines = String::new();
    for records in topics {
        for (_, payload, headers) in records.iter() {
            let v: serde_json::Value = serde_json::from_slice(payload).expect("json record");
            assert_eq!(
                headers.get("salespulse.schema").map(String::as_str),
                v["schema"].as_str(),
                "header and field disagree"
            );
            lines.push_str(std::str::from_utf8(payload).expect("utf-8"));
            lines.push('\n');
        }
    }
    std::fs::write(&path, lines).expect("write records");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/check_outputs.py"))
        .arg(root.join("docs/schemas"))
        .arg(&path)
        .output()
        .expect("python3 (scripts/install-test-deps installs it with jsonschema)");
    assert!(
        out.status.success(),
        "live records fail their schemas: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
}

/// The latest statement per key, without what depends on when it was sent
/// (`as_of`, `version`): live sends a change at the next emit interval,
/// replay at the next record it builds.
fn latest_statements<'a>(
    payloads: impl Iterator<Item = &'a [u8]>,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    payloads
        .map(|p| {
            let mut v: serde_json::Value = serde_json::from_slice(p).expect("statement");
            let o = v.as_object_mut().expect("object");
            o.remove("as_of");
            o.remove("seq");
            (v["key"].as_str().expect("key").to_string(), v)
        })
        .collect()
}

/// What `replay` over `events` writes to the file of `flag` (`--kpis`,
/// `--statements`, ...).
fn replayed_file(events: &Path, flag: &str) -> String {
    let dir = support::scratch(&format!("replay{flag}"));
    let path = dir.join("out.ndjson");
    ok(salespulse(&[
        "replay",
        "--events",
        events.to_str().unwrap(),
        "--out",
        "/dev/null",
        flag,
        path.to_str().unwrap(),
    ]));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("replay {flag}: {e}"))
}

/// The latest KPI record per rep of a replay.
fn replayed_kpis(events: &Path) -> HashMap<String, serde_json::Value> {
    let records: Vec<support::Record> = replayed_file(events, "--kpis")
        .lines()
        .map(|l| (None, l.as_bytes().to_vec(), HashMap::new()))
        .collect();
    latest_by_rep(&records)
}

/// `replay --statements` over `events`, latest per key.
fn replayed_statements(events: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    latest_statements(
        replayed_file(events, "--statements")
            .lines()
            .map(str::as_bytes),
    )
}
