//! The facts readiness is judged on, set by the parts of the service that
//! know them (assignment, the producer's and consumer's statistics, the
//! restore, the acknowledgement wait, the offset commit) and read by
//! `/readyz` and at each scrape.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use prometheus::IntGauge;
use serde_json::{json, Value};

use crate::Metrics;

/// How long outputs may wait for acknowledgement before the instance counts as not ready.
const ACK_PATIENCE_MS: i64 = 3000;

/// How long the consumer may hear nothing from the brokers before the
/// instance counts as not ready (a healthy broker answers a fetch at least
/// every `fetch.wait.max.ms`, 500 ms by default).
const SILENCE_PATIENCE_MS: i64 = 5000;

/// The instance's health.
#[derive(Debug)]
pub struct Health {
    partitions: IntGauge,
    consuming: AtomicBool,
    producer_up: AtomicBool,
    broker_silent_ms: AtomicI64,
    restoring: AtomicBool,
    restore_done: AtomicU64,
    restore_total: AtomicU64,
    acks_waiting_since_ms: AtomicI64,
    commit_failing: AtomicBool,
    ready: IntGauge,
    restoring_gauge: IntGauge,
}

/// Why the instance is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// Assigned partitions are being restored from the changelog.
    Restoring {
        /// Changelog records read so far.
        done: u64,
        /// At most this many to read.
        of_at_most: u64,
    },
    /// No partition is assigned (or none consumed yet).
    NoPartition,
    /// The producer has no connection to a broker.
    ProducerDown,
    /// The consumer heard nothing from the brokers for this many seconds.
    BrokerSilent(i64),
    /// Outputs have waited this many seconds for acknowledgement.
    AcksWaiting(i64),
    /// The last offset commit failed.
    CommitFailing,
}

impl NotReady {
    /// The JSON `/readyz` answers (without `ready` and `partitions`).
    pub fn to_json(&self) -> Value {
        let reason = match self {
            NotReady::Restoring { done, of_at_most } => {
                return json!({"reason": "restoring", "restored_records": done,
                              "of_at_most": of_at_most});
            }
            NotReady::NoPartition => "no partition assigned to this instance yet".to_string(),
            NotReady::ProducerDown => "the producer has no connection to a broker".to_string(),
            NotReady::BrokerSilent(s) => format!("no answer from the broker for {s} s"),
            NotReady::AcksWaiting(s) => {
                format!("outputs waiting {s} s for the broker's acknowledgement")
            }
            NotReady::CommitFailing => "the last offset commit failed (retrying)".to_string(),
        };
        json!({ "reason": reason })
    }
}

