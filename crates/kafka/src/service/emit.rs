//! The service's outputs: records queued to the producer, DLQ records with
//! their reason headers, and the emit-and-commit cycle that publishes the
//! coalesced score records, waits for every acknowledgement, and only then
//! commits the offsets those outputs cover.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use salespulse_model::Rejection;

use super::{now_ms, State};
use crate::contexts::{LagContext, ProducerHealth};
use crate::routing::KIND_HEADER;
use crate::{KafkaError, KafkaSettings};

/// Queues one keyed record, with a `salespulse.kind` header when `kind` is given.
pub(super) fn send(
    producer: &FutureProducer<ProducerHealth>,
    topic: &str,
    key: &str,
    payload: &[u8],
    kind: Option<&str>,
) -> Result<DeliveryFuture, KafkaError> {
    let mut record = FutureRecord::to(topic).key(key).payload(payload);
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

impl State<'_> {
    /// Emits every partition's coalesced records, waits for the broker to
    /// acknowledge them and everything sent before, then commits the offsets
    /// that those outputs cover. Partitions no longer assigned are dropped.
    pub(super) async fn emit_and_commit(
        &mut self,
        consumer: &StreamConsumer<LagContext>,
    ) -> Result<(), KafkaError> {
        let emitted = self.emit_scores()?;
        let covered_since: Vec<i64> = self
            .groups
            .values_mut()
            .filter_map(|g| g.oldest_unflushed_ms.take())
            .collect();
        for f in self.inflight.drain(..) {
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
        self.status.state_reps.set(
            self.groups
                .values()
                .map(|g| g.engine.rep_count() as i64)
                .sum(),
        );
        self.commit(consumer)?;
        self.drop_unassigned(consumer);
        Ok(())
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
                    &rec.rep_id,
                    &payload,
                    None,
                )?);
                emitted += 1;
            }
        }
        Ok(emitted)
    }

    /// Commits every offset that moved since the last commit.
    fn commit(&mut self, consumer: &StreamConsumer<LagContext>) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        let processed = self
            .groups
            .iter_mut()
            .flat_map(|(p, g)| g.offsets.iter_mut().map(move |(t, o)| (t, *p, o)));
        let ingest = self
            .ingest
            .iter_mut()
            .flat_map(|(t, ps)| ps.iter_mut().map(move |(p, o)| (t, *p, o)));
        for (topic, partition, o) in processed.chain(ingest) {
            if o.next > o.committed {
                tpl.add_partition_offset(topic, partition, Offset::Offset(o.next))
                    .map_err(KafkaError::client("building the commit"))?;
                o.committed = o.next;
            }
        }
        if tpl.count() > 0 {
            consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(KafkaError::client("committing offsets"))?;
        }
        Ok(())
    }

    /// Drops state of partitions this member no longer owns: their outputs
    /// went out and their offsets were committed above; the new owner
    /// restores them. Updates the ownership gauges.
    fn drop_unassigned(&mut self, consumer: &StreamConsumer<LagContext>) {
        let Ok(assigned) = consumer.assignment() else {
            return;
        };
        let owned: HashSet<(String, i32)> = assigned
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let by_rep = self.layout.by_rep.clone();
        let before = self.groups.len();
        self.groups
            .retain(|p, _| owned.contains(&(by_rep.clone(), *p)));
        if self.groups.len() != before {
            self.status.rebalances.inc();
        }
        for (topic, parts) in self.ingest.iter_mut() {
            parts.retain(|p, _| owned.contains(&(topic.clone(), *p)));
        }
        let owned_partitions: HashSet<i32> = owned
            .iter()
            .filter(|(t, _)| *t == by_rep)
            .map(|(_, p)| *p)
            .collect();
        self.per_rep
            .forget_partitions(&self.status, |p| owned_partitions.contains(&p));
        self.status.partitions.set(owned_partitions.len() as i64);
        self.status
            .consuming
            .store(!owned.is_empty(), Ordering::Relaxed);
    }
}
