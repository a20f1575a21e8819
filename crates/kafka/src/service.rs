//! `salespulse run`: consume the topics in a consumer group, apply each
//! record through its partition's engine (or, for an input keyed by
//! something else, validate it and re-key it to the by-rep topic), route
//! assist credits to the helper's partition through the by-rep topic,
//! publish rejected records to the DLQ at once and coalesced score records
//! every `emit_interval`, and commit offsets only after the broker
//! acknowledged every output they cover (at-least-once: a crash loses
//! nothing; records after the last commit are applied again by the next
//! owner, which first restores the partition's state, see `restore`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::IntCounter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{DeliveryFuture, FutureProducer, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{info, warn};

use salespulse_engine::{validate, CreditOutcome, Engine, EngineConfig};

use crate::business::{refresh_business_gauges, PerRep};
use crate::contexts::{LagContext, ProducerHealth};
use crate::layout::Layout;
use crate::restore::{is_credit, restore};
use crate::routing::{decode_credit, partition_for};
use crate::{KafkaError, KafkaSettings, Status};

mod emit;

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
    /// Valid input records re-keyed to the by-rep topic.
    pub rekeyed: u64,
    /// Assist credits sent to the by-rep topic.
    pub credits_sent: u64,
}

/// Offsets of one topic partition.
#[derive(Debug, Clone, Copy)]
struct Offsets {
    /// Offset of the next record to handle.
    next: i64,
    /// `next` at the last commit.
    committed: i64,
}

/// Partition i of every processed topic, and its engine.
struct Group {
    engine: Engine,
    offsets: HashMap<String, Offsets>,
    /// Emit every rep (shutdown), not only the changed ones.
    final_records: bool,
    /// Kafka timestamp (ms) of the first record applied since the last flush.
    oldest_unflushed_ms: Option<i64>,
}

/// Everything the loop mutates (the consumer stays outside, since its
/// messages borrow it).
struct State<'a> {
    s: &'a KafkaSettings,
    cfg: &'a EngineConfig,
    layout: Layout,
    status: Arc<Status>,
    producer: FutureProducer<ProducerHealth>,
    groups: HashMap<i32, Group>,
    /// Offsets of ingest-only topic partitions, by topic then partition.
    ingest: HashMap<String, HashMap<i32, Offsets>>,
    inflight: Vec<DeliveryFuture>,
    summary: RunSummary,
    per_rep: PerRep,
    received: HashMap<String, IntCounter>,
    warned_misrouted: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn consumer(
    s: &KafkaSettings,
    status: &Arc<Status>,
) -> Result<StreamConsumer<LagContext>, KafkaError> {
    let mut client = s.consumer_config();
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
    client
        .set("group.id", &s.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // Range hands partition i of every subscribed topic to one member,
        // which keeps the input and by-rep topics co-partitioned (layout.rs).
        .set("partition.assignment.strategy", "range")
        .create_with_context(LagContext(status.clone()))
        .map_err(KafkaError::client("creating the consumer"))
}

fn producer(
    s: &KafkaSettings,
    status: &Arc<Status>,
) -> Result<FutureProducer<ProducerHealth>, KafkaError> {
    let mut c = s.producer_config();
    if !s.kafka.client.contains_key("statistics.interval.ms") {
        c.set("statistics.interval.ms", "1000");
    }
    c.create_with_context(ProducerHealth(status.clone()))
        .map_err(KafkaError::client("creating the producer"))
}

/// Runs until `shutdown` resolves, then flushes, commits and returns.
pub async fn run(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    status: Arc<Status>,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, KafkaError> {
    s.validate()?;
    let consumer = consumer(s, &status)?;
    let layout = Layout::discover(s, &consumer)?;
    for t in layout.processed.iter().filter(|t| **t != layout.by_rep) {
        status.misrouted.with_label_values(&[t.as_str()]); // exported as 0 from the start
    }
    consumer
        .subscribe(&layout.topics())
        .map_err(KafkaError::client("subscribing"))?;
    let mut st = State {
        s,
        cfg,
        producer: producer(s, &status)?,
        layout,
        status,
        groups: HashMap::new(),
        ingest: HashMap::new(),
        inflight: Vec::new(),
        summary: RunSummary::default(),
        per_rep: PerRep::new(&s.metrics),
        received: HashMap::new(),
        warned_misrouted: false,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(s.emit_interval_ms()?));
    // Business gauges walk every rep: refreshed on a slower cadence than emission.
    let mut gauges = tokio::time::interval(Duration::from_secs(5));
    tokio::pin!(shutdown);
    info!(topics = ?st.layout.topics(), group = %s.kafka.group_id, keyed_by = %s.input.keyed_by, "consuming");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => st.emit_and_commit(&consumer).await?,
            _ = gauges.tick() => st.refresh_gauges(),
            msg = consumer.recv() => match msg {
                Ok(m) => st.handle(&consumer, &m)?,
                Err(e) => warn!(error = %e, "consume error"),
            },
        }
    }
    // On shutdown every owned rep gets a record at its partition's final
    // stream time, so the last record per rep equals a replay of the input.
    for g in st.groups.values_mut() {
        g.final_records = true;
    }
    st.emit_and_commit(&consumer).await?;
    st.refresh_gauges();
    st.producer
        .flush(Duration::from_secs(5))
        .map_err(KafkaError::client("flushing the producer"))?;
    consumer.unsubscribe();
    info!(summary = ?st.summary, "stopped");
    Ok(st.summary)
}

