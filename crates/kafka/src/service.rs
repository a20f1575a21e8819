//! `salespulse run`: consume the input topics in a consumer group, apply
//! each record through the partition's engine, publish rejected records to
//! the DLQ at once and coalesced score records every `emit_interval`, and
//! commit input offsets only after the broker acknowledged every output
//! they cover (at-least-once: a crash loses nothing; records after the last
//! commit are applied again by the next owner, which first restores the
//! partition's state, see `restore`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{info, warn};

use salespulse_engine::{Engine, EngineConfig};
use salespulse_model::Rejection;

use crate::{restore::restore, KafkaError, KafkaSettings};

/// Live status and metrics, shared with the HTTP layer. One Prometheus
/// registry; every series is documented in docs/metrics.md.
pub struct Status {
    /// The registry `/metrics` renders.
    pub registry: prometheus::Registry,
    /// Partitions currently owned.
    pub partitions: prometheus::IntGauge,
    /// Set once the service has consumed from an assigned partition.
    pub consuming: AtomicBool,
    /// Records received, by topic.
    pub received: prometheus::IntCounterVec,
    /// Records applied.
    pub applied: prometheus::IntCounter,
    /// Records rejected, by reason.
    pub rejected: prometheus::IntCounterVec,
    /// Score records and summaries acknowledged by the broker.
    pub scores_emitted: prometheus::IntCounter,
    /// Seconds to apply one record (decode, validate, apply).
    pub apply_seconds: prometheus::Histogram,
    /// Seconds from the oldest record a flush covers (its Kafka timestamp) to the flush's records being acknowledged.
    pub event_to_emit_seconds: prometheus::Histogram,
    /// Reps held in state.
    pub state_reps: prometheus::IntGauge,
    /// Changes of the owned partition set.
    pub rebalances: prometheus::IntCounter,
    /// Records behind the partition's high watermark, from librdkafka statistics.
    pub consumer_lag: prometheus::IntGaugeVec,
    /// Additive KPIs summed over the reps this instance owns, by group.
    pub kpi: prometheus::GaugeVec,
    /// Reps this instance owns, by team and role.
    pub active_reps: prometheus::IntGaugeVec,
}

/// KPIs that add up across reps and instances (ratios are derived in PromQL from these).
const ADDITIVE: [salespulse_model::KpiName; 16] = {
    use salespulse_model::KpiName as K;
    [
        K::Revenue,
        K::DealsWon,
        K::DealsLost,
        K::PipelineCreated,
        K::Calls,
        K::Meetings,
        K::Emails,
        K::Activities,
        K::NewCustomers,
        K::Invoiced,
        K::Collected,
        K::Refunds,
        K::NetRevenue,
        K::PartnersOnboarded,
        K::PartnerRevenue,
        K::Assists,
    ]
};

/// Sets the business gauges from the engines' group sums (replacing the previous values).
fn refresh_business_gauges(status: &Status, parts: &mut HashMap<(String, i32), Partition>) {
    let mut groups: HashMap<(String, String, String), (usize, Vec<salespulse_kpi::SalesAcc>)> =
        HashMap::new();
    let mut names = Vec::new();
    for p in parts.values_mut() {
        names = p.engine.window_names().to_vec();
        for (key, g) in p.engine.group_sums() {
            let e = groups
                .entry(key)
                .or_insert_with(|| (0, vec![salespulse_kpi::SalesAcc::default(); g.sums.len()]));
            e.0 += g.reps;
            for (t, s) in e.1.iter_mut().zip(&g.sums) {
                salespulse_window::Accumulator::merge(t, s);
            }
        }
    }
    status.kpi.reset();
    status.active_reps.reset();
    for ((team, role, region), (reps, sums)) in &groups {
        status
            .active_reps
            .with_label_values(&[team.as_str(), role.as_str()])
            .add(*reps as i64);
        for kpi in ADDITIVE {
            for (window, acc) in names.iter().zip(sums) {
                if let Some(v) = salespulse_kpi::kpi_value(kpi, acc).as_f64() {
                    status
                        .kpi
                        .with_label_values(&[
                            kpi.as_str(),
                            window,
                            team.as_str(),
                            role.as_str(),
                            region.as_str(),
                        ])
                        .set(v);
                }
            }
        }
    }
}

/// Client context that copies librdkafka's per-partition consumer lag into
/// `salespulse_consumer_lag` (statistics arrive every `statistics.interval.ms`).
struct LagContext(Arc<Status>);

