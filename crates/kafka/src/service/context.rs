//! The consumer's context: lag statistics, and the rebalance callbacks
//! that librdkafka runs inside `poll` on the processing thread. On
//! revocation the commit cycle runs for everything owned (outputs, then
//! changelog, then offsets) before the partitions go; on assignment each
//! new partition is restored from the changelog before its first record.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Statistics, TopicPartitionList};
use tracing::{error, info, warn};

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
        crate::contexts::record_lag(&self.status, &stats);
        crate::contexts::record_broker_silence(&self.status, &stats);
    }
}

impl ServiceContext {
    /// The outcome of an asynchronous commit (called inside `poll`).
    fn committed(&self, result: KafkaResult<()>) {
        match result {
            Ok(()) => self.status.commit_failing.store(false, Ordering::Relaxed),
            Err(e) => {
                self.status.commit_failing.store(true, Ordering::Relaxed);
                self.status.commit_failures.inc();
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
        let revoked = partitions_of(tpl, &p.layout.processed);
        if let Err(e) = p.flush_all(consumer) {
            error!(error = %e, "commit cycle on revocation failed");
            p.fatal = Some(e);
        }
        p.groups.retain(|k, _| !revoked.contains(k));
        p.recount_open_alerts();
        for (topic, parts) in p.ingest.iter_mut() {
            parts.retain(|k, _| {
                !tpl.elements()
                    .iter()
                    .any(|e| e.topic() == topic && e.partition() == *k)
            });
        }
        let owned: HashSet<i32> = p.groups.keys().copied().collect();
        let status = p.status.clone();
        p.per_rep.forget_partitions(&status, |x| owned.contains(&x));
        self.status.partitions.set(owned.len() as i64);
        self.status
            .owns_partition_zero
            .store(owned.contains(&0), Ordering::Relaxed);
        self.status
            .consuming
            .store(!owned.is_empty(), Ordering::Relaxed);
        self.status.rebalances.inc();
        info!(revoked = ?revoked, "partitions revoked");
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else {
            return;
        };
        let mut p = lock(&self.proc);
        let assigned = partitions_of(tpl, &p.layout.processed);
        self.status.restore_done.store(0, Ordering::Relaxed);
        self.status.restore_total.store(0, Ordering::Relaxed);
        self.status.restoring.store(true, Ordering::Relaxed);
        let mut sorted: Vec<i32> = assigned.into_iter().collect();
        sorted.sort_unstable();
        let new: Vec<i32> = sorted
            .iter()
            .copied()
            .filter(|q| !p.groups.contains_key(q))
            .collect();
        if !new.is_empty() {
            if let Err(e) = p.take_over(consumer, &new) {
                error!(partitions = ?new, error = %e, "restoring partitions failed");
                p.fatal = Some(e);
            }
        }
        self.status.restoring.store(false, Ordering::Relaxed);
        p.recount_open_alerts();
        self.status.partitions.set(p.groups.len() as i64);
        self.status
            .owns_partition_zero
            .store(p.groups.contains_key(&0), Ordering::Relaxed);
        self.status
            .consuming
            .store(!tpl.elements().is_empty(), Ordering::Relaxed);
        self.status.rebalances.inc();
        info!(assigned = ?sorted, "partitions assigned");
    }
}
