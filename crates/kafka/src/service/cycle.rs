//! The service's outputs and its two cycles. The emit cycle publishes the
//! coalesced score records and waits for their acknowledgement. The commit
//! cycle does that, then writes the changelog records of every rep changed
//! since the last cycle and waits for those, and only then commits the
//! input offsets: a committed offset never covers an output or a state
//! change the broker does not hold.

use std::sync::atomic::Ordering;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::warn;

use salespulse_model::{AlertKind, AlertStatus, Rejection};

use std::time::Duration;

use rdkafka::producer::Producer;

use super::context::ServiceContext;
use super::now_ms;
use super::processor::Processor;
use crate::contexts::ProducerHealth;
use crate::routing::KIND_HEADER;
use crate::{KafkaError, KafkaSettings};

/// How often a wait for acknowledgements says it is still waiting.
const ACK_LOG_EVERY: Duration = Duration::from_secs(5);

/// Queues one keyed record (to `partition`, or where the partitioner puts
/// the key), with a `salespulse.kind` header when `kind` is given.
pub(super) fn send(
    producer: &FutureProducer<ProducerHealth>,
    topic: &str,
    partition: Option<i32>,
    key: &str,
    payload: &[u8],
    kind: Option<&str>,
) -> Result<DeliveryFuture, KafkaError> {
    let mut record = FutureRecord::to(topic).key(key).payload(payload);
    if let Some(p) = partition {
        record = record.partition(p);
    }
    if let Some(kind) = kind {
        record = record.headers(OwnedHeaders::new().insert(Header {
            key: KIND_HEADER,
            value: Some(kind),
        }));
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| KafkaError::Client {
            context: format!("queueing a record for {topic}"),
            source: e,
        })
}

