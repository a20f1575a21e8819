//! The processor: the pipeline of the owned partitions, their input
//! offsets, and what happens to each record (ingest-stage re-keying,
//! events, assist credits). Rebalances arrive as [`Processor::assign`] and
//! [`Processor::revoke`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus::IntCounter;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::Message;
use tracing::{info, warn};

use salespulse_engine::{validate, Applied, EngineConfig};
use salespulse_pipeline::{decode_credit, partition_for, At, Credits, Pipeline};

use super::context::ServiceContext;
use super::idle::PartitionClock;
use super::inflight::Inflight;
use super::sink::{send, send_dlq, Out};
use super::txn::Txn;
use super::{now_ms, RunSummary};
use crate::business::{refresh_business_gauges, KpiGauges, PerRep};
use crate::contexts::ProducerHealth;
use crate::layout::Layout;
use crate::restore::is_credit;
use crate::{KafkaError, KafkaSettings, Status};

/// Offsets of one topic partition.
#[derive(Debug, Clone, Copy)]
pub(super) struct Offsets {
    /// Offset of the next record to handle.
    pub next: i64,
    /// `next` when last handed to a commit cycle (reset to -1 by a failed commit).
    pub committed: i64,
    /// The `next` at which a gap was last reported (see `process`).
    pub gap_seen: Option<i64>,
}

impl Offsets {
    pub(super) fn at(offset: i64) -> Self {
        Offsets {
            next: offset,
            committed: offset,
            gap_seen: None,
        }
    }
}

/// The input side of an owned partition: partition i of every processed topic.
#[derive(Debug, Default)]
pub(super) struct Input {
    pub offsets: HashMap<String, Offsets>,
    /// Kafka timestamp (ms) of the first record applied since the last flush.
    pub oldest_unflushed_ms: Option<i64>,
    /// Time for when nothing arrives.
    pub clock: PartitionClock,
}

/// Everything the processing thread and the rebalance callbacks share.
pub(crate) struct Processor {
    pub(super) out: Out,
    pub(super) cfg: EngineConfig,
    pseudonymizer: salespulse_model::Pseudonymizer,
    pub(super) pipeline: Pipeline,
    pub(super) inputs: HashMap<i32, Input>,
    /// Offsets of ingest-only topic partitions, by topic then partition.
    pub(super) ingest: HashMap<String, HashMap<i32, Offsets>>,
    /// Emit every owned rep at the next cycle (shutdown).
    pub(super) final_records: bool,
    /// When the next emit cycle sends stale KPI records (wall clock, ms).
    pub(super) next_kpis_ms: i64,
    /// `service.kpis_interval` in ms (validated with the settings).
    pub(super) kpis_every_ms: i64,
    /// `service.idle_after` in ms (0: off).
    pub(super) idle_after_ms: i64,
    /// `service.allowed_lateness` in ms.
    pub(super) allowed_lateness_ms: i64,
    kpi_gauges: KpiGauges,
    received: HashMap<String, IntCounter>,
    warned_misrouted: bool,
    /// An error raised inside a callback, for the loop to return.
    pub(super) fatal: Option<KafkaError>,
    /// Shutting down: the last cycle ran; leaving the group changes nothing visible.
    pub(super) stopped: bool,
    /// The runtime, for waiting on delivery futures with a timeout from this thread.
    pub(super) rt: tokio::runtime::Handle,
}

