//! Kafka-side settings (`[kafka]`, `[input]`, `[output]`, `[topics]`,
//! `[service]`), with defaults, and the librdkafka client configuration they
//! produce. Properties under `[kafka.client]` pass straight to librdkafka
//! (security.protocol, sasl.*, ssl.*); values of secret-looking keys never
//! appear in Debug output or logs.

use rdkafka::ClientConfig;
use serde::Deserialize;

use crate::client_props::ClientProps;
use crate::KafkaError;

/// `[kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// Bootstrap servers.
    pub brokers: String,
    /// Consumer group.
    pub group_id: String,
    /// Static group membership (`group.instance.id`): a stable name per
    /// instance, e.g. the StatefulSet pod name. Empty: dynamic membership.
    pub instance_id: String,
    /// Exactly-once output through Kafka transactions (docs/operations.md,
    /// "Delivery"); needs a broker with transactions. Off: at-least-once
    /// delivery, duplicates recognisable by `seq`.
    pub transactional: bool,
    /// librdkafka properties passed through unchanged; secrets held as such.
    pub client: ClientProps,
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: "127.0.0.1:9092".into(),
            group_id: "salespulse".into(),
            instance_id: String::new(),
            transactional: false,
            client: ClientProps::default(),
        }
    }
}

/// `[input]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputSection {
    /// Topics to consume.
    pub topics: Vec<String>,
    /// `rep_id` (the input is keyed by rep) or `other`.
    pub keyed_by: String,
}

impl Default for InputSection {
    fn default() -> Self {
        InputSection {
            topics: vec!["sales.events".into()],
            keyed_by: "rep_id".into(),
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Score records, keyed by rep_id (compacted).
    pub scores: String,
    /// Period summaries, keyed by rep, period kind and start (compacted:
    /// every period's latest summary is kept).
    pub periods: String,
    /// Each rep's KPI table and forecast, keyed by rep_id (compacted).
    pub kpis: String,
    /// Each rep's coaching, keyed by rep_id (compacted).
    pub coaching: String,
    /// Rejected records: original bytes plus reason headers.
    pub dlq: String,
    /// Valid events re-keyed by rep (for `keyed_by = "other"`) and assist credits.
    pub by_rep: String,
    /// Each rep's state, keyed by rep_id (compacted), co-partitioned with the processed topics.
    pub changelog: String,
    /// Alert records (firing / resolved), keyed by rep_id (the source for data-quality alerts).
    pub alerts: String,
    /// Commission statements, keyed by rep, plan period kind and start
    /// (compacted: every period's latest statement is kept). Pay data:
    /// restrict it (docs/operations.md, "Who may read pay").
    pub statements: String,
    /// Profile changes (docs/control-topic.md): one partition, read whole by every instance.
    pub control: String,
    /// Clock moves of idle partitions (`clock/1`, docs/windows.md), keyed
    /// and partitioned by input partition; kept as long as the input.
    pub clock: String,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            scores: "salespulse.scores".into(),
            periods: "salespulse.periods".into(),
            kpis: "salespulse.kpis".into(),
            coaching: "salespulse.coaching".into(),
            dlq: "salespulse.dlq".into(),
            by_rep: "salespulse.by-rep".into(),
            changelog: "salespulse.state".into(),
            alerts: "salespulse.alerts".into(),
            statements: "salespulse.statements".into(),
            control: "salespulse.control".into(),
            clock: "salespulse.clock".into(),
        }
    }
}

impl OutputSection {
    /// Every output topic, in creation order.
    pub fn topics(&self) -> [&str; 11] {
        [
            &self.scores,
            &self.periods,
            &self.kpis,
            &self.coaching,
            &self.dlq,
            &self.by_rep,
            &self.changelog,
            &self.alerts,
            &self.statements,
            &self.control,
            &self.clock,
        ]
    }
}

/// `[topics]`: what `salespulse topics create` makes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsSection {
    /// Partitions of the input, by-rep and score topics.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i32,
}

impl Default for TopicsSection {
    fn default() -> Self {
        TopicsSection {
            partitions: 4,
            replication_factor: 1,
        }
    }
}

/// `[service]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    /// Score records are emitted per rep at most once per interval (wall clock).
    pub emit_interval: String,
    /// Changelog written and offsets committed once per interval (wall clock).
    pub commit_interval: String,
    /// A rep's KPI record (`salespulse.kpis`) goes with its score record
    /// at most once per interval (wall clock; `0s`: with every one).
    pub kpis_interval: String,
    /// A partition with nothing to read for this long (wall clock) has its
    /// stream time moved to the wall clock less `allowed_lateness`, and
    /// again every `idle_after` while it stays idle; each move is recorded
    /// on `output.clock` (`0s`: never).
    pub idle_after: String,
    /// How far behind the wall clock an idle partition's stream time is
    /// kept: records produced up to this long ago are not late.
    pub allowed_lateness: String,
}

