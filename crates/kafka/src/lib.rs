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
mod follow;
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
pub use follow::{follow, follow_outputs};
pub use metrics::Status;
pub use privacy::{redacted_dlq_payload, DlqSection, PrivacySection};
pub use produce::{produce_generated, ProduceSummary};
pub use salespulse_telemetry::{Health, Metrics};
pub use service::{run, RunSummary};
pub use settings::{
    bound_prefetch, InputSection, KafkaSection, KafkaSettings, MetricsSection, OutputSection,
    ServiceSection, TopicsSection,
};

pub use salespulse_model::error::{ErrorDomain, RetryHint};

/// Errors of the Kafka edge, by domain: what the user must fix, what an
/// outside system failed to do, and what is a bug ([`KafkaError::domain`],
/// [`KafkaError::retry`]).
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
    /// The topics are not what the service needs (missing, partition counts).
    #[error("{0}")]
    Topics(String),
    /// The broker did not answer within a bound.
    #[error("{0}")]
    Timeout(String),
    /// The producer gave up on a record without delivering it.
    #[error("the producer dropped {0}")]
    Dropped(String),
    /// A changelog record could not be read.
    #[error(transparent)]
    Changelog(#[from] salespulse_engine::SnapshotError),
    /// An output could not be encoded.
    #[error("encoding {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        source: serde_json::Error,
    },
    /// The service itself failed (its processing thread).
    #[error("{0}")]
    Internal(String),
    /// A transaction of the transactional output (`kafka.transactional`)
    /// could not be opened or committed.
    #[error("kafka.transactional: {0}")]
    Transaction(String),
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

    pub(crate) fn encode(what: &'static str) -> impl FnOnce(serde_json::Error) -> KafkaError {
        move |source| KafkaError::Encode { what, source }
    }

    /// Who can fix it.
    pub fn domain(&self) -> ErrorDomain {
        match self {
            KafkaError::Config(_) | KafkaError::Topics(_) => ErrorDomain::User,
            KafkaError::Client { .. }
            | KafkaError::Timeout(_)
            | KafkaError::Dropped(_)
            | KafkaError::Transaction(_)
            | KafkaError::Changelog(_) => ErrorDomain::External,
            KafkaError::Encode { .. } | KafkaError::Internal(_) => ErrorDomain::Internal,
        }
    }

    /// Whether starting again can help.
    pub fn retry(&self) -> RetryHint {
        match self.domain() {
            ErrorDomain::User => RetryHint::AfterFix,
            ErrorDomain::External => match self {
                // A changelog record this build cannot read stays unreadable.
                KafkaError::Changelog(_) => RetryHint::AfterFix,
                _ => RetryHint::Retry,
            },
            ErrorDomain::Internal => RetryHint::Report,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_says_who_fixes_it_and_whether_a_restart_helps() {
        let bad_json = serde_json::from_str::<u8>("x").unwrap_err();
        let cases = [
            (
                KafkaError::Config("x".into()),
                ErrorDomain::User,
                RetryHint::AfterFix,
            ),
            (
                KafkaError::Topics("x".into()),
                ErrorDomain::User,
                RetryHint::AfterFix,
            ),
            (
                KafkaError::Timeout("x".into()),
                ErrorDomain::External,
                RetryHint::Retry,
            ),
            (
                KafkaError::Dropped("x".into()),
                ErrorDomain::External,
                RetryHint::Retry,
            ),
            (
                salespulse_engine::SnapshotError::Version {
                    rep: "r".into(),
                    got: 9,
                }
                .into(),
                ErrorDomain::External,
                RetryHint::AfterFix,
            ),
            (
                KafkaError::encode("a score")(bad_json),
                ErrorDomain::Internal,
                RetryHint::Report,
            ),
            (
                KafkaError::Internal("x".into()),
                ErrorDomain::Internal,
                RetryHint::Report,
            ),
        ];
        for (e, domain, retry) in cases {
            assert_eq!((e.domain(), e.retry()), (domain, retry), "{e}");
        }
    }
}