impl State<'_> {
    fn refresh_gauges(&mut self) {
        refresh_business_gauges(
            &self.status,
            self.groups.values_mut().map(|g| &mut g.engine),
        );
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

    fn handle(
        &mut self,
        consumer: &StreamConsumer<LagContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        if self.layout.is_ingest_only(m.topic()) {
            self.rekey(m)
        } else {
            self.process(consumer, m)
        }
    }

    /// The ingest stage of `keyed_by = "other"`: stateless checks, then the
    /// original bytes to the by-rep topic keyed by rep_id, or to the DLQ.
    fn rekey(&mut self, m: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
        let offsets = self
            .ingest
            .entry(m.topic().to_string())
            .or_default()
            .entry(m.partition())
            .or_insert(Offsets {
                next: m.offset(),
                committed: m.offset(),
            });
        if m.offset() < offsets.next {
            return Ok(());
        }
        offsets.next = m.offset() + 1;
        self.summary.read += 1;
        self.count_received(m.topic());
        let payload = m.payload().unwrap_or_default();
        match validate(self.cfg, payload, Some(now_ms())) {
            Ok(ev) => {
                let f = emit::send(
                    &self.producer,
                    &self.layout.by_rep,
                    &ev.rep_id,
                    payload,
                    None,
                )?;
                self.inflight.push(f);
                self.summary.rekeyed += 1;
            }
            Err(rej) => {
                self.summary.rejected += 1;
                self.status.count_rejected(rej.reason);
                let f = emit::send_dlq(self.s, &self.producer, m, &rej)?;
                self.inflight.push(f);
            }
        }
        Ok(())
    }

    /// A record of a processed topic: an event or an assist credit, applied
    /// through the partition's engine.
    fn process(
        &mut self,
        consumer: &StreamConsumer<LagContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        let partition = m.partition();
        if !self.groups.contains_key(&partition) {
            self.take_over(consumer, partition)?;
        }
        let Some(g) = self.groups.get_mut(&partition) else {
            return Ok(());
        };
        let offsets = match g.offsets.get_mut(m.topic()) {
            Some(o) => o,
            None => g.offsets.entry(m.topic().to_string()).or_insert(Offsets {
                next: m.offset(),
                committed: m.offset(),
            }),
        };
        if m.offset() < offsets.next {
            return Ok(()); // already applied (a re-delivery after a seek)
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
            return self.apply_credit(m, payload);
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
        let applied = g.engine.ingest(payload, now);
        timer.observe_duration();
        match applied {
            Ok(t) => {
                self.summary.applied += 1;
                self.status.count_applied(t);
            }
            Err(rej) => {
                self.summary.rejected += 1;
                self.status.count_rejected(rej.reason);
                self.inflight
                    .push(emit::send_dlq(self.s, &self.producer, m, &rej)?);
            }
        }
        for c in g.engine.take_credits() {
            let bytes = crate::routing::encode_credit(&c);
            let f = emit::send(
                &self.producer,
                &self.layout.by_rep,
                &c.rep_id,
                &bytes,
                Some(crate::routing::KIND_CREDIT),
            )?;
            self.inflight.push(f);
            self.summary.credits_sent += 1;
            self.status.credits.with_label_values(&["sent"]).inc();
        }
        Ok(())
    }

    fn apply_credit(&mut self, m: &BorrowedMessage<'_>, payload: &[u8]) -> Result<(), KafkaError> {
        let Some(g) = self.groups.get_mut(&m.partition()) else {
            return Ok(());
        };
        match decode_credit(payload) {
            Ok(c) => {
                let outcome = match g.engine.apply_credit(&c) {
                    CreditOutcome::Applied => "applied",
                    CreditOutcome::Duplicate => "duplicate",
                    CreditOutcome::TooLate => "too_late",
                    CreditOutcome::AlreadyApplied => "already_applied",
                };
                self.status.credits.with_label_values(&[outcome]).inc();
            }
            Err(rej) => {
                self.summary.rejected += 1;
                self.status.count_rejected(rej.reason);
                self.inflight
                    .push(emit::send_dlq(self.s, &self.producer, m, &rej)?);
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

    /// Restores partition `partition` of every processed topic up to the
    /// group's committed offsets.
    fn take_over(
        &mut self,
        consumer: &StreamConsumer<LagContext>,
        partition: i32,
    ) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for t in &self.layout.processed {
            tpl.add_partition(t, partition);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(15))
            .map_err(KafkaError::client("reading committed offsets"))?;
        let until: Vec<(String, i64)> = committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => (e.topic().to_string(), o),
                _ => (e.topic().to_string(), 0),
            })
            .collect();
        let (mut engine, n) = restore(self.s, self.cfg, partition, &until)?;
        engine.set_route_credits(true);
        self.summary.restored += n;
        info!(partition, restored = n, from = ?until, "partition taken over");
        self.status.rebalances.inc();
        let offsets = until
            .into_iter()
            .map(|(t, o)| {
                (
                    t,
                    Offsets {
                        next: o,
                        committed: o,
                    },
                )
            })
            .collect();
        self.groups.insert(
            partition,
            Group {
                engine,
                offsets,
                final_records: false,
                oldest_unflushed_ms: None,
            },
        );
        Ok(())
    }
}