impl Default for ServiceSection {
    fn default() -> Self {
        ServiceSection {
            emit_interval: "250ms".into(),
            commit_interval: "1s".into(),
            kpis_interval: "5m".into(),
            idle_after: "1m".into(),
            allowed_lateness: "1m".into(),
        }
    }
}

/// `value` of `key` as milliseconds, a duration of at least zero.
fn duration_at_least_zero(key: &str, value: &str, example: &str) -> Result<u64, KafkaError> {
    // parse_duration takes positive durations only (a window of zero is an error).
    let zero = matches!(value.trim(), "0" | "0ms" | "0s" | "0m" | "0h" | "0d");
    zero.then_some(0)
        .or_else(|| salespulse_window::parse_duration(value))
        .filter(|&ms| ms >= 0)
        .map(|ms| ms as u64)
        .ok_or_else(|| {
            KafkaError::Config(format!(
                "{key} = {value:?}: expected a duration like {example}"
            ))
        })
}

/// `[metrics]`: opt-in per-rep series.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Export `salespulse_rep_score` and `salespulse_rep_attainment` per rep.
    pub per_rep: bool,
    /// At most this many reps get per-rep series (lowest rep ids first).
    pub per_rep_limit: usize,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            per_rep: false,
            per_rep_limit: 1000,
        }
    }
}