/// Queues a rejected record to the DLQ: its original bytes and key, with
/// headers saying why and where it came from.
pub(super) fn send_dlq<M: Message>(
    s: &KafkaSettings,
    producer: &FutureProducer<ProducerHealth>,
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

impl Processor {
    /// Publishes every group's due records and waits for all outputs.
    pub(super) fn emit_cycle(&mut self) -> Result<(), KafkaError> {
        let emitted = self.emit_scores()?;
        let alerts = self.emit_alerts()?;
        let covered_since: Vec<i64> = self
            .groups
            .values_mut()
            .filter_map(|g| g.oldest_unflushed_ms.take())
            .collect();
        self.wait_acks()?;
        self.count_alerts(alerts);
        self.summary.emitted += emitted;
        self.status.scores_emitted.inc_by(emitted);
        if emitted > 0 {
            let now = now_ms();
            for t in covered_since {
                self.status
                    .event_to_emit_seconds
                    .observe((now - t).max(0) as f64 / 1000.0);
            }
        }
        Ok(())
    }

    /// The emit cycle, then the changelog of every changed rep, then the
    /// offsets. A failed commit is retried at the next cycle.
    pub(super) fn commit_cycle(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        self.emit_cycle()?;
        self.write_changelog()?;
        self.wait_acks()?;
        self.commit(consumer);
        Ok(())
    }

    /// Waits until the broker acknowledged every queued output. Outputs are
    /// never given up (`message.timeout.ms = 0`): during an outage this
    /// waits, and /readyz reports it.
    fn wait_acks(&mut self) -> Result<(), KafkaError> {
        if self.inflight.is_empty() {
            return Ok(());
        }
        self.status
            .acks_waiting_since_ms
            .store(now_ms(), Ordering::Relaxed);
        let pending: Vec<DeliveryFuture> = self.inflight.drain(..).collect();
        let total = pending.len();
        let mut result = Ok(());
        for (i, mut f) in pending.into_iter().enumerate() {
            let outcome = loop {
                match self
                    .rt
                    .block_on(async { tokio::time::timeout(ACK_LOG_EVERY, &mut f).await })
                {
                    Ok(outcome) => break outcome,
                    Err(_) => warn!(
                        waiting = total - i,
                        in_flight = self.producer.in_flight_count(),
                        "still waiting for the broker to acknowledge outputs"
                    ),
                }
            };
            let r = match outcome {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((e, _))) => Err(KafkaError::Client {
                    context: "delivering an output record".into(),
                    source: e,
                }),
                Err(_) => Err(KafkaError::Config(
                    "the producer dropped an output record".into(),
                )),
            };
            if result.is_ok() {
                result = r;
            }
        }
        self.status
            .acks_waiting_since_ms
            .store(0, Ordering::Relaxed);
        result
    }

    /// Queues every group's due score records and summaries.
    fn emit_scores(&mut self) -> Result<u64, KafkaError> {
        let mut emitted = 0u64;
        for (&partition, g) in self.groups.iter_mut() {
            let records = if g.final_records {
                let mut all = g.engine.drain_summaries();
                all.extend(g.engine.score_all());
                all
            } else {
                g.engine.flush()
            };
            for rec in records {
                self.per_rep.observe(&self.status, partition, &rec);
                let payload = serde_json::to_vec(&rec)
                    .map_err(|e| KafkaError::Config(format!("serializing a score record: {e}")))?;
                self.inflight.push(send(
                    &self.producer,
                    &self.s.output.scores,
                    None,
                    &rec.rep_id,
                    &payload,
                    None,
                )?);
                emitted += 1;
            }
        }
        Ok(emitted)
    }

    /// Queues every group's new alert records, keyed by rep (or source).
    fn emit_alerts(&mut self) -> Result<Vec<(AlertKind, AlertStatus)>, KafkaError> {
        let mut sent = Vec::new();
        for g in self.groups.values_mut() {
            for a in g.engine.drain_alerts() {
                let payload = serde_json::to_vec(&a)
                    .map_err(|e| KafkaError::Config(format!("serializing an alert: {e}")))?;
                let key = a.rep_id.as_deref().or(a.source.as_deref()).unwrap_or("");
                self.inflight.push(send(
                    &self.producer,
                    &self.s.output.alerts,
                    None,
                    key,
                    &payload,
                    None,
                )?);
                sent.push((a.kind, a.status));
            }
        }
        Ok(sent)
    }

    /// Counts acknowledged alerts and, when any changed, recounts the open ones.
    fn count_alerts(&mut self, sent: Vec<(AlertKind, AlertStatus)>) {
        for (kind, status) in &sent {
            self.status
                .alerts
                .with_label_values(&[kind.as_str(), status.as_str()])
                .inc();
        }
        if !sent.is_empty() {
            self.recount_open_alerts();
        }
    }

    /// Sets `salespulse_alerts_firing` from the owned partitions' open alerts.
    pub(super) fn recount_open_alerts(&self) {
        let gauge = &self.status.alerts_firing;
        gauge.reset();
        for g in self.groups.values() {
            for a in g.engine.open_alerts() {
                gauge
                    .with_label_values(&[
                        a.kind.as_str(),
                        a.severity.as_str(),
                        a.team_id.as_deref().unwrap_or(""),
                    ])
                    .inc();
            }
        }
    }

    /// Queues the changelog record of every rep changed since the last
    /// cycle, to the changelog partition of its group.
    fn write_changelog(&mut self) -> Result<(), KafkaError> {
        for (&partition, g) in self.groups.iter_mut() {
            for rep in g.engine.take_unsaved() {
                let Some(bytes) = g.engine.snapshot(&rep) else {
                    continue;
                };
                self.status
                    .changelog_record_bytes
                    .observe(bytes.len() as f64);
                self.inflight.push(send(
                    &self.producer,
                    &self.layout.changelog,
                    Some(partition),
                    &rep,
                    &bytes,
                    None,
                )?);
                self.summary.changelog_written += 1;
                self.status.changelog_records.inc();
            }
        }
        Ok(())
    }

    /// Commits every offset that moved since the last successful commit.
    fn commit(&mut self, consumer: &BaseConsumer<ServiceContext>) {
        let mut tpl = TopicPartitionList::new();
        let mut moved = Vec::new();
        let processed = self
            .groups
            .iter()
            .flat_map(|(p, g)| g.offsets.iter().map(move |(t, o)| (t, *p, *o)));
        let ingest = self
            .ingest
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |(p, o)| (t, *p, *o)));
        for (topic, partition, o) in processed.chain(ingest) {
            if o.next > o.committed
                && tpl
                    .add_partition_offset(topic, partition, Offset::Offset(o.next))
                    .is_ok()
            {
                moved.push((topic.clone(), partition, o.next));
            }
        }
        if moved.is_empty() {
            return;
        }
        // Asynchronous: a synchronous commit can wait forever when the
        // member lost its session (its coordinator is mid-rebalance). The
        // outcome arrives in the context's commit callback; a failed commit
        // marks every offset for the next cycle to send again.
        match consumer.commit(&tpl, CommitMode::Async) {
            Ok(()) => {
                for (topic, partition, next) in moved {
                    if let Some(o) = self.offsets_mut(&topic, partition) {
                        o.committed = next;
                    }
                }
            }
            Err(e) => {
                self.status.commit_failing.store(true, Ordering::Relaxed);
                self.status.commit_failures.inc();
                warn!(error = %e, "committing offsets failed; retrying at the next cycle");
            }
        }
    }

    /// After a failed commit: every offset is sent again at the next cycle.
    pub(super) fn recommit_all(&mut self) {
        let groups = self
            .groups
            .values_mut()
            .flat_map(|g| g.offsets.values_mut());
        let ingest = self.ingest.values_mut().flat_map(|ps| ps.values_mut());
        for o in groups.chain(ingest) {
            o.committed = -1;
        }
    }

    fn offsets_mut(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> Option<&mut super::processor::Offsets> {
        match self.groups.get_mut(&partition) {
            Some(g) if g.offsets.contains_key(topic) => g.offsets.get_mut(topic),
            _ => self.ingest.get_mut(topic)?.get_mut(&partition),
        }
    }
}
