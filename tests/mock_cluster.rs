//! The service end to end against librdkafka's in-process mock cluster (a
//! real Kafka-protocol listener on 127.0.0.1): generated records with
//! duplicates and malformed lines in, score records and DLQ records out.
//! The real-broker suite (Tansu) covers the same ground plus restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;

mod support;
use support::read_topic;

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_kafka::{produce_generated, run, KafkaSettings, Status};
use salespulse_loadgen::{Generator, Options};

fn engine_config() -> EngineConfig {
    let s: Settings = serde_json::from_str(
        r#"{"currency": {"rates": {"EUR": "1.08", "GBP": "1.27"}},
            "profiles": {"direct": {"components": [{"kpi": "revenue", "window": "month", "target": 40000, "weight": 1}]}}}"#,
    )
    .unwrap();
    EngineConfig::new(&s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_scores_equal_replay_and_rejects_go_to_the_dlq() {
    let cluster = MockCluster::new(1).unwrap();
    let mut s = KafkaSettings::default();
    s.kafka.brokers = cluster.bootstrap_servers();
    s.kafka.group_id = "salespulse-test".into();
    s.topics.partitions = 1;
    s.service.emit_interval = "100ms".into();
    // The mock cluster does not serve CreateTopics; the admin path is tested on the real broker.
    for t in [
        &s.input.topics[0],
        &s.output.scores,
        &s.output.dlq,
        &s.output.by_rep,
    ] {
        cluster.create_topic(t, 1, 1).unwrap();
    }

    let opts = Options {
        reps: 30,
        days: 8,
        seed: 7,
        duplicates: 0.02,
        malformed: 0.02,
        ..Options::default()
    };
    let lines: Vec<String> = Generator::new(opts.clone()).collect();
    let produced = produce_generated(&s, &s.input.topics[0], opts, 0, None, None)
        .await
        .unwrap();
    assert_eq!(produced.produced, lines.len() as u64);

    // The same records through a replay engine, in the same (single-partition) order.
    let cfg = engine_config();
    let mut replay = Engine::new(cfg.clone());
    let mut rejected_bytes = Vec::new();
    for l in &lines {
        if replay.ingest(l.as_bytes(), None).is_err() {
            rejected_bytes.push(l.clone().into_bytes());
        }
    }
    let want: HashMap<String, serde_json::Value> = replay
        .score_all()
        .into_iter()
        .map(|r| {
            (
                r.rep_id.clone(),
                without_version(serde_json::to_value(&r).unwrap()),
            )
        })
        .collect();

    let status = Arc::new(Status::default());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = {
        let (s, cfg, status) = (s.clone(), cfg.clone(), status.clone());
        tokio::spawn(async move {
            run(&s, &cfg, status, async {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let total = lines.len() as u64;
    while status.processed() < total {
        assert!(
            Instant::now() < deadline,
            "service did not consume everything"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_tx.send(()).unwrap();
    let summary = service.await.unwrap().unwrap();
    assert_eq!(summary.rejected as usize, rejected_bytes.len());

    // Last score record per rep (highest version) equals the replay, version aside.
    let mut last: HashMap<String, (u64, serde_json::Value)> = HashMap::new();
    for (key, payload, _) in read_topic(&s.kafka.brokers, &s.output.scores, 1) {
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let rep = v["rep_id"].as_str().unwrap().to_string();
        assert_eq!(
            key.as_deref(),
            Some(rep.as_bytes()),
            "score records are keyed by rep_id"
        );
        if v["kind"] != "score" {
            continue;
        }
        let version = v["version"].as_u64().unwrap();
        if last.get(&rep).is_none_or(|(old, _)| version > *old) {
            last.insert(rep, (version, without_version(v)));
        }
    }
    assert_eq!(last.len(), want.len());
    for (rep, (_, got)) in &last {
        assert_eq!(Some(got), want.get(rep), "rep {rep}");
    }

    // Business gauges: summed over every (team, role, region) they equal the replay's totals.
    let families = status.registry.gather();
    let gauge_sum = |name: &str, labels: &[(&str, &str)]| -> f64 {
        families
            .iter()
            .filter(|f| f.name() == name)
            .flat_map(|f| f.get_metric())
            .filter(|m| {
                labels.iter().all(|(k, v)| {
                    m.get_label()
                        .iter()
                        .any(|l| l.name() == *k && l.value() == *v)
                })
            })
            .map(|m| m.get_gauge().get_value())
            .sum()
    };
    for (kpi, window) in [
        ("calls", "30d"),
        ("deals_won", "quarter"),
        ("activities", "7d"),
    ] {
        let want_total: f64 = want
            .values()
            .map(|r| r["kpis"][kpi][window].as_f64().unwrap())
            .sum();
        assert_eq!(
            gauge_sum("salespulse_kpi", &[("kpi", kpi), ("window", window)]),
            want_total,
            "{kpi} {window}"
        );
    }
    assert_eq!(gauge_sum("salespulse_active_reps", &[]), want.len() as f64);

    // Every rejected record is in the DLQ with its original bytes and reason headers.
    let dlq = read_topic(&s.kafka.brokers, &s.output.dlq, 1);
    assert_eq!(dlq.len(), rejected_bytes.len());
    for ((_, payload, headers), original) in dlq.iter().zip(&rejected_bytes) {
        assert_eq!(payload, original);
        for h in [
            "reason",
            "message",
            "source_topic",
            "source_partition",
            "source_offset",
        ] {
            assert!(headers.contains_key(h), "missing header {h}: {headers:?}");
        }
    }
}

fn without_version(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("version");
    }
    v
}