/// Everything the Kafka edge needs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KafkaSettings {
    /// `[kafka]`.
    #[serde(default)]
    pub kafka: KafkaSection,
    /// `[input]`.
    #[serde(default)]
    pub input: InputSection,
    /// `[output]`.
    #[serde(default)]
    pub output: OutputSection,
    /// `[topics]`.
    #[serde(default)]
    pub topics: TopicsSection,
    /// `[service]`.
    #[serde(default)]
    pub service: ServiceSection,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[privacy]`.
    #[serde(default)]
    pub privacy: crate::privacy::PrivacySection,
    /// `[dlq]`.
    #[serde(default)]
    pub dlq: crate::privacy::DlqSection,
}

impl KafkaSettings {
    /// Checks values the types cannot.
    pub fn validate(&self) -> Result<(), KafkaError> {
        if self.kafka.brokers.trim().is_empty() {
            return Err(KafkaError::Config(
                "kafka.brokers is empty; expected host:port[,host:port]".into(),
            ));
        }
        if self.input.topics.is_empty() {
            return Err(KafkaError::Config(
                "input.topics is empty; expected at least one topic".into(),
            ));
        }
        if !matches!(self.input.keyed_by.as_str(), "rep_id" | "other") {
            return Err(KafkaError::Config(format!(
                "input.keyed_by = {:?}: expected \"rep_id\" (records are keyed by rep) or \"other\" (re-key through {})",
                self.input.keyed_by, self.output.by_rep
            )));
        }
        if self.input.topics.contains(&self.output.by_rep) {
            return Err(KafkaError::Config(format!(
                "input.topics contains output.by_rep ({}); it is internal and consumed anyway",
                self.output.by_rep
            )));
        }
        if self.kafka.client.contains_key("group.instance.id") {
            return Err(KafkaError::Config(
                "kafka.client sets group.instance.id, which every consumer of the service would share; set kafka.instance_id instead (it applies to the input consumer only)".into(),
            ));
        }
        if self.kafka.instance_id.len() > 249
            || self
                .kafka
                .instance_id
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(KafkaError::Config(format!(
                "kafka.instance_id = {:?}: expected at most 249 of [a-zA-Z0-9._-] (e.g. the pod name), or empty for dynamic membership",
                self.kafka.instance_id
            )));
        }
        if self.metrics.per_rep_limit == 0 && self.metrics.per_rep {
            return Err(KafkaError::Config(
                "metrics.per_rep_limit = 0 with metrics.per_rep = true: expected a cap of at least 1".into(),
            ));
        }
        if self.topics.partitions < 1 || self.topics.replication_factor < 1 {
            return Err(KafkaError::Config(
                "topics.partitions and topics.replication_factor must be at least 1".into(),
            ));
        }
        self.emit_interval_ms()?;
        self.commit_interval_ms()?;
        self.kpis_interval_ms()?;
        self.idle_after_ms()?;
        self.allowed_lateness_ms()?;
        Ok(())
    }

    /// `service.idle_after` in milliseconds (0: idle partitions keep their time).
    pub fn idle_after_ms(&self) -> Result<u64, KafkaError> {
        duration_at_least_zero(
            "service.idle_after",
            &self.service.idle_after,
            "\"1m\" (\"0s\": never move an idle partition's time)",
        )
    }

    /// `service.allowed_lateness` in milliseconds.
    pub fn allowed_lateness_ms(&self) -> Result<u64, KafkaError> {
        duration_at_least_zero(
            "service.allowed_lateness",
            &self.service.allowed_lateness,
            "\"1m\"",
        )
    }

    /// `service.kpis_interval` in milliseconds.
    pub fn kpis_interval_ms(&self) -> Result<u64, KafkaError> {
        duration_at_least_zero(
            "service.kpis_interval",
            &self.service.kpis_interval,
            "\"5m\" (\"0s\": with every score record)",
        )
    }

    /// `service.commit_interval` in milliseconds.
    pub fn commit_interval_ms(&self) -> Result<u64, KafkaError> {
        salespulse_window::parse_duration(&self.service.commit_interval)
            .filter(|&ms| ms > 0)
            .map(|ms| ms as u64)
            .ok_or_else(|| {
                KafkaError::Config(format!(
                    "service.commit_interval = {:?}: expected a positive duration like \"1s\"",
                    self.service.commit_interval
                ))
            })
    }

    /// `service.emit_interval` in milliseconds.
    pub fn emit_interval_ms(&self) -> Result<u64, KafkaError> {
        salespulse_window::parse_duration(&self.service.emit_interval)
            .map(|ms| ms as u64)
            .ok_or_else(|| {
                KafkaError::Config(format!(
                    "service.emit_interval = {:?}: expected a duration like \"250ms\"",
                    self.service.emit_interval
                ))
            })
    }

    /// Whether the input goes through the re-keying ingest stage.
    pub fn rekeys(&self) -> bool {
        self.input.keyed_by == "other"
    }

    /// The producer configuration every SalesPulse producer uses: idempotent,
    /// acknowledged by all in-sync replicas, lightly batched, and keyed
    /// records partitioned like Java clients (murmur2) unless `[kafka.client]`
    /// names another `partitioner`, so the by-rep topic stays co-partitioned
    /// with an input that Java producers keyed by rep_id.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = self.client_config();
        c.set("enable.idempotence", "true").set("acks", "all");
        // Defaults `[kafka.client]` may override (linger.ms was forced
        // before, whatever the config said).
        for (key, value) in [("linger.ms", "5"), ("partitioner", "murmur2_random")] {
            if !self.kafka.client.contains_key(key) {
                c.set(key, value);
            }
        }
        c
    }

    /// The client configuration for consumers: the pass-through properties
    /// without producer-only ones (librdkafka warns about those).
    pub fn consumer_config(&self) -> ClientConfig {
        let mut c = self.client_config();
        c.remove("partitioner");
        bound_prefetch(&mut c);
        c
    }

    /// A client configuration with the brokers and every pass-through property.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.kafka.brokers);
        self.kafka.client.apply(&mut c);
        c
    }
}

/// Bounds the bytes a consumer fetches ahead of the application to
/// 16 MiB, unless `[kafka.client]` sets `queued.max.messages.kbytes`:
/// librdkafka's 64 MiB per consumer adds up over the service's consumers
/// (input, score and alert views, control). The message count
/// (`queued.min.messages`) keeps librdkafka's default: at 10,000 per
/// partition the test broker's fetches fell behind 8,000 events/s
/// (docs/BENCHMARKS.md, "Soak").
pub fn bound_prefetch(c: &mut ClientConfig) {
    if c.get("queued.max.messages.kbytes").is_none() {
        c.set("queued.max.messages.kbytes", "16384");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_key() {
        let mut s = KafkaSettings::default();
        s.service.emit_interval = "soon".into();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("service.emit_interval"));
        let mut s = KafkaSettings::default();
        s.input.keyed_by = "customer".into();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("input.keyed_by"));
    }

    #[test]
    fn zero_turns_the_kpi_interval_and_the_idle_clock_off() {
        let mut s = KafkaSettings::default();
        s.service.kpis_interval = "0s".into();
        s.service.idle_after = "0s".into();
        s.validate().expect("zero is allowed");
        assert_eq!(
            (s.kpis_interval_ms().ok(), s.idle_after_ms().ok()),
            (Some(0), Some(0))
        );
        assert_eq!(KafkaSettings::default().idle_after_ms().ok(), Some(60_000));
        s.service.allowed_lateness = "-1s".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("service.allowed_lateness = \"-1s\""), "{e}");
    }

    #[test]
    fn client_defaults_yield_to_kafka_client() {
        let s = KafkaSettings::default();
        let p = s.producer_config();
        assert_eq!(p.get("linger.ms"), Some("5"));
        assert_eq!(p.get("partitioner"), Some("murmur2_random"));
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        let c = s.consumer_config();
        assert_eq!(c.get("queued.max.messages.kbytes"), Some("16384"));
        assert_eq!(c.get("partitioner"), None);

        let mut s = KafkaSettings::default();
        s.kafka.client.insert("linger.ms", "20");
        s.kafka.client.insert("queued.max.messages.kbytes", "4096");
        assert_eq!(s.producer_config().get("linger.ms"), Some("20"));
        assert_eq!(
            s.consumer_config().get("queued.max.messages.kbytes"),
            Some("4096")
        );
    }
}