impl rdkafka::ClientContext for LagContext {
    fn stats(&self, stats: rdkafka::Statistics) {
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                // librdkafka reports -1 for partitions it does not consume, and uses partition -1 internally.
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.0
                        .consumer_lag
                        .with_label_values(&[topic.as_str(), &partition.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for LagContext {}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

impl Status {
    /// Fresh metrics in a fresh registry.
    pub fn new() -> Self {
        use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
        let registry = prometheus::Registry::new();
        let partitions = IntGauge::new(
            "salespulse_partitions_owned",
            "Input partitions this instance owns",
        )
        .expect("valid metric");
        let received = IntCounterVec::new(
            Opts::new(
                "salespulse_events_received_total",
                "Records received from input topics",
            ),
            &["topic"],
        )
        .expect("valid metric");
        let applied = IntCounter::new(
            "salespulse_events_applied_total",
            "Records applied to the engine",
        )
        .expect("valid metric");
        let rejected = IntCounterVec::new(
            Opts::new(
                "salespulse_events_rejected_total",
                "Records rejected, by reason code",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let scores_emitted = IntCounter::new(
            "salespulse_scores_emitted_total",
            "Score records and period summaries acknowledged by the broker",
        )
        .expect("valid metric");
        let apply_seconds = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "salespulse_apply_seconds",
                "Seconds to decode, validate and apply one record",
            )
            .buckets(vec![
                1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 1e-4, 1e-3,
            ]),
        )
        .expect("valid metric");
        let event_to_emit_seconds = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "salespulse_event_to_emit_seconds",
                "Seconds from the oldest record a flush covers (Kafka record timestamp) to its score records being acknowledged",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )
        .expect("valid metric");
        let state_reps = IntGauge::new(
            "salespulse_state_reps",
            "Reps held in state by this instance",
        )
        .expect("valid metric");
        let consumer_lag = prometheus::IntGaugeVec::new(
            Opts::new(
                "salespulse_consumer_lag",
                "Records between the committed position and the high watermark",
            ),
            &["topic", "partition"],
        )
        .expect("valid metric");
        let kpi = prometheus::GaugeVec::new(
            Opts::new("salespulse_kpi", "Additive KPIs summed over the reps this instance owns (sum by (...) across instances)"),
            &["kpi", "window", "team", "role", "region"],
        )
        .expect("valid metric");
        let active_reps = prometheus::IntGaugeVec::new(
            Opts::new("salespulse_active_reps", "Reps this instance owns"),
            &["team", "role"],
        )
        .expect("valid metric");
        let rebalances = IntCounter::new(
            "salespulse_rebalances_total",
            "Changes of the set of owned input partitions",
        )
        .expect("valid metric");
        let build = IntGauge::with_opts(
            Opts::new("salespulse_build_info", "Build information")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("valid metric");
        build.set(1);
        for m in [
            Box::new(partitions.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(received.clone()),
            Box::new(applied.clone()),
            Box::new(rejected.clone()),
            Box::new(scores_emitted.clone()),
            Box::new(build),
            Box::new(apply_seconds.clone()),
            Box::new(event_to_emit_seconds.clone()),
            Box::new(state_reps.clone()),
            Box::new(rebalances.clone()),
            Box::new(consumer_lag.clone()),
            Box::new(kpi.clone()),
            Box::new(active_reps.clone()),
        ] {
            registry.register(m).expect("metric names are unique");
        }
        for r in salespulse_model::Reason::ALL {
            rejected.with_label_values(&[r.code()]);
        }
        Status {
            registry,
            partitions,
            consuming: AtomicBool::new(false),
            received,
            applied,
            rejected,
            scores_emitted,
            apply_seconds,
            event_to_emit_seconds,
            state_reps,
            rebalances,
            consumer_lag,
            kpi,
            active_reps,
        }
    }

    /// Records applied plus rejected so far.
    pub fn processed(&self) -> u64 {
        let rejected: u64 = salespulse_model::Reason::ALL
            .iter()
            .map(|r| self.rejected.with_label_values(&[r.code()]).get())
            .sum();
        self.applied.get() + rejected
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Records read.
    pub read: u64,
    /// Records applied.
    pub applied: u64,
    /// Records sent to the DLQ.
    pub rejected: u64,
    /// Score records and summaries produced.
    pub emitted: u64,
    /// Records re-applied while restoring partitions.
    pub restored: u64,
}

struct Partition {
    engine: Engine,
    /// Offset of the next record to apply.
    next_offset: i64,
    /// `next_offset` at the last commit.
    committed: i64,
    /// Emit every rep (shutdown), not only the changed ones.
    final_records: bool,
    /// Kafka timestamp (ms) of the first record applied since the last flush.
    oldest_unflushed_ms: Option<i64>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs until `shutdown` resolves, then flushes, commits and returns.
pub async fn run(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    status: Arc<Status>,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, KafkaError> {
    s.validate()?;
    let mut client = s.client_config();
    // Defaults the user may override in [kafka.client]: lag statistics every
    // second, and a short fetch wait so a quiet topic does not add up to
    // librdkafka's default 500 ms to the event-to-emit latency.
    for (key, value) in [
        ("statistics.interval.ms", "1000"),
        ("fetch.wait.max.ms", "50"),
    ] {
        if !s.kafka.client.contains_key(key) {
            client.set(key, value);
        }
    }
    let consumer: StreamConsumer<LagContext> = client
        .set("group.id", &s.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // Eager assignors rebalance correctly on the test broker; cooperative-sticky was seen losing partitions.
        .set("partition.assignment.strategy", "range,roundrobin")
        .create_with_context(LagContext(status.clone()))
        .map_err(KafkaError::client("creating the consumer"))?;
    let topics: Vec<&str> = s.input.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(KafkaError::client("subscribing"))?;
    let producer: FutureProducer = s
        .producer_config()
        .create()
        .map_err(KafkaError::client("creating the producer"))?;
    let interval = Duration::from_millis(s.emit_interval_ms()?);
    let mut parts: HashMap<(String, i32), Partition> = HashMap::new();
    let mut inflight: Vec<DeliveryFuture> = Vec::new();
    let mut summary = RunSummary::default();
    let mut tick = tokio::time::interval(interval);
    // Business gauges walk every rep: refreshed on a slower cadence than emission.
    let mut gauges = tokio::time::interval(Duration::from_secs(5));
    tokio::pin!(shutdown);
    info!(topics = ?s.input.topics, group = %s.kafka.group_id, "consuming");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                emit_and_commit(s, &consumer, &producer, &mut parts, &mut inflight, &mut summary, &status).await?;
            }
            _ = gauges.tick() => refresh_business_gauges(&status, &mut parts),
            msg = consumer.recv() => match msg {
                Ok(m) => {
                    let key = (m.topic().to_string(), m.partition());
                    if !parts.contains_key(&key) {
                        let (engine, n) = restore(s, cfg, &key.0, key.1, m.offset())?;
                        summary.restored += n;
                        info!(topic = %key.0, partition = key.1, restored = n, from = m.offset(), "partition taken over");
                        status.rebalances.inc();
                        parts.insert(key.clone(), Partition { engine, next_offset: m.offset(), committed: m.offset(), final_records: false, oldest_unflushed_ms: None });
                        status.partitions.set(parts.len() as i64);
                        status.consuming.store(true, Ordering::Relaxed);
                    }
                    let Some(p) = parts.get_mut(&key) else { continue };
                    if m.offset() < p.next_offset {
                        continue; // already applied (a re-delivery after a seek)
                    }
                    summary.read += 1;
                    status.received.with_label_values(&[key.0.as_str()]).inc();
                    p.engine.set_position(m.offset() as u64 + 1);
                    let payload = m.payload().unwrap_or_default();
                    if p.oldest_unflushed_ms.is_none() {
                        p.oldest_unflushed_ms = m.timestamp().to_millis().or_else(|| Some(now_ms()));
                    }
                    let timer = status.apply_seconds.start_timer();
                    let applied = p.engine.ingest(payload, Some(now_ms()));
                    timer.observe_duration();
                    match applied {
                        Ok(()) => {
                            summary.applied += 1;
                            status.applied.inc();
                        }
                        Err(rej) => {
                            summary.rejected += 1;
                            status.rejected.with_label_values(&[rej.reason.code()]).inc();
                            inflight.push(send_dlq(s, &producer, &m, &rej)?);
                        }
                    }
                    p.next_offset = m.offset() + 1;
                }
                Err(e) => warn!(error = %e, "consume error"),
            },
        }
    }
    // On shutdown every owned rep gets a record at its partition's final
    // stream time, so the last record per rep equals a replay of the input.
    for p in parts.values_mut() {
        p.final_records = true;
    }
    emit_and_commit(
        s,
        &consumer,
        &producer,
        &mut parts,
        &mut inflight,
        &mut summary,
        &status,
    )
    .await?;
    refresh_business_gauges(&status, &mut parts);
    producer
        .flush(Duration::from_secs(5))
        .map_err(KafkaError::client("flushing the producer"))?;
    consumer.unsubscribe();
    info!(?summary, "stopped");
    Ok(summary)
}

fn send_dlq<M: Message>(
    s: &KafkaSettings,
    producer: &FutureProducer,
    m: &M,
    rej: &Rejection,
) -> Result<DeliveryFuture, KafkaError> {
    let partition = m.partition().to_string();
    let offset = m.offset().to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "reason",
            value: Some(rej.reason.code()),
        })
        .insert(Header {
            key: "message",
            value: Some(rej.message.as_str()),
        })
        .insert(Header {
            key: "source_topic",
            value: Some(m.topic()),
        })
        .insert(Header {
            key: "source_partition",
            value: Some(partition.as_str()),
        })
        .insert(Header {
            key: "source_offset",
            value: Some(offset.as_str()),
        });
    let mut record = FutureRecord::to(&s.output.dlq)
        .payload(m.payload().unwrap_or_default())
        .headers(headers);
    if let Some(k) = m.key() {
        record = record.key(k);
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| KafkaError::Client {
            context: "queueing a DLQ record".into(),
            source: e,
        })
}

/// Emits every partition's coalesced records, waits for the broker to
/// acknowledge them and everything sent before, then commits the offsets
/// that those outputs cover. Partitions no longer assigned are dropped.
async fn emit_and_commit(
    s: &KafkaSettings,
    consumer: &StreamConsumer<LagContext>,
    producer: &FutureProducer,
    parts: &mut HashMap<(String, i32), Partition>,
    inflight: &mut Vec<DeliveryFuture>,
    summary: &mut RunSummary,
    status: &Status,
) -> Result<(), KafkaError> {
    let mut emitted = 0u64;
    let mut covered_since: Vec<i64> = Vec::new();
    for p in parts.values_mut() {
        if let Some(t) = p.oldest_unflushed_ms.take() {
            covered_since.push(t);
        }
        let records = if p.final_records {
            let mut all = p.engine.drain_summaries();
            all.extend(p.engine.score_all());
            all
        } else {
            p.engine.flush()
        };
        for rec in records {
            let payload = serde_json::to_vec(&rec)
                .map_err(|e| KafkaError::Config(format!("serializing a score record: {e}")))?;
            let record = FutureRecord::to(&s.output.scores)
                .key(rec.rep_id.as_str())
                .payload(&payload);
            let f = producer
                .send_result(record)
                .map_err(|(e, _)| KafkaError::Client {
                    context: "queueing a score record".into(),
                    source: e,
                })?;
            inflight.push(f);
            emitted += 1;
        }
    }
    for f in inflight.drain(..) {
        match f.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => {
                return Err(KafkaError::Client {
                    context: "delivering an output record".into(),
                    source: e,
                })
            }
            Err(_) => {
                return Err(KafkaError::Config(
                    "the producer dropped an output record".into(),
                ))
            }
        }
    }
    summary.emitted += emitted;
    status.scores_emitted.inc_by(emitted);
    if emitted > 0 {
        let now = now_ms();
        for t in covered_since {
            status
                .event_to_emit_seconds
                .observe((now - t).max(0) as f64 / 1000.0);
        }
    }
    status
        .state_reps
        .set(parts.values().map(|p| p.engine.rep_count() as i64).sum());
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), p) in parts.iter_mut() {
        if p.next_offset > p.committed {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(p.next_offset))
                .map_err(KafkaError::client("building the commit"))?;
            p.committed = p.next_offset;
        }
    }
    if tpl.count() > 0 {
        consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(KafkaError::client("committing offsets"))?;
    }
    // Drop partitions this member no longer owns: their outputs went out and
    // their offsets were committed above; the new owner restores them.
    if let Ok(assigned) = consumer.assignment() {
        let owned: std::collections::HashSet<(String, i32)> = assigned
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let before = parts.len();
        parts.retain(|k, _| owned.contains(k));
        if parts.len() != before {
            status.rebalances.inc();
        }
        status.partitions.set(parts.len() as i64);
    }
    Ok(())
}