impl Processor {
    pub(super) fn new(
        s: KafkaSettings,
        cfg: EngineConfig,
        layout: Layout,
        status: Arc<Status>,
        producer: FutureProducer<ProducerHealth>,
        txn: Option<Txn>,
        pseudonymizer: salespulse_model::Pseudonymizer,
    ) -> Self {
        let pipeline = Pipeline::new(cfg.clone(), layout.partitions, Credits::Remote);
        let ms = |r: Result<u64, KafkaError>, default: i64| {
            r.map_or(default, |ms| i64::try_from(ms).unwrap_or(i64::MAX))
        };
        let kpis_every_ms = ms(s.kpis_interval_ms(), 300_000);
        let idle_after_ms = ms(s.idle_after_ms(), 60_000);
        let allowed_lateness_ms = ms(s.allowed_lateness_ms(), 60_000);
        Processor {
            out: Out {
                per_rep: PerRep::new(&s.metrics),
                s,
                layout,
                status,
                producer,
                txn,
                inflight: Inflight::default(),
                summary: RunSummary::default(),
            },
            cfg,
            pseudonymizer,
            pipeline,
            inputs: HashMap::new(),
            ingest: HashMap::new(),
            final_records: false,
            next_kpis_ms: 0,
            kpis_every_ms,
            idle_after_ms,
            allowed_lateness_ms,
            kpi_gauges: KpiGauges::default(),
            received: HashMap::new(),
            warned_misrouted: false,
            fatal: None,
            stopped: false,
            rt: tokio::runtime::Handle::current(),
        }
    }

    pub(super) fn refresh_gauges(&mut self) {
        let status = &self.out.status;
        refresh_business_gauges(
            &status.business,
            &mut self.kpi_gauges,
            self.pipeline.engines_mut().map(|(_, e)| e),
        );
        status
            .ingest
            .set_state(self.pipeline.rep_count(), self.pipeline.heap_bytes());
        status
            .ingest
            .set_inactivity_held(self.pipeline.stats().inactivity_held);
    }

    /// Reads the control topic's new records and hands any new profile
    /// version to every engine (new engines start from `cfg`).
    pub(super) fn read_control(
        &mut self,
        reader: &mut crate::control::ControlReader,
    ) -> Result<(), KafkaError> {
        if !reader.read(&mut self.cfg, &self.out.status.control)? {
            return Ok(());
        }
        for partition in self.pipeline.set_profiles(&self.cfg) {
            self.out.status.control.late_change();
            warn!(
                partition,
                "a profile change arrived after stream time passed its effective_at: records since then used the version before (docs/control-topic.md)"
            );
        }
        Ok(())
    }

    fn count_received(&mut self, topic: &str) {
        if let Some(c) = self.received.get(topic) {
            c.inc();
            return;
        }
        let c = self.out.status.ingest.received(topic);
        c.inc();
        self.received.insert(topic.to_string(), c);
    }

    pub(super) fn handle(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        if self.out.layout.is_ingest_only(m.topic()) {
            self.rekey(m)
        } else {
            self.process(consumer, m)
        }
    }

    /// The ingest stage of `keyed_by = "other"`: stateless checks, then the
    /// record, its customer identifiers pseudonymised and free text dropped
    /// (`[privacy]`), to the by-rep topic keyed by rep_id, or to the DLQ.
    fn rekey(&mut self, m: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
        let offsets = self
            .ingest
            .entry(m.topic().to_string())
            .or_default()
            .entry(m.partition())
            .or_insert(Offsets::at(m.offset()));
        if m.offset() < offsets.next {
            return Ok(());
        }
        offsets.next = m.offset() + 1;
        self.out.summary.read += 1;
        self.count_received(m.topic());
        let payload = m.payload().unwrap_or_default();
        let out = &mut self.out;
        match validate(&self.cfg, payload, Some(now_ms())) {
            Ok(ev) => {
                let clean = self.pseudonymizer.rewrite(payload);
                let f = send(
                    (&out.producer, &out.status.output),
                    &out.layout.by_rep,
                    None,
                    &ev.rep_id,
                    clean.as_deref().unwrap_or(payload),
                    None,
                )?;
                out.inflight.push(f, now_ms());
                out.summary.rekeyed += 1;
            }
            Err(rej) => {
                out.summary.rejected += 1;
                out.status.ingest.rejected(rej.reason);
                let f = send_dlq(&out.s, (&out.producer, &out.status.output), m, &rej)?;
                out.inflight.push(f, now_ms());
            }
        }
        Ok(())
    }

