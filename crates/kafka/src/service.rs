//! `salespulse run`: consume the input topics in a consumer group, apply
//! each record through the partition's engine, publish rejected records to
//! the DLQ at once and coalesced score records every `emit_interval`, and
//! commit input offsets only after the broker acknowledged every output
//! they cover (at-least-once: a crash loses nothing; records after the last
//! commit are applied again by the next owner, which first restores the
//! partition's state, see `restore`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{info, warn};

use salespulse_engine::{Engine, EngineConfig};
use salespulse_model::Rejection;

use crate::metrics::{refresh_business_gauges, LagContext, Status};
use crate::{restore::restore, KafkaError, KafkaSettings};

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
            _ = gauges.tick() => refresh_business_gauges(&status, parts.values_mut().map(|p| &mut p.engine)),
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
    refresh_business_gauges(&status, parts.values_mut().map(|p| &mut p.engine));
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
