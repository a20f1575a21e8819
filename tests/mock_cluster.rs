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

use salespulse_engine::{Emit, Engine, EngineConfig, Settings};
use salespulse_kafka::{produce_generated, run, KafkaSettings, RunSummary, Status};
use salespulse_loadgen::{Generator, Options};

fn engine_config() -> EngineConfig {
    let s: Settings = serde_json::from_str(
        r#"{"currency": {"rates": {"EUR": "1.08", "GBP": "1.27"}},
            "profiles": {"direct": {"components": [{"kpi": "revenue", "window": "month", "target": 40000, "weight": 1},
                                                   {"kpi": "activities", "window": "7d", "target": 150, "weight": 1}]}}}"#,
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
    s.metrics.per_rep = true;
    s.metrics.per_rep_limit = 10;
    // The mock cluster does not serve CreateTopics; the admin path is tested on the real broker.
    for t in std::iter::once(s.input.topics[0].as_str()).chain(s.output.topics()) {
        cluster.create_topic(t, 1, 1).unwrap();
    }

    let opts = Options {
        // librdkafka's mock cluster keeps about 5 MB per partition: stay well below.
        reps: 16,
        days: 40,
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
    replay.set_partition(0);
    let mut rejected_bytes = Vec::new();
    let mut applied_by_type: HashMap<&str, f64> = HashMap::new();
    let mut want_alerts = Vec::new();
    for l in &lines {
        match replay.ingest(l.as_bytes(), None) {
            Ok(t) => *applied_by_type.entry(t.as_str()).or_default() += 1.0,
            Err(_) => rejected_bytes.push(l.clone().into_bytes()),
        }
        want_alerts.extend(replay.drain().alerts());
    }
    replay.flush(Emit::All);
    let want: HashMap<String, serde_json::Value> = replay
        .drain()
        .scores()
        .into_iter()
        .map(|r| {
            (
                r.rep_id.clone(),
                without_seq(serde_json::to_value(&r).unwrap()),
            )
        })
        .collect();

    let svc = Service::start(&s, &cfg);
    let svc = svc.wait_for(lines.len() as u64).await;
    let status = svc.status.clone();
    let summary = svc.stop().await;
    assert!(
        summary.credits_sent > 0,
        "the stream has assists: {summary:?}"
    );
    assert_eq!(summary.rejected as usize, rejected_bytes.len());

    // Last score record per rep (highest seq) equals the replay, seq aside.
    let mut last: HashMap<String, (u64, serde_json::Value)> = HashMap::new();
    for (key, payload, _) in read_topic(&s.kafka.brokers, &s.output.scores, 1) {
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let rep = v["rep_id"].as_str().unwrap().to_string();
        assert_eq!(
            key.as_deref(),
            Some(rep.as_bytes()),
            "score records are keyed by rep_id"
        );
        if v["schema"] != "score/2" {
            continue;
        }
        let seq = v["seq"].as_u64().unwrap();
        if last.get(&rep).is_none_or(|(old, _)| seq > *old) {
            last.insert(rep, (seq, without_seq(v)));
        }
    }
    assert_eq!(last.len(), want.len());
    for (rep, (_, got)) in &last {
        // The replay's final record has its KPI table merged in; on Kafka
        // it is on its own topic.
        let mut w = want[rep].clone();
        w.as_object_mut().unwrap().remove("kpis");
        assert_eq!(got, &w, "rep {rep}");
    }

    // Business gauges: summed over every (team, role, region) they equal the replay's totals.
    let families = status.metrics.registry().gather();
    let gauge_sum = |name: &str, labels: &[(&str, &str)]| {
        sum_samples(&families, name, labels, |m| m.get_gauge().get_value())
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
    let counter = |name: &str, labels: &[(&str, &str)]| {
        sum_samples(&families, name, labels, |m| m.get_counter().get_value())
    };
    for (t, n) in &applied_by_type {
        assert_eq!(
            counter("salespulse_events_applied_total", &[("type", t)]),
            *n,
            "{t}"
        );
    }
    assert_eq!(
        counter("salespulse_events_duplicate_total", &[]),
        replay
            .stats()
            .rejected_for(salespulse_model::Reason::Duplicate) as f64
    );
    // The score distribution: every scored rep in the +Inf bucket, the
    // buckets cumulative, the sum the replay's.
    let scores: Vec<f64> = want.values().filter_map(|r| r["score"].as_f64()).collect();
    assert_eq!(
        gauge_sum("salespulse_score_bucket", &[("le", "+Inf")]),
        scores.len() as f64
    );
    assert_eq!(
        gauge_sum("salespulse_score_bucket", &[("le", "50")]),
        scores.iter().filter(|&&x| x <= 50.0).count() as f64
    );
    let sum = gauge_sum("salespulse_score_sum", &[]);
    assert!((sum - scores.iter().sum::<f64>()).abs() < 1e-6, "{sum}");
    // Per-rep series for 10 of the 16 reps, the other 6 counted as left out.
    let per_rep = families
        .iter()
        .find(|f| f.name() == "salespulse_rep_score")
        .map_or(0, |f| f.get_metric().len());
    assert_eq!(per_rep, 10);
    assert_eq!(gauge_sum("salespulse_rep_series_left_out", &[]), 6.0);

    // The alerts topic holds exactly the replay's alerts, in order, keyed
    // by rep; the counters and the open-alert gauge agree with them.
    let alerts = read_topic(&s.kafka.brokers, &s.output.alerts, 1);
    assert!(!want_alerts.is_empty(), "40 days of 16 reps raise alerts");
    // Standings too: 16 reps of one role are enough peers.
    assert!(want_alerts
        .iter()
        .any(|a| a.kind == salespulse_model::AlertKind::PeerLaggard));
    let got: Vec<salespulse_model::AlertRecord> = alerts
        .iter()
        .map(|(_, p, _)| serde_json::from_slice(p).unwrap())
        .collect();
    assert_eq!(got, want_alerts);
    for ((key, _, _), a) in alerts.iter().zip(&got) {
        let want_key = a.rep_id.as_deref().or(a.source.as_deref()).unwrap();
        assert_eq!(key.as_deref(), Some(want_key.as_bytes()));
    }
    assert_eq!(
        counter("salespulse_alerts_total", &[]),
        want_alerts.len() as f64
    );
    assert_eq!(
        gauge_sum("salespulse_alerts_firing", &[]),
        replay.open_alerts().count() as f64
    );

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

/// The sum of `value` over the samples of `name` that carry all of `labels`.
fn sum_samples(
    families: &[prometheus::proto::MetricFamily],
    name: &str,
    labels: &[(&str, &str)],
    value: impl Fn(&prometheus::proto::Metric) -> f64,
) -> f64 {
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
        .map(value)
        .sum()
}

/// The service running in the test's runtime.
struct Service {
    status: Arc<Status>,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<RunSummary, salespulse_kafka::KafkaError>>,
}

impl Service {
    fn start(s: &KafkaSettings, cfg: &EngineConfig) -> Service {
        let status = Arc::new(Status::default());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = {
            let (s, cfg, status) = (s.clone(), cfg.clone(), status.clone());
            tokio::spawn(async move {
                run(&s, &cfg, status, async {
                    let _ = stop_rx.await;
                })
                .await
            })
        };
        Service {
            status,
            stop,
            handle,
        }
    }

    /// Waits until `total` input records were applied or rejected and every
    /// assist credit sent was received back.
    async fn wait_for(self, total: u64) -> Service {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.status.ingest.processed() < total || self.status.ingest.credits_in_flight() != 0
        {
            if self.handle.is_finished() {
                let summary = self.stop().await;
                panic!("the service stopped early: {summary:?}");
            }
            assert!(
                Instant::now() < deadline,
                "service did not consume everything: {} of {total}, {} credits in flight",
                self.status.ingest.processed(),
                self.status.ingest.credits_in_flight()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self
    }

    async fn stop(self) -> RunSummary {
        let _ = self.stop.send(());
        self.handle.await.unwrap().unwrap()
    }
}

fn without_seq(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("seq");
    }
    v
}

/// Produces `lines` to `topic`, keyed by each line's event_id (so one rep's
/// events spread over every partition), and waits for the acknowledgements.
async fn produce_keyed_by_event(s: &KafkaSettings, topic: &str, lines: &[String]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let p: FutureProducer = s.producer_config().create().unwrap();
    let mut acks = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let key = serde_json::from_str::<serde_json::Value>(l)
            .ok()
            .and_then(|v| v["event_id"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("broken-{i}"));
        let record = FutureRecord::to(topic).key(&key).payload(l.as_bytes());
        acks.push(p.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for a in acks {
        a.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
}

/// Per rep, every KPI over the calendar quarter (independent of each
/// partition's own stream time, unlike rolling windows).
fn quarter_kpis(records: impl IntoIterator<Item = serde_json::Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = records
        .into_iter()
        .map(|v| {
            let row: Vec<String> = v["kpis"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, w)| format!("{k}={}", w["quarter"]))
                .collect();
            (v["rep_id"].as_str().unwrap().to_string(), row.join(" "))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_keyed_by_something_else_is_rekeyed_by_rep_through_the_by_rep_topic() {
    let cluster = MockCluster::new(1).unwrap();
    let mut s = KafkaSettings::default();
    s.kafka.brokers = cluster.bootstrap_servers();
    s.kafka.group_id = "salespulse-rekey".into();
    s.input.keyed_by = "other".into();
    s.service.emit_interval = "100ms".into();
    // One input partition: the ingest stage then keeps each rep's order, so
    // dedupe and lateness see what replay sees. (Several input partitions are
    // merged in whatever order they are read, which on a backfill can move
    // stream time by days; see docs/topics.md.)
    cluster.create_topic(&s.input.topics[0], 1, 1).unwrap();
    cluster.create_topic(&s.output.by_rep, 3, 1).unwrap();
    cluster.create_topic(&s.output.changelog, 3, 1).unwrap();
    cluster.create_topic(&s.output.scores, 3, 1).unwrap();
    cluster.create_topic(&s.output.dlq, 1, 1).unwrap();
    cluster.create_topic(&s.output.alerts, 1, 1).unwrap();
    cluster.create_topic(&s.output.statements, 1, 1).unwrap();
    cluster.create_topic(&s.output.kpis, 3, 1).unwrap();
    cluster.create_topic(&s.output.coaching, 3, 1).unwrap();
    cluster.create_topic(&s.output.periods, 3, 1).unwrap();
    let lines: Vec<String> = Generator::new(Options {
        reps: 16,
        days: 40,
        seed: 11,
        duplicates: 0.02,
        malformed: 0.02,
        ..Options::default()
    })
    .collect();
    produce_keyed_by_event(&s, &s.input.topics[0], &lines).await;

    let cfg = engine_config();
    let mut replay = Engine::new(cfg.clone());
    let rejected = lines
        .iter()
        .filter(|l| replay.ingest(l.as_bytes(), None).is_err())
        .count();
    // The final record per rep (the records of working-day closes queued
    // meanwhile are not final).
    drop(replay.drain());
    replay.flush(Emit::All);
    let want = quarter_kpis(
        replay
            .drain()
            .scores()
            .iter()
            .map(|r| serde_json::to_value(r).unwrap()),
    );

    let svc = Service::start(&s, &cfg).wait_for(lines.len() as u64).await;
    let summary = svc.stop().await;
    assert!(summary.credits_sent > 0, "{summary:?}");
    assert_eq!(summary.rejected as usize, rejected, "{summary:?}");
    // The by-rep topic holds every valid record once, keyed by its rep_id and
    // on the partition Kafka's default partitioner picks for that key.
    let by_rep = read_partitions(&s.kafka.brokers, &s.output.by_rep, 3);
    let events: Vec<_> = by_rep
        .iter()
        .filter(|(_, (_, _, headers))| !headers.contains_key("salespulse.kind"))
        .collect();
    assert_eq!(events.len() as u64, summary.rekeyed);
    for (partition, (key, payload, _)) in &by_rep {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
        assert_eq!(key.as_deref(), v["rep_id"].as_str().map(str::as_bytes));
        let key = key.as_deref().unwrap();
        assert_eq!(*partition, salespulse_pipeline::partition_for(key, 3));
    }

    // Each rep's last KPI record (from the partition that owns it) has the
    // same quarter totals, assists included, as one replay over everything.
    let mut last: HashMap<String, (u64, serde_json::Value)> = HashMap::new();
    for (_, payload, _) in read_topic(&s.kafka.brokers, &s.output.kpis, 3) {
        // Read as a consumer does: the sparse table restored whole.
        let k: salespulse_model::record::KpiRecord = serde_json::from_slice(&payload).unwrap();
        let v = serde_json::json!({"rep_id": k.rep_id, "kpis": k.kpis});
        if last.get(&k.rep_id).is_none_or(|(old, _)| k.seq > *old) {
            last.insert(k.rep_id, (k.seq, v));
        }
    }
    assert_eq!(quarter_kpis(last.into_values().map(|(_, v)| v)), want);
}

/// Records of `topic` with their partition: (partition, key, payload, headers).
fn read_partitions(broker: &str, topic: &str, partitions: i32) -> Vec<(i32, support::Record)> {
    (0..partitions)
        .flat_map(|p| {
            support::read_partition(broker, topic, p)
                .into_iter()
                .map(move |r| (p, r))
        })
        .collect()
}

#[tokio::test]
async fn our_partitioner_matches_librdkafkas_murmur2_random() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("keys", 7, 1).unwrap();
    let mut s = KafkaSettings::default();
    s.kafka.brokers = cluster.bootstrap_servers();
    let p: FutureProducer = s.producer_config().create().unwrap();
    for i in 0..200 {
        let key = format!("rep-{i:05}");
        let delivery = p
            .send(
                FutureRecord::to("keys").key(&key).payload("x"),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(
            delivery.partition,
            salespulse_pipeline::partition_for(key.as_bytes(), 7),
            "{key}"
        );
    }
}