    /// Moves `partition`'s offset of `m`'s topic past `m`; None when `m` was
    /// handled before (a re-delivery after a seek). Returns the position.
    fn advance_offsets(&mut self, m: &BorrowedMessage<'_>) -> Option<u64> {
        let partition = m.partition();
        let input = self.inputs.entry(partition).or_default();
        let offsets = input
            .offsets
            .entry(m.topic().to_string())
            .or_insert(Offsets::at(m.offset()));
        if m.offset() < offsets.next {
            return None;
        }
        if m.offset() > offsets.next && offsets.gap_seen != Some(offsets.next) {
            // The consumer delivered a record past the next one this
            // partition's state expected: after a rebalance its fetch
            // position came from its own committed-offset lookup, and a
            // commit landed between that and ours. The changelog, written
            // before any commit, holds the skipped records' effect. Counted
            // and logged: a broker that skips records shows up here too (the
            // unpatched test broker did, scripts/tansu/README.md).
            offsets.gap_seen = Some(offsets.next);
            warn!(
                topic = m.topic(),
                partition,
                next = offsets.next,
                got = m.offset(),
                "consumer delivered past the next expected record"
            );
            self.out.status.ingest.gap();
        }
        offsets.next = m.offset() + 1;
        if input.oldest_unflushed_ms.is_none() {
            input.oldest_unflushed_ms = m.timestamp().to_millis().or_else(|| Some(now_ms()));
        }
        Some(input.offsets.values().map(|o| o.next).sum::<i64>() as u64)
    }

    /// A record of a processed topic: an event or an assist credit, applied
    /// through the partition's engine unless its rep already holds it.
    fn process(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        let partition = m.partition();
        if !self.pipeline.owns(partition) {
            self.take_over(consumer, &[partition])?;
        }
        let slot = self.out.layout.slot(m.topic()).unwrap_or(0);
        let Some(position) = self.advance_offsets(m) else {
            return Ok(());
        };
        let at = Some(At {
            slot,
            offset: m.offset(),
            position,
        });
        self.out.summary.read += 1;
        self.count_received(m.topic());
        let payload = m.payload().unwrap_or_default();
        let by_rep = m.topic() == self.out.layout.by_rep;
        if by_rep && is_credit(m) {
            return self.apply_credit(m, payload, at);
        }
        if !by_rep {
            self.check_partitioner(m);
        }
        // By-rep events were judged against the wall clock at ingest.
        let now = (!by_rep).then(now_ms);
        let evicted_before = self.evicted(partition);
        let timer = self.out.status.ingest.apply_seconds.start_timer();
        let mut sink = self.out.sink(None);
        let applied = self
            .pipeline
            .ingest(partition, payload, now, at, &mut sink)?;
        timer.observe_duration();
        self.reapply_recorded(partition)?;
        let evicted = self.evicted(partition) - evicted_before;
        let out = &mut self.out;
        if evicted > 0 {
            out.status.ingest.dedupe_evicted(evicted);
        }
        match applied {
            Ok(Applied::Event(t)) => {
                out.summary.applied += 1;
                out.status.ingest.applied(t);
            }
            Ok(Applied::AlreadyApplied) => {
                out.summary.already_applied += 1;
                out.status.ingest.already_applied();
            }
            Err(rej) => {
                out.summary.rejected += 1;
                out.status.ingest.rejected(rej.reason);
                out.inflight.push(
                    send_dlq(&out.s, (&out.producer, &out.status.output), m, &rej)?,
                    now_ms(),
                );
            }
        }
        Ok(())
    }

    /// Event ids the partition's engine has forgotten early so far.
    fn evicted(&self, partition: i32) -> u64 {
        self.pipeline
            .engine(partition)
            .map_or(0, |e| e.stats().dedupe_evicted)
    }