impl Health {
    /// Health registering its series (`salespulse_partitions_owned`,
    /// `salespulse_ready`, `salespulse_restoring`, `salespulse_build_info`)
    /// in `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        let build = metrics.register(
            IntGauge::with_opts(
                prometheus::Opts::new("salespulse_build_info", "Build information")
                    .const_label("version", env!("CARGO_PKG_VERSION")),
            )
            .expect("valid metric"),
        );
        build.set(1);
        Health {
            partitions: metrics.int_gauge(
                "salespulse_partitions_owned",
                "Input partitions this instance owns",
            ),
            consuming: AtomicBool::new(false),
            producer_up: AtomicBool::new(false),
            broker_silent_ms: AtomicI64::new(-1),
            restoring: AtomicBool::new(false),
            restore_done: AtomicU64::new(0),
            restore_total: AtomicU64::new(0),
            acks_waiting_since_ms: AtomicI64::new(0),
            commit_failing: AtomicBool::new(false),
            ready: metrics.int_gauge(
                "salespulse_ready",
                "1 while the instance is ready (what /readyz answers), else 0",
            ),
            restoring_gauge: metrics.int_gauge(
                "salespulse_restoring",
                "1 while assigned partitions are being restored from the changelog",
            ),
        }
    }

    /// This instance now owns `n` partitions.
    pub fn set_partitions(&self, n: usize) {
        self.partitions.set(n as i64);
    }

    /// Partitions owned.
    pub fn partitions(&self) -> i64 {
        self.partitions.get()
    }

    /// Whether the service consumes from assigned partitions.
    pub fn set_consuming(&self, consuming: bool) {
        self.consuming.store(consuming, Ordering::Relaxed);
    }

    /// Whether the producer holds a connection to a broker.
    pub fn set_producer_up(&self, up: bool) {
        self.producer_up.store(up, Ordering::Relaxed);
    }

    /// Milliseconds the consumer has heard nothing from the brokers (-1: unknown).
    pub fn set_broker_silent_ms(&self, ms: i64) {
        self.broker_silent_ms.store(ms, Ordering::Relaxed);
    }

    /// A restore starts.
    pub fn restore_started(&self) {
        self.restore_done.store(0, Ordering::Relaxed);
        self.restore_total.store(0, Ordering::Relaxed);
        self.restoring.store(true, Ordering::Relaxed);
    }

    /// The restore in progress has at most `n` more changelog records to read.
    pub fn restore_expects(&self, n: u64) {
        self.restore_total.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more changelog records were restored.
    pub fn restored(&self, n: u64) {
        self.restore_done.fetch_add(n, Ordering::Relaxed);
    }

    /// The restore in progress ended.
    pub fn restore_finished(&self) {
        self.restoring.store(false, Ordering::Relaxed);
    }

    /// Outputs wait for acknowledgement since `ms` (wall clock; 0: none waits).
    pub fn set_acks_waiting_since_ms(&self, ms: i64) {
        self.acks_waiting_since_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the last offset commit failed.
    pub fn set_commit_failing(&self, failing: bool) {
        self.commit_failing.store(failing, Ordering::Relaxed);
    }

    /// Why the instance is not ready at wall-clock `now_ms`, if it is not.
    pub fn not_ready(&self, now_ms: i64) -> Option<NotReady> {
        let waiting_since = self.acks_waiting_since_ms.load(Ordering::Relaxed);
        let silent = self.broker_silent_ms.load(Ordering::Relaxed);
        Some(if self.restoring.load(Ordering::Relaxed) {
            NotReady::Restoring {
                done: self.restore_done.load(Ordering::Relaxed),
                of_at_most: self.restore_total.load(Ordering::Relaxed),
            }
        } else if !self.consuming.load(Ordering::Relaxed) || self.partitions.get() == 0 {
            NotReady::NoPartition
        } else if !self.producer_up.load(Ordering::Relaxed) {
            NotReady::ProducerDown
        } else if silent > SILENCE_PATIENCE_MS {
            NotReady::BrokerSilent(silent / 1000)
        } else if waiting_since > 0 && now_ms - waiting_since > ACK_PATIENCE_MS {
            NotReady::AcksWaiting((now_ms - waiting_since) / 1000)
        } else if self.commit_failing.load(Ordering::Relaxed) {
            NotReady::CommitFailing
        } else {
            return None;
        })
    }

    /// Sets the `salespulse_ready` and `salespulse_restoring` gauges (at a scrape).
    pub fn refresh_gauges(&self, now_ms: i64) {
        self.ready.set(i64::from(self.not_ready(now_ms).is_none()));
        self.restoring_gauge
            .set(i64::from(self.restoring.load(Ordering::Relaxed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_partitions_a_producer_a_broker_acks_and_commits() {
        let h = Health::new(&Metrics::new());
        let now = 1_000_000;
        assert_eq!(h.not_ready(now), Some(NotReady::NoPartition));
        h.set_partitions(2);
        h.set_consuming(true);
        assert_eq!(h.not_ready(now), Some(NotReady::ProducerDown));
        h.set_producer_up(true);
        assert_eq!(h.not_ready(now), None);
        // A broker that keeps its connections open but answers nothing.
        h.set_broker_silent_ms(6_500);
        assert_eq!(h.not_ready(now), Some(NotReady::BrokerSilent(6)));
        h.set_broker_silent_ms(400);
        h.restore_started();
        h.restore_expects(10);
        h.restored(5);
        let r = h.not_ready(now).unwrap();
        assert_eq!(
            r.to_json(),
            json!({"reason": "restoring", "restored_records": 5, "of_at_most": 10})
        );
        h.refresh_gauges(now);
        assert_eq!((h.ready.get(), h.restoring_gauge.get()), (0, 1));
        h.restore_finished();
        h.set_acks_waiting_since_ms(now - 4_000);
        assert_eq!(h.not_ready(now), Some(NotReady::AcksWaiting(4)));
        h.set_acks_waiting_since_ms(0);
        h.set_commit_failing(true);
        assert!(h.not_ready(now).unwrap().to_json()["reason"]
            .as_str()
            .unwrap()
            .contains("commit"));
        h.set_commit_failing(false);
        h.refresh_gauges(now);
        assert_eq!((h.ready.get(), h.restoring_gauge.get()), (1, 0));
    }
}
