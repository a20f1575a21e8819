//! The service's outputs and its two cycles. The emit cycle queues the
//! coalesced score records and alerts. The commit cycle does that, queues
//! the changelog records of every rep changed since the last cycle, and
//! marks the input offsets reached to be committed once the broker
//! acknowledged every output queued before them (service/inflight.rs): a
//! committed offset never covers an output or a state change the broker
//! does not hold. Neither waits; `flush_all` (revocation, shutdown) does.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use tracing::warn;

use salespulse_engine::Emit;
use salespulse_model::{AlertKind, AlertStatus};

use super::context::ServiceContext;
use super::inflight::{CycleDone, OffsetBatch, MAX_IN_FLIGHT};
use super::now_ms;
use super::processor::Processor;
use crate::KafkaError;

/// How often a wait for acknowledgements says it is still waiting.
const ACK_LOG_EVERY: Duration = Duration::from_secs(5);

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
        let cycle = self.out.inflight.start_cycle();
        let now = now_ms();
        let emit = if self.final_records {
            Emit::All
        } else if now >= self.next_kpis_ms {
            self.next_kpis_ms = now.saturating_add(self.kpis_every_ms);
            Emit::ChangedWithKpis
        } else {
            Emit::Changed
        };
        let mut sink = self.out.sink(Some(cycle));
        self.pipeline.emit(emit, &mut sink)?;
        let (emitted, alerts) = (sink.emitted, sink.alerts);
        let covered_since: Vec<i64> = self
            .inputs
            .values_mut()
            .filter_map(|i| i.oldest_unflushed_ms.take())
            .collect();
        let done = CycleDone::new(covered_since, emitted, alerts);
        if let Some(done) = self.out.inflight.close_cycle(cycle, done) {
            self.record_cycle(done);
        }
        Ok(())
    }

    /// The commit cycle: the emit cycle, the changelog of every changed rep,
    /// and the input offsets reached, to be committed once the broker holds
    /// every output queued before them. Does not wait, unless the output is
    /// transactional: then the offsets go into the transaction, which
    /// commits (waiting for every output in it) before this returns.
    pub(super) fn commit_cycle(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        self.queue_emit_cycle()?;
        let mut sink = self.out.sink(None);
        self.pipeline.checkpoint(&mut sink)?;
        let offsets = self.offsets_to_commit();
        match &self.out.txn {
            Some(txn) => txn.commit(&self.out.producer, consumer, &offsets)?,
            None => self.out.inflight.commit_after_queued(offsets),
        }
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
        let producer = &self.out.producer;
        let (cycles, batches) =
            self.out
                .inflight
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
        let (cycles, batches) = self.out.inflight.reap()?;
        self.settled(consumer, cycles, batches);
        if self.out.inflight.len() > MAX_IN_FLIGHT {
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
        self.out
            .status
            .health
            .set_acks_waiting_since_ms(self.out.inflight.oldest_queued_ms().unwrap_or(0));
    }

    /// What an acknowledged emit cycle records: counts and latency.
    fn record_cycle(&mut self, c: CycleDone) {
        self.count_alerts(c.alerts);
        self.out.summary.emitted += c.emitted;
        self.out.status.output.scores_emitted(c.emitted);
        if c.emitted > 0 {
            let now = now_ms();
            for t in c.covered_since {
                self.out
                    .status
                    .output
                    .event_to_emit((now - t).max(0) as f64 / 1000.0);
            }
        }
    }

    /// Counts acknowledged alerts and, when any changed, recounts the open ones.
    fn count_alerts(&mut self, sent: Vec<(AlertKind, AlertStatus)>) {
        for &(kind, status) in &sent {
            self.out.status.output.alert(kind, status);
        }
        if !sent.is_empty() {
            self.recount_open_alerts();
        }
    }

    /// Sets `salespulse_alerts_firing` from the owned partitions' open alerts.
    pub(super) fn recount_open_alerts(&self) {
        let open = self.pipeline.engines().flat_map(|(_, engine)| {
            engine
                .open_alerts()
                .map(|a| (a.kind, a.severity, a.team_id.as_deref().unwrap_or("")))
        });
        self.out.status.output.set_open_alerts(open);
    }

    /// Every offset that moved since it was last sent to be committed,
    /// marked as sent.
    fn offsets_to_commit(&mut self) -> OffsetBatch {
        let processed = self
            .inputs
            .iter_mut()
            .flat_map(|(p, i)| i.offsets.iter_mut().map(move |(t, o)| (t, *p, o)));
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
            self.out.status.health.set_commit_failing(true);
            self.out.status.output.commit_failed();
            warn!(error = %e, "committing offsets failed; retrying at the next cycle");
            self.recommit_all();
        }
    }

    /// After a failed commit: every offset is sent again at the next cycle.
    pub(super) fn recommit_all(&mut self) {
        let groups = self
            .inputs
            .values_mut()
            .flat_map(|i| i.offsets.values_mut());
        let ingest = self.ingest.values_mut().flat_map(|ps| ps.values_mut());
        for o in groups.chain(ingest) {
            o.committed = -1;
        }
    }
}