    fn apply_credit(
        &mut self,
        m: &BorrowedMessage<'_>,
        payload: &[u8],
        at: Option<At>,
    ) -> Result<(), KafkaError> {
        match decode_credit(payload) {
            Ok(c) => {
                let mut sink = self.out.sink(None);
                let outcome = self
                    .pipeline
                    .apply_credit(m.partition(), &c, at, &mut sink)?;
                self.out.status.ingest.credit(outcome);
            }
            Err(rej) => {
                let out = &mut self.out;
                out.summary.rejected += 1;
                out.status.ingest.rejected(rej.reason);
                out.inflight.push(
                    send_dlq(&out.s, (&out.producer, &out.status.output), m, &rej)?,
                    now_ms(),
                );
            }
        }
        Ok(())
    }

    /// Counts (and warns once about) input records that Kafka's default
    /// partitioner would put on another partition: their reps' assist
    /// credits, routed by murmur2, would then reach another engine.
    fn check_partitioner(&mut self, m: &BorrowedMessage<'_>) {
        let Some(key) = m.key() else { return };
        if partition_for(key, self.out.layout.partitions) == m.partition() {
            return;
        }
        self.out.status.ingest.misrouted(m.topic());
        if !self.warned_misrouted {
            self.warned_misrouted = true;
            warn!(
                topic = m.topic(),
                partition = m.partition(),
                key = %String::from_utf8_lossy(key),
                "input record not on the partition murmur2(key) picks: producers must key by rep_id with Kafka's default partitioner (librdkafka: partitioner=murmur2_random), or set input.keyed_by = \"other\""
            );
        }
    }

    /// The consumer group assigned `partitions`: each new one is restored
    /// from the changelog before its first record.
    pub(super) fn assign(&mut self, consumer: &BaseConsumer<ServiceContext>, partitions: &[i32]) {
        let status = self.out.status.clone();
        status.health.restore_started();
        let new: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|q| !self.pipeline.owns(*q))
            .collect();
        if !new.is_empty() {
            if let Err(e) = self.take_over(consumer, &new) {
                tracing::error!(partitions = ?new, error = %e, "restoring partitions failed");
                self.fatal = Some(e);
            }
        }
        status.health.restore_finished();
        self.owned_changed();
        status.health.set_consuming(!partitions.is_empty());
        info!(assigned = ?partitions, "partitions assigned");
    }

    /// The consumer group revokes `partitions` of the processed topics
    /// (and `ingest_only`, (topic, partition) of ingest-only topics): the
    /// commit cycle runs for everything owned, then they are given up.
    pub(super) fn revoke(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        partitions: &HashSet<i32>,
        ingest_only: &[(String, i32)],
    ) {
        if let Err(e) = self.flush_all(consumer) {
            tracing::error!(error = %e, "commit cycle on revocation failed");
            self.fatal = Some(e);
        }
        for p in partitions {
            self.pipeline.revoke(*p);
            self.inputs.remove(p);
        }
        for (topic, p) in ingest_only {
            if let Some(parts) = self.ingest.get_mut(topic) {
                parts.remove(p);
            }
        }
        let owned: HashSet<i32> = self.pipeline.owned().collect();
        let status = self.out.status.clone();
        self.out
            .per_rep
            .forget_partitions(&status.business, |x| owned.contains(&x));
        self.owned_changed();
        status.health.set_consuming(!owned.is_empty());
        info!(revoked = ?partitions, "partitions revoked");
    }

    /// What follows from a change of the owned partitions.
    fn owned_changed(&mut self) {
        self.recount_open_alerts();
        let status = &self.out.status;
        status.health.set_partitions(self.pipeline.owned().count());
        status
            .owns_partition_zero
            .store(self.pipeline.owns(0), Ordering::Relaxed);
        status.ingest.rebalanced();
    }
}
