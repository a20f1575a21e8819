//! Outputs the broker has not acknowledged yet, and what waits on them:
//! emit cycles (their event-to-emit latency and alert counts are recorded
//! once every record of the cycle is acknowledged) and offset commits (an
//! offset is committed only once every output queued before it is
//! acknowledged). The processing loop polls these without blocking, so it
//! keeps consuming while the broker works; only revocation and shutdown
//! wait for everything.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rdkafka::producer::DeliveryFuture;

use salespulse_model::{AlertKind, AlertStatus};

use crate::KafkaError;

/// Outputs in flight beyond which the loop waits for the oldest ones:
/// bounds memory and keeps librdkafka's queue from filling up.
pub(super) const MAX_IN_FLIGHT: usize = 50_000;

/// One queued output.
struct Pending {
    seq: u64,
    queued_ms: i64,
    cycle: Option<u64>,
    fut: DeliveryFuture,
}

/// What an emit cycle records once all its records are acknowledged.
#[derive(Default)]
pub(super) struct CycleDone {
    /// Kafka timestamps (ms) of the oldest record each flush covered.
    pub covered_since: Vec<i64>,
    /// Score records and summaries emitted.
    pub emitted: u64,
    /// Alerts published.
    pub alerts: Vec<(AlertKind, AlertStatus)>,
    remaining: usize,
}

impl CycleDone {
    /// A closed cycle's record.
    pub fn new(
        covered_since: Vec<i64>,
        emitted: u64,
        alerts: Vec<(AlertKind, AlertStatus)>,
    ) -> Self {
        CycleDone {
            covered_since,
            emitted,
            alerts,
            remaining: 0,
        }
    }
}

/// Offsets to commit: (topic, partition, next offset).
pub(super) type OffsetBatch = Vec<(String, i32, i64)>;

/// The queue of unacknowledged outputs and what waits on them.
#[derive(Default)]
pub(super) struct Inflight {
    queue: VecDeque<Pending>,
    next_seq: u64,
    next_cycle: u64,
    cycles: HashMap<u64, CycleDone>,
    commits: VecDeque<(u64, OffsetBatch)>,
}

fn poll_once(fut: &mut DeliveryFuture) -> Poll<Result<(), KafkaError>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(fut).poll(&mut cx).map(outcome)
}

fn outcome<E>(
    r: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, E>,
) -> Result<(), KafkaError> {
    crate::produce::delivered(r, "an output record")
}

impl Inflight {
    /// Outputs not acknowledged yet.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// When the oldest unacknowledged output was queued (ms), if any.
    pub fn oldest_queued_ms(&self) -> Option<i64> {
        self.queue.front().map(|p| p.queued_ms)
    }

    /// Queues an output outside any emit cycle (DLQ, credits, changelog).
    pub fn push(&mut self, fut: DeliveryFuture, now_ms: i64) {
        self.push_in(None, fut, now_ms);
    }

    /// Starts an emit cycle: its records go in with [`Inflight::push_in`].
    pub fn start_cycle(&mut self) -> u64 {
        self.next_cycle += 1;
        self.cycles.insert(self.next_cycle, CycleDone::default());
        self.next_cycle
    }

    /// Queues a record of emit cycle `cycle` (or of none).
    pub fn push_in(&mut self, cycle: Option<u64>, fut: DeliveryFuture, now_ms: i64) {
        if let Some(c) = cycle.and_then(|c| self.cycles.get_mut(&c)) {
            c.remaining += 1;
        }
        self.queue.push_back(Pending {
            seq: self.next_seq,
            queued_ms: now_ms,
            cycle,
            fut,
        });
        self.next_seq += 1;
    }

    /// Closes emit cycle `cycle` with what it records when acknowledged;
    /// returns it at once when it queued nothing.
    pub fn close_cycle(&mut self, cycle: u64, mut done: CycleDone) -> Option<CycleDone> {
        let remaining = self.cycles.get(&cycle).map_or(0, |c| c.remaining);
        if remaining == 0 {
            self.cycles.remove(&cycle);
            return Some(done);
        }
        done.remaining = remaining;
        self.cycles.insert(cycle, done);
        None
    }

    /// Offsets to commit once every output queued so far is acknowledged.
    pub fn commit_after_queued(&mut self, offsets: OffsetBatch) {
        if !offsets.is_empty() {
            self.commits.push_back((self.next_seq, offsets));
        }
    }

    /// Removes acknowledged outputs without waiting; returns the emit
    /// cycles and offset batches that no longer wait on anything.
    pub fn reap(&mut self) -> Result<(Vec<CycleDone>, Vec<OffsetBatch>), KafkaError> {
        let mut done = Vec::new();
        let mut result = Ok(());
        self.queue.retain_mut(|p| match poll_once(&mut p.fut) {
            Poll::Pending => true,
            Poll::Ready(r) => {
                if result.is_ok() {
                    result = r;
                }
                if let Some(c) = p.cycle {
                    done.push(c);
                }
                false
            }
        });
        result?;
        Ok(self.settle(done))
    }

    /// Waits until at most `keep` outputs are unacknowledged, blocking on
    /// the oldest one at a time through `rt` and calling `slow` (with the
    /// count still waiting) each time `log_every` passes without progress.
    pub fn wait_until(
        &mut self,
        keep: usize,
        rt: &tokio::runtime::Handle,
        log_every: Duration,
        mut slow: impl FnMut(usize),
    ) -> Result<(Vec<CycleDone>, Vec<OffsetBatch>), KafkaError> {
        let (mut cycles, mut batches) = self.reap()?;
        while self.queue.len() > keep {
            let Some(mut oldest) = self.queue.pop_front() else {
                break;
            };
            match rt.block_on(async { tokio::time::timeout(log_every, &mut oldest.fut).await }) {
                Ok(r) => {
                    outcome(r)?;
                    let (c, b) = self.settle(oldest.cycle.into_iter().collect());
                    cycles.extend(c);
                    batches.extend(b);
                }
                Err(_) => {
                    slow(self.queue.len() + 1);
                    self.queue.push_front(oldest);
                }
            }
            let (c, b) = self.reap()?;
            cycles.extend(c);
            batches.extend(b);
        }
        Ok((cycles, batches))
    }

    fn settle(&mut self, acked_cycles: Vec<u64>) -> (Vec<CycleDone>, Vec<OffsetBatch>) {
        let mut finished = Vec::new();
        for c in acked_cycles {
            let Some(cycle) = self.cycles.get_mut(&c) else {
                continue;
            };
            cycle.remaining = cycle.remaining.saturating_sub(1);
            if cycle.remaining == 0 {
                if let Some(done) = self.cycles.remove(&c) {
                    finished.push(done);
                }
            }
        }
        let lowest = self.queue.front().map_or(self.next_seq, |p| p.seq);
        let mut batches = Vec::new();
        while self.commits.front().is_some_and(|(seq, _)| *seq <= lowest) {
            if let Some((_, b)) = self.commits.pop_front() {
                batches.push(b);
            }
        }
        (finished, batches)
    }
}
