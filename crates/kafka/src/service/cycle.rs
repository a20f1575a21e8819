//! The service's outputs and its two cycles. The emit cycle queues the
//! coalesced score records and alerts. The commit cycle does that, queues
//! the changelog records of every rep changed since the last cycle, and
//! marks the input offsets reached to be committed once the broker
//! acknowledged every output queued before them (service/inflight.rs): a
//! committed offset never covers an output or a state change the broker
//! does not hold. Neither waits; `flush_all` (revocation, shutdown) does.

use std::sync::atomic::Ordering;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::warn;

use salespulse_model::record::{ScoreRecord, HEAD_HEADER};
use salespulse_model::{AlertKind, AlertStatus, Rejection};

use std::time::Duration;

use rdkafka::producer::Producer;

use super::context::ServiceContext;
use super::inflight::{CycleDone, OffsetBatch, MAX_IN_FLIGHT};
use super::now_ms;
use super::processor::Processor;
use crate::contexts::ProducerHealth;
use crate::routing::KIND_HEADER;
use crate::{KafkaError, KafkaSettings};

/// How often a wait for acknowledgements says it is still waiting.
const ACK_LOG_EVERY: Duration = Duration::from_secs(5);

/// Queues one keyed record (to `partition`, or where the partitioner puts
/// the key), with `headers` when given.
pub(super) fn send(
    producer: &FutureProducer<ProducerHealth>,
    topic: &str,
    partition: Option<i32>,
    key: &str,
    payload: &[u8],
    headers: Option<OwnedHeaders>,
) -> Result<DeliveryFuture, KafkaError> {
    let mut record = FutureRecord::to(topic).key(key).payload(payload);
    if let Some(p) = partition {
        record = record.partition(p);
    }
    if let Some(headers) = headers {
        record = record.headers(headers);
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| KafkaError::Client {
            context: format!("queueing a record for {topic}"),
            source: e,
        })
}

/// A `salespulse.kind` header naming what a by-rep record is.
pub(super) fn kind_header(kind: &str) -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: KIND_HEADER,
        value: Some(kind),
    })
}

/// The `salespulse.head` header of a score record: what readers that route
/// or order score records need (kind, rep, version, stream time, team,
/// profile, day close), so they need not parse the whole record.
fn head_header(rec: &ScoreRecord) -> Result<OwnedHeaders, KafkaError> {
    let head = serde_json::to_vec(&rec.head())
        .map_err(|e| KafkaError::Config(format!("serializing a score record's head: {e}")))?;
    Ok(OwnedHeaders::new().insert(Header {
        key: HEAD_HEADER,
        value: Some(&head),
    }))
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
    let original = m.payload().unwrap_or_default();
    let (payload, key) = if s.dlq.redact {
        // The reason, offsets (headers) and fingerprints; no original bytes.
        let p = crate::redacted_dlq_payload(rej.reason.code(), &rej.message, original);
        let k = m.key().map(salespulse_model::privacy::sha256_hex);
        (std::borrow::Cow::Owned(p), k.map(|k| k.into_bytes()))
    } else {
        (
            std::borrow::Cow::Borrowed(original),
            m.key().map(<[u8]>::to_vec),
        )
    };
    let mut record = FutureRecord::to(&s.output.dlq)
        .payload(payload.as_ref())
        .headers(headers);
    if let Some(k) = &key {
        record = record.key(k.as_slice());
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| KafkaError::Client {
            context: "queueing a DLQ record".into(),
            source: e,
        })
}

impl Processor {
    /// Queues every group's due records as one emit cycle (its latency is
    /// recorded when the broker acknowledges all of them), then collects
    /// what the broker acknowledged meanwhile, without waiting.
    pub(super) fn emit_cycle(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        self.queue_emit_cycle()?;
        self.reap(consumer)
    }

    fn queue_emit_cycle(&mut self) -> Result<(), KafkaError> {
        let cycle = self.inflight.start_cycle();
        let emitted = self.emit_scores(cycle)?;
        let alerts = self.emit_alerts(cycle)?;
        let covered_since: Vec<i64> = self
            .groups
            .values_mut()
            .filter_map(|g| g.oldest_unflushed_ms.take())
            .collect();
        let done = CycleDone::new(covered_since, emitted, alerts);
        if let Some(done) = self.inflight.close_cycle(cycle, done) {
            self.record_cycle(done);
        }
        Ok(())
    }

    /// The commit cycle: the emit cycle, the changelog of every changed rep,
    /// and the input offsets reached, to be committed once the broker holds
    /// every output queued before them. Does not wait.
    pub(super) fn commit_cycle(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        self.queue_emit_cycle()?;
        self.write_changelog()?;
        let offsets = self.offsets_to_commit();
        self.inflight.commit_after_queued(offsets);
        self.reap(consumer)
    }

    /// The commit cycle, then waits until the broker acknowledged every
    /// output and the offsets are committed: before a partition is given up
    /// and at shutdown. Outputs are never given up (`message.timeout.ms =
    /// 0`): during an outage this waits, and /readyz reports it.
    pub(super) fn flush_all(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        self.commit_cycle(consumer)?;
        self.wait_for(0, consumer)
    }

