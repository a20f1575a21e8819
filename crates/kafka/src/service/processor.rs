//! The processor: per-partition engines and offsets, and what happens to
//! each record (ingest-stage re-keying, events, assist credits).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{info, warn};

use salespulse_engine::{validate, Applied, CreditOutcome, Engine, EngineConfig};

use super::context::ServiceContext;
use super::cycle::{kind_header, send, send_dlq};
use super::inflight::Inflight;
use super::{now_ms, RunSummary};
use crate::business::{refresh_business_gauges, KpiGauges, PerRep};
use crate::contexts::ProducerHealth;
use crate::layout::Layout;
use crate::restore::{is_credit, restore, Restored};
use crate::routing::{decode_credit, encode_credit, partition_for, KIND_CREDIT};
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

/// Partition i of every processed topic, and its engine.
pub(super) struct Group {
    pub engine: Engine,
    pub offsets: HashMap<String, Offsets>,
    /// Emit every rep (shutdown), not only the changed ones.
    pub final_records: bool,
    /// Kafka timestamp (ms) of the first record applied since the last flush.
    pub oldest_unflushed_ms: Option<i64>,
}

/// Everything the processing thread and the rebalance callbacks share.
pub(crate) struct Processor {
    pub(super) s: KafkaSettings,
    cfg: EngineConfig,
    pseudonymizer: salespulse_model::Pseudonymizer,
    pub(crate) layout: Layout,
    pub(super) status: Arc<Status>,
    pub(super) producer: FutureProducer<ProducerHealth>,
    pub(super) groups: HashMap<i32, Group>,
    /// Offsets of ingest-only topic partitions, by topic then partition.
    pub(super) ingest: HashMap<String, HashMap<i32, Offsets>>,
    pub(super) inflight: Inflight,
    pub(super) summary: RunSummary,
    pub(super) per_rep: PerRep,
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
        pseudonymizer: salespulse_model::Pseudonymizer,
    ) -> Self {
        Processor {
            per_rep: PerRep::new(&s.metrics),
            kpi_gauges: KpiGauges::default(),
            s,
            cfg,
            pseudonymizer,
            layout,
            status,
            producer,
            groups: HashMap::new(),
            ingest: HashMap::new(),
            inflight: Inflight::default(),
            summary: RunSummary::default(),
            received: HashMap::new(),
            warned_misrouted: false,
            fatal: None,
            stopped: false,
            rt: tokio::runtime::Handle::current(),
        }
    }

    pub(super) fn refresh_gauges(&mut self, consumer: &BaseConsumer<ServiceContext>) {
        refresh_business_gauges(
            &self.status,
            &mut self.kpi_gauges,
            self.groups.values_mut().map(|g| &mut g.engine),
        );
        self.status.state_reps.set(
            self.groups
                .values()
                .map(|g| g.engine.rep_count() as i64)
                .sum(),
        );
        self.status.state_heap_bytes.set(
            self.groups
                .values()
                .map(|g| g.engine.heap_bytes() as i64)
                .sum(),
        );
        let _ = consumer; // lag comes from the statistics callback
    }

    /// Reads the control topic's new records and hands any new profile
    /// version to every engine (new engines start from `cfg`).
    pub(super) fn read_control(
        &mut self,
        reader: &mut crate::control::ControlReader,
    ) -> Result<(), KafkaError> {
        if !reader.read(&mut self.cfg, &self.status.control)? {
            return Ok(());
        }
        for (partition, g) in &mut self.groups {
            if g.engine.set_profiles(self.cfg.profiles.clone()) {
                self.status.control.late.inc();
                warn!(
                    partition,
                    "a profile change arrived after stream time passed its effective_at: records since then used the version before (docs/control-topic.md)"
                );
            }
        }
        Ok(())
    }

    /// Marks every group for a full emission (shutdown).
    pub(super) fn final_records(&mut self) {
        for g in self.groups.values_mut() {
            g.final_records = true;
        }
    }

    fn count_received(&mut self, topic: &str) {
        if let Some(c) = self.received.get(topic) {
            c.inc();
            return;
        }
        let c = self.status.received.with_label_values(&[topic]);
        c.inc();
        self.received.insert(topic.to_string(), c);
    }

    pub(super) fn handle(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        if self.layout.is_ingest_only(m.topic()) {
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
            .or_insert(Offsets {
                next: m.offset(),
                committed: m.offset(),
                gap_seen: None,
            });
        if m.offset() < offsets.next {
            return Ok(());
        }
        offsets.next = m.offset() + 1;
        self.summary.read += 1;
        self.count_received(m.topic());
        let payload = m.payload().unwrap_or_default();
        match validate(&self.cfg, payload, Some(now_ms())) {
            Ok(ev) => {
                let clean = self.pseudonymizer.rewrite(payload);
                let f = send(
                    &self.producer,
                    &self.layout.by_rep,
                    None,
                    &ev.rep_id,
                    clean.as_deref().unwrap_or(payload),
                    None,
                )?;
                self.inflight.push(f, now_ms());
                self.summary.rekeyed += 1;
            }
            Err(rej) => {
                self.summary.rejected += 1;
                self.status.count_rejected(rej.reason);
                let f = send_dlq(&self.s, &self.producer, m, &rej)?;
                self.inflight.push(f, now_ms());
            }
        }
        Ok(())
    }

    /// A record of a processed topic: an event or an assist credit, applied
    /// through the partition's engine unless its rep already holds it.
    fn process(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        let partition = m.partition();
        if !self.groups.contains_key(&partition) {
            self.take_over(consumer, &[partition])?;
        }
        let slot = self.layout.slot(m.topic()).unwrap_or(0);
        let Some(g) = self.groups.get_mut(&partition) else {
            return Ok(());
        };
        let offsets = match g.offsets.get_mut(m.topic()) {
            Some(o) => o,
            None => g.offsets.entry(m.topic().to_string()).or_insert(Offsets {
                next: m.offset(),
                committed: m.offset(),
                gap_seen: None,
            }),
        };
        if m.offset() < offsets.next {
            return Ok(()); // already handled (a re-delivery after a seek)
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
            self.status.gaps.inc();
        }
        offsets.next = m.offset() + 1;
        let position: i64 = g.offsets.values().map(|o| o.next).sum();
        g.engine.set_position(position as u64);
        if g.oldest_unflushed_ms.is_none() {
            g.oldest_unflushed_ms = m.timestamp().to_millis().or_else(|| Some(now_ms()));
        }
        self.summary.read += 1;
        self.count_received(m.topic());
        let payload = m.payload().unwrap_or_default();
        let by_rep = m.topic() == self.layout.by_rep;
        if by_rep && is_credit(m) {
            return self.apply_credit(m, payload, slot);
        }
        if !by_rep {
            self.check_partitioner(m);
        }
        let Some(g) = self.groups.get_mut(&partition) else {
            return Ok(());
        };
        // By-rep events were judged against the wall clock at ingest.
        let now = (!by_rep).then(now_ms);
        let timer = self.status.apply_seconds.start_timer();
        let evicted = g.engine.stats().dedupe_evicted;
        let applied = g.engine.ingest_from(payload, now, slot, m.offset());
        timer.observe_duration();
        let evicted = g.engine.stats().dedupe_evicted - evicted;
        if evicted > 0 {
            self.status.dedupe_evicted.inc_by(evicted);
        }
        match applied {
            Ok(Applied::Event(t)) => {
                self.summary.applied += 1;
                self.status.count_applied(t);
            }
            Ok(Applied::AlreadyApplied) => {
                self.summary.already_applied += 1;
                self.status.already_applied.inc();
            }
            Err(rej) => {
                self.summary.rejected += 1;
                self.status.count_rejected(rej.reason);
                self.inflight
                    .push(send_dlq(&self.s, &self.producer, m, &rej)?, now_ms());
            }
        }
        for c in g.engine.take_credits() {
            let bytes = encode_credit(&c);
            let f = send(
                &self.producer,
                &self.layout.by_rep,
                None,
                &c.rep_id,
                &bytes,
                Some(kind_header(KIND_CREDIT)),
            )?;
            self.inflight.push(f, now_ms());
            self.summary.credits_sent += 1;
            self.status.credits.with_label_values(&["sent"]).inc();
        }
        Ok(())
    }

    fn apply_credit(
        &mut self,
        m: &BorrowedMessage<'_>,
        payload: &[u8],
        slot: usize,
    ) -> Result<(), KafkaError> {
        let Some(g) = self.groups.get_mut(&m.partition()) else {
            return Ok(());
        };
        match decode_credit(payload) {
            Ok(c) => {
                let outcome = match g.engine.apply_credit_from(&c, slot, m.offset()) {
                    CreditOutcome::Applied => "applied",
                    CreditOutcome::Duplicate => "duplicate",
                    CreditOutcome::TooLate => "too_late",
                    CreditOutcome::AlreadyApplied => "already_applied",
                    CreditOutcome::Deferred => "deferred",
                };
                self.status.credits.with_label_values(&[outcome]).inc();
            }
            Err(rej) => {
                self.summary.rejected += 1;
                self.status.count_rejected(rej.reason);
                self.inflight
                    .push(send_dlq(&self.s, &self.producer, m, &rej)?, now_ms());
            }
        }
        Ok(())
    }

    /// Counts (and warns once about) input records that Kafka's default
    /// partitioner would put on another partition: their reps' assist
    /// credits, routed by murmur2, would then reach another engine.
    fn check_partitioner(&mut self, m: &BorrowedMessage<'_>) {
        let Some(key) = m.key() else { return };
        if partition_for(key, self.layout.partitions) == m.partition() {
            return;
        }
        self.status.misrouted.with_label_values(&[m.topic()]).inc();
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

    /// Restores `partitions` from the changelog and positions each at the
    /// group's committed offsets of every processed topic.
    pub(super) fn take_over(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        partitions: &[i32],
    ) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for t in &self.layout.processed {
            for &p in partitions {
                tpl.add_partition(t, p);
            }
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(15))
            .map_err(KafkaError::client("reading committed offsets"))?;
        let restored = restore(&self.s, &self.cfg, &self.status, partitions)?;
        for (partition, r) in restored {
            let offsets: HashMap<String, Offsets> = committed
                .elements()
                .iter()
                .filter(|e| e.partition() == partition)
                .map(|e| {
                    let o = match e.offset() {
                        Offset::Offset(o) => o,
                        _ => 0,
                    };
                    (
                        e.topic().to_string(),
                        Offsets {
                            next: o,
                            committed: o,
                            gap_seen: None,
                        },
                    )
                })
                .collect();
            self.adopt(partition, r, offsets);
        }
        Ok(())
    }

    fn adopt(&mut self, partition: i32, r: Restored, offsets: HashMap<String, Offsets>) {
        let (mut engine, n) = (r.engine, r.records);
        engine.set_partition(partition);
        // Outputs of records past the committed offsets may have been in
        // flight when the last owner stopped: re-emit them (see Engine::reemit_beyond).
        for (topic, o) in &offsets {
            if let Some(slot) = self.layout.slot(topic) {
                let reps = engine.reemit_beyond(slot, o.committed);
                if reps > 0 {
                    info!(partition, %topic, reps, "re-emitting the outputs of reps ahead of the committed offset");
                }
            }
        }
        self.summary.restored += n;
        info!(partition, changelog_records = n, reps = engine.rep_count(), offsets = ?offsets, "partition taken over");
        self.groups.insert(
            partition,
            Group {
                engine,
                offsets,
                final_records: false,
                oldest_unflushed_ms: None,
            },
        );
    }
}
