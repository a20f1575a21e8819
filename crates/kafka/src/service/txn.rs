//! Exactly-once output (`kafka.transactional = true`), as Kafka Streams'
//! exactly-once v2 does it: one transactional producer per instance; every
//! output, changelog record and re-keyed record produced between two commit
//! cycles belongs to one transaction, and the input offsets reached are sent
//! to it with the consumer group's metadata (so a member fenced by a
//! rebalance cannot commit them), then it commits. A `read_committed`
//! consumer (librdkafka's default) sees all of a cycle or none of it; the
//! restore reads the changelog the same way.
//!
//! A transaction that cannot commit is aborted and the service stops with
//! the error: its in-memory state is ahead of what the broker holds, and a
//! restart resumes from the last committed transaction (docs/operations.md,
//! "Delivery"). A broker without transactions (the test broker) fails the
//! first commit of a cycle that produced anything.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};
use tracing::warn;

use super::context::ServiceContext;
use super::inflight::OffsetBatch;
use crate::contexts::ProducerHealth;
use crate::KafkaError;

/// How many times a commit that failed with a retriable error is retried.
const RETRIES: u32 = 5;

/// The open transaction of a transactional producer.
pub(crate) struct Txn {
    timeout: Duration,
}

impl Txn {
    /// Registers the producer's transactional id with the broker (fencing
    /// any older producer under the same id) and opens the first
    /// transaction.
    pub(crate) fn init(
        producer: &FutureProducer<ProducerHealth>,
        timeout: Duration,
    ) -> Result<Txn, KafkaError> {
        producer.init_transactions(timeout).map_err(|e| {
            KafkaError::Transaction(format!(
                "the broker did not initialise the transactional producer: {e}"
            ))
        })?;
        let txn = Txn { timeout };
        txn.begin(producer)?;
        Ok(txn)
    }

    fn begin(&self, producer: &FutureProducer<ProducerHealth>) -> Result<(), KafkaError> {
        producer
            .begin_transaction()
            .map_err(|e| KafkaError::Transaction(format!("opening a transaction: {e}")))
    }

    /// Sends `offsets` to the open transaction, commits it, and opens the
    /// next. An error that needs an abort aborts it; every error stops the
    /// service.
    pub(crate) fn commit(
        &self,
        producer: &FutureProducer<ProducerHealth>,
        consumer: &BaseConsumer<ServiceContext>,
        offsets: &OffsetBatch,
    ) -> Result<(), KafkaError> {
        let group = if offsets.is_empty() {
            None
        } else {
            Some(consumer.group_metadata().ok_or_else(|| {
                KafkaError::Transaction("no consumer group metadata to send offsets with".into())
            })?)
        };
        if let Err(e) = self.send_and_commit(producer, group.as_ref(), offsets) {
            let requires_abort =
                matches!(&e, rdkafka::error::KafkaError::Transaction(t) if t.txn_requires_abort());
            let aborted = requires_abort && producer.abort_transaction(self.timeout).is_ok();
            return Err(KafkaError::Transaction(format!(
                "committing a transaction failed ({e}); {}: the service stops, and a \
                 restart resumes from the last committed transaction. A broker without \
                 transactions cannot run with kafka.transactional = true",
                if aborted {
                    "it was aborted"
                } else {
                    "it was not committed"
                }
            )));
        }
        self.begin(producer)
    }

    fn send_and_commit(
        &self,
        producer: &FutureProducer<ProducerHealth>,
        group: Option<&ConsumerGroupMetadata>,
        offsets: &OffsetBatch,
    ) -> Result<(), rdkafka::error::KafkaError> {
        if let Some(group) = group {
            let mut tpl = TopicPartitionList::new();
            for (topic, partition, next) in offsets {
                tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
            }
            retried(|| producer.send_offsets_to_transaction(&tpl, group, self.timeout))?;
        }
        retried(|| producer.commit_transaction(self.timeout))
    }
}

/// Runs `op` again while it fails with a retriable error (a timeout during
/// a broker outage), up to [`RETRIES`] times.
fn retried(
    mut op: impl FnMut() -> Result<(), rdkafka::error::KafkaError>,
) -> Result<(), rdkafka::error::KafkaError> {
    let mut tries = 0;
    loop {
        match op() {
            Err(rdkafka::error::KafkaError::Transaction(e))
                if e.is_retriable() && tries < RETRIES =>
            {
                tries += 1;
                warn!(error = %e, tries, "a transaction step failed; retrying");
            }
            other => return other,
        }
    }
}