    /// Waits until at most `keep` outputs are unacknowledged.
    fn wait_for(
        &mut self,
        keep: usize,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        let producer = &self.producer;
        let (cycles, batches) =
            self.inflight
                .wait_until(keep, &self.rt, ACK_LOG_EVERY, |waiting| {
                    warn!(
                        waiting,
                        in_flight = producer.in_flight_count(),
                        "still waiting for the broker to acknowledge outputs"
                    )
                })?;
        self.settled(consumer, cycles, batches);
        Ok(())
    }

    /// Collects acknowledgements without waiting (unless more than
    /// `MAX_IN_FLIGHT` outputs are pending: then down to half of it).
    fn reap(&mut self, consumer: &BaseConsumer<ServiceContext>) -> Result<(), KafkaError> {
        let (cycles, batches) = self.inflight.reap()?;
        self.settled(consumer, cycles, batches);
        if self.inflight.len() > MAX_IN_FLIGHT {
            self.wait_for(MAX_IN_FLIGHT / 2, consumer)?;
        }
        Ok(())
    }

    fn settled(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        cycles: Vec<CycleDone>,
        batches: Vec<OffsetBatch>,
    ) {
        for c in cycles {
            self.record_cycle(c);
        }
        for b in batches {
            self.commit(consumer, b);
        }
        self.status.acks_waiting_since_ms.store(
            self.inflight.oldest_queued_ms().unwrap_or(0),
            Ordering::Relaxed,
        );
    }

    /// What an acknowledged emit cycle records: counts and latency.
    fn record_cycle(&mut self, c: CycleDone) {
        self.count_alerts(c.alerts);
        self.summary.emitted += c.emitted;
        self.status.scores_emitted.inc_by(c.emitted);
        if c.emitted > 0 {
            let now = now_ms();
            for t in c.covered_since {
                self.status
                    .event_to_emit_seconds
                    .observe((now - t).max(0) as f64 / 1000.0);
            }
        }
    }

    /// Queues every group's due score records and summaries.
    fn emit_scores(&mut self, cycle: u64) -> Result<u64, KafkaError> {
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
                let f = send(
                    &self.producer,
                    &self.s.output.scores,
                    None,
                    &rec.rep_id,
                    &payload,
                    Some(head_header(&rec)?),
                )?;
                self.inflight.push_in(Some(cycle), f, now_ms());
                emitted += 1;
            }
        }
        Ok(emitted)
    }

    /// Queues every group's new alert records, keyed by rep (or source).
    fn emit_alerts(&mut self, cycle: u64) -> Result<Vec<(AlertKind, AlertStatus)>, KafkaError> {
        let mut sent = Vec::new();
        for g in self.groups.values_mut() {
            for a in g.engine.drain_alerts() {
                let payload = serde_json::to_vec(&a)
                    .map_err(|e| KafkaError::Config(format!("serializing an alert: {e}")))?;
                let key = a.rep_id.as_deref().or(a.source.as_deref()).unwrap_or("");
                let f = send(
                    &self.producer,
                    &self.s.output.alerts,
                    None,
                    key,
                    &payload,
                    None,
                )?;
                self.inflight.push_in(Some(cycle), f, now_ms());
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
                let f = send(
                    &self.producer,
                    &self.layout.changelog,
                    Some(partition),
                    &rep,
                    &bytes,
                    None,
                )?;
                self.inflight.push(f, now_ms());
                self.summary.changelog_written += 1;
                self.status.changelog_records.inc();
            }
        }
        Ok(())
    }

    /// Every offset that moved since it was last sent to be committed,
    /// marked as sent.
    fn offsets_to_commit(&mut self) -> OffsetBatch {
        let processed = self
            .groups
            .iter_mut()
            .flat_map(|(p, g)| g.offsets.iter_mut().map(move |(t, o)| (t, *p, o)));
        let ingest = self
            .ingest
            .iter_mut()
            .flat_map(|(t, ps)| ps.iter_mut().map(move |(p, o)| (t, *p, o)));
        let mut moved = Vec::new();
        for (topic, partition, o) in processed.chain(ingest) {
            if o.next > o.committed {
                o.committed = o.next;
                moved.push((topic.clone(), partition, o.next));
            }
        }
        moved
    }

    /// Commits `offsets` (their outputs are acknowledged).
    fn commit(&mut self, consumer: &BaseConsumer<ServiceContext>, offsets: OffsetBatch) {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, next) in &offsets {
            if tpl
                .add_partition_offset(topic, *partition, Offset::Offset(*next))
                .is_err()
            {
                warn!(topic, partition, next, "cannot commit this offset");
            }
        }
        // Asynchronous: a synchronous commit can wait forever when the
        // member lost its session (its coordinator is mid-rebalance). The
        // outcome arrives in the context's commit callback; a failed commit
        // marks every offset for the next cycle to send again.
        if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
            self.status.commit_failing.store(true, Ordering::Relaxed);
            self.status.commit_failures.inc();
            warn!(error = %e, "committing offsets failed; retrying at the next cycle");
            self.recommit_all();
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
}
