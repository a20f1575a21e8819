//! SalesPulse on Kafka: the consumer-group service that applies records
//! through the same [`salespulse_engine::Engine`] as `replay` and publishes
//! score records and rejected records, the topic admin, and the generator's
//! producer.
//!
//! One engine per input partition keeps stream time per partition, so the
//! results of a partition equal a replay of that partition's records.

mod admin;
mod business;
mod client_props;
mod contexts;
mod control;
mod layout;
mod metrics;
mod privacy;
mod produce;
mod restore;
mod service;
mod settings;

pub use admin::{create_topics, TopicOutcome};
pub use client_props::{is_secret, redact_error, ClientProps};
pub use control::{publish_control, ControlMetrics};
pub use metrics::Status;
pub use privacy::{redacted_dlq_payload, DlqSection, PrivacySection};
pub use produce::{produce_generated, ProduceSummary};
pub use service::{run, RunSummary};
pub use settings::{
    bound_prefetch, InputSection, KafkaSection, KafkaSettings, MetricsSection, OutputSection,
    ServiceSection, TopicsSection,
};

/// Errors of the Kafka edge, classified so the caller can decide to retry.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client or broker refused something.
    #[error("kafka: {context}: {source}")]
    Client {
        /// What was being done.
        context: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
}

impl KafkaError {
    pub(crate) fn client(
        context: impl Into<String>,
    ) -> impl FnOnce(rdkafka::error::KafkaError) -> KafkaError {
        let context = context.into();
        move |source| KafkaError::Client {
            context,
            source: redact_error(source),
        }
    }
}
