//! What librdkafka's statistics (every `statistics.interval.ms`) tell the
//! status: the consumer's per-partition lag and whether the producer is
//! connected to a broker.

use std::sync::Arc;

use prometheus::IntGaugeVec;
use rdkafka::{ClientContext, Statistics};
use salespulse_telemetry::{Health, Metrics};

/// Records behind each partition's high watermark.
pub struct ConsumerLag(IntGaugeVec);

impl ConsumerLag {
    /// The series, registered in `m`.
    pub fn new(m: &Metrics) -> Self {
        ConsumerLag(m.int_gauge_vec(
            "salespulse_consumer_lag",
            "Records between the committed position and the high watermark",
            &["topic", "partition"],
        ))
    }

    /// Copies per-partition consumer lag from librdkafka statistics.
    pub(crate) fn record(&self, stats: &Statistics) {
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                // librdkafka reports -1 for partitions it does not consume, and uses partition -1 internally.
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.0
                        .with_label_values(&[topic.as_str(), &partition.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

/// How long the consumer has heard nothing from any broker it is connected
/// to (librdkafka's `rxidle`, the least over the brokers that are up), for
/// /readyz: a frozen or unreachable broker that keeps its connections open
/// is noticed within seconds, before any request times out. The consumer
/// hears from a healthy broker at least every `fetch.wait.max.ms`.
pub(crate) fn record_broker_silence(health: &Health, stats: &Statistics) {
    let silent_us = stats
        .brokers
        .values()
        .filter(|b| b.nodeid >= 0 && b.state == "UP" && b.rxidle >= 0)
        .map(|b| b.rxidle)
        .min();
    let ms = silent_us.map_or(-1, |us| us / 1000);
    health.set_broker_silent_ms(ms);
}

/// Tracks whether the producer holds a connection to any broker, for /readyz.
pub(crate) struct ProducerHealth(pub(crate) Arc<Health>);

impl ClientContext for ProducerHealth {
    fn stats(&self, stats: Statistics) {
        let up = stats.brokers.values().any(|b| b.state == "UP");
        self.0.set_producer_up(up);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown) {
            self.0.set_producer_up(false);
        }
        tracing::warn!(%error, reason, "producer error");
    }
}

/// The restore consumer's context: it asks for end-of-partition events
/// (that is how it knows a changelog partition is loaded), which librdkafka
/// also reports as client errors; those are expected and not logged.
pub(crate) struct RestoreContext;

impl ClientContext for RestoreContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(%error, reason, "restore consumer error");
    }
}

impl rdkafka::consumer::ConsumerContext for RestoreContext {}
