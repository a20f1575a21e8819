//! The consumer's context: lag statistics, and the rebalance callbacks
//! that librdkafka runs inside `poll` on the processing thread. They only
//! read which partitions moved and hand that to the processor
//! ([`Processor::revoke`], [`Processor::assign`]), which flushes, restores
//! and gives up partitions in one place.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Statistics, TopicPartitionList};
use tracing::warn;

use super::lock;
use super::processor::Processor;
use crate::Status;

/// Consumer context of the service.
pub(crate) struct ServiceContext {
    status: Arc<Status>,
    proc: Arc<Mutex<Processor>>,
}

impl ServiceContext {
    pub(super) fn new(status: Arc<Status>, proc: Arc<Mutex<Processor>>) -> Self {
        ServiceContext { status, proc }
    }
}

impl ClientContext for ServiceContext {
    fn stats(&self, stats: Statistics) {
        self.status.lag.record(&stats);
        crate::contexts::record_broker_silence(&self.status.health, &stats);
    }
}

impl ServiceContext {
    /// The outcome of an asynchronous commit (called inside `poll`).
    fn committed(&self, result: KafkaResult<()>) {
        match result {
            Ok(()) => self.status.health.set_commit_failing(false),
            Err(e) => {
                self.status.health.set_commit_failing(true);
                self.status.output.commit_failed();
                warn!(error = %e, "committing offsets failed; retrying at the next cycle");
                lock(&self.proc).recommit_all();
            }
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList, topics: &[String]) -> HashSet<i32> {
    tpl.elements()
        .iter()
        .filter(|e| topics.iter().any(|t| t == e.topic()))
        .map(|e| e.partition())
        .collect()
}

impl ConsumerContext for ServiceContext {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        self.committed(result);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let mut p = lock(&self.proc);
        if p.stopped {
            return; // the final cycle already ran; the metrics keep the last state
        }
        let revoked = partitions_of(tpl, &p.out.layout.processed);
        let ingest_only: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .filter(|e| p.out.layout.is_ingest_only(e.topic()))
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        p.revoke(consumer, &revoked, &ingest_only);
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else {
            return;
        };
        let mut p = lock(&self.proc);
        let mut assigned: Vec<i32> = partitions_of(tpl, &p.out.layout.processed)
            .into_iter()
            .collect();
        assigned.sort_unstable();
        p.assign(consumer, &assigned);
    }
}
