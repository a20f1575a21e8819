//! The control topic (`output.control`, one partition): every instance
//! reads all of it from the beginning, applies each profile change to its
//! engines, and re-reads it at least every `control.refresh`. Processing
//! pauses while the view is older than `control.min_lead` less
//! `control.max_skew` and `engine.max_future_skew`, so no event is applied
//! before a change that covers it is known (docs/control-topic.md).
//! Reloads publish here too.

use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntGauge};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{info, warn};

use salespulse_engine::control::{apply_control, ControlApplied};
use salespulse_engine::EngineConfig;
use salespulse_kpi::Added;
use salespulse_model::Timestamp;

use crate::{KafkaError, KafkaSettings};

const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Control-topic metrics.
pub struct ControlMetrics {
    /// Control records read: applied, unchanged, rejected.
    records: [IntCounter; 3],
    /// Profile versions known (the starting one included).
    versions: IntGauge,
    /// Changes that arrived after stream time had passed their effective_at.
    late: IntGauge,
}

impl ControlMetrics {
    /// The series, registered in `m`.
    pub fn new(m: &salespulse_telemetry::Metrics) -> Self {
        let records = m.counter_vec(
            "salespulse_control_records_total",
            "Control-topic records read, by outcome (applied, unchanged, rejected)",
            &["outcome"],
        );
        ControlMetrics {
            records: ["applied", "unchanged", "rejected"].map(|o| records.with_label_values(&[o])),
            versions: m.int_gauge(
                "salespulse_profile_versions",
                "Profile versions known: the starting configuration plus each applied change",
            ),
            late: m.int_gauge(
                "salespulse_control_late_changes",
                "Profile changes read after stream time had passed their effective_at (should stay 0)",
            ),
        }
    }

    /// A change arrived after stream time had passed its `effective_at`.
    pub fn late_change(&self) {
        self.late.inc();
    }
}

/// This instance's reader of the control topic.
pub(crate) struct ControlReader {
    consumer: BaseConsumer,
    topic: String,
    next: i64,
    /// When the last complete read started.
    read_at: Option<Instant>,
    /// When the last read failed (the next try waits a second).
    failed_at: Option<Instant>,
    assigned: bool,
    refresh: Duration,
    stale_after: Duration,
}

impl ControlReader {
    pub(crate) fn new(s: &KafkaSettings, cfg: &EngineConfig) -> Result<Self, KafkaError> {
        let mut client = s.client_config();
        client
            // Never joins the group (partition 0 is assigned, not
            // subscribed) nor commits; librdkafka wants a group id to assign.
            .set("group.id", format!("{}.control", s.kafka.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false");
        let consumer: BaseConsumer = client
            .create()
            .map_err(KafkaError::client("creating the control consumer"))?;
        let c = cfg.control;
        Ok(ControlReader {
            consumer,
            topic: s.output.control.clone(),
            next: 0,
            read_at: None,
            failed_at: None,
            assigned: false,
            refresh: Duration::from_millis(c.refresh_ms.max(1) as u64),
            stale_after: Duration::from_millis(
                c.stale_after_ms(cfg.max_future_skew_ms).max(1) as u64
            ),
        })
    }

    /// Whether the refresh interval has passed since the last complete read.
    pub(crate) fn due(&self) -> bool {
        self.read_at.is_none_or(|t| t.elapsed() >= self.refresh)
            && self
                .failed_at
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
    }

    /// Whether events may be applied: the view is recent enough that no
    /// unseen change can cover them.
    pub(crate) fn fresh(&self) -> bool {
        self.read_at.is_some_and(|t| t.elapsed() < self.stale_after)
    }

    /// Reads the topic to its current end, applying each record to `cfg`.
    /// Returns whether a new version was added.
    pub(crate) fn read(
        &mut self,
        cfg: &mut EngineConfig,
        m: &ControlMetrics,
    ) -> Result<bool, KafkaError> {
        let read = self.read_to_end(cfg, m);
        self.failed_at = read.is_err().then(Instant::now);
        m.versions.set(cfg.profiles.versions().len() as i64);
        read
    }

    fn read_to_end(
        &mut self,
        cfg: &mut EngineConfig,
        m: &ControlMetrics,
    ) -> Result<bool, KafkaError> {
        let started = Instant::now();
        if !self.assigned && !self.topic_exists()? {
            // No control topic: no change was ever published.
            self.read_at = Some(started);
            return Ok(false);
        }
        let (_, high) = self
            .consumer
            .fetch_watermarks(&self.topic, 0, READ_TIMEOUT)
            .map_err(KafkaError::client("reading the control topic's end"))?;
        if self.next >= high {
            self.read_at = Some(started);
            return Ok(false);
        }
        if !self.assigned {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&self.topic, 0, Offset::Offset(self.next))
                .map_err(KafkaError::client("control assignment"))?;
            self.consumer
                .assign(&tpl)
                .map_err(KafkaError::client("control assignment"))?;
            self.assigned = true;
        }
        let mut added = false;
        while self.next < high {
            if started.elapsed() > READ_TIMEOUT {
                return Err(KafkaError::Timeout(format!(
                    "reading the control topic {}: offset {} of {high} not reached in {} s",
                    self.topic,
                    self.next,
                    READ_TIMEOUT.as_secs()
                )));
            }
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(msg)) => {
                    if msg.offset() < self.next {
                        continue;
                    }
                    self.next = msg.offset() + 1;
                    let payload = msg.payload().unwrap_or_default();
                    added |= apply_one(cfg, payload, msg.offset(), m);
                }
                Some(Err(e)) => warn!(error = %e, "control topic consume error"),
                None => {}
            }
        }
        self.read_at = Some(started);
        Ok(added)
    }
}

impl ControlReader {
    fn topic_exists(&self) -> Result<bool, KafkaError> {
        let md = self
            .consumer
            .fetch_metadata(Some(&self.topic), READ_TIMEOUT)
            .map_err(KafkaError::client("reading the control topic's metadata"))?;
        Ok(md
            .topics()
            .iter()
            .any(|t| t.name() == self.topic && t.error().is_none() && !t.partitions().is_empty()))
    }
}

fn apply_one(cfg: &mut EngineConfig, payload: &[u8], offset: i64, m: &ControlMetrics) -> bool {
    match apply_control(cfg, payload) {
        Ok(ControlApplied {
            added: Added::New,
            effective_at,
            source,
        }) => {
            m.records[0].inc();
            info!(
                offset,
                effective_at = %Timestamp(effective_at),
                source,
                "profile change applied"
            );
            true
        }
        Ok(_) => {
            m.records[1].inc();
            false
        }
        Err(e) => {
            m.records[2].inc();
            warn!(offset, error = %e, "control record rejected");
            false
        }
    }
}

/// Publishes a control record and waits for the broker's acknowledgement.
pub async fn publish_control(s: &KafkaSettings, record: &[u8]) -> Result<(), KafkaError> {
    let producer: FutureProducer = s
        .client_config()
        .set("acks", "all")
        .create()
        .map_err(KafkaError::client("creating the control producer"))?;
    producer
        .send(
            FutureRecord::<str, [u8]>::to(&s.output.control)
                .key("profiles")
                .payload(record)
                .partition(0),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| KafkaError::client("publishing a control record")(e))?;
    Ok(())
}
