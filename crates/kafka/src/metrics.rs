//! The service's status and its one Prometheus registry. Engine-health
//! series are updated on the hot path; the business gauges (`business`) and
//! consumer lag and broker connectivity (`contexts`) are refreshed on their
//! own cadence. docs/metrics.md lists every series.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

use prometheus::core::Collector;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};

use salespulse_model::{EventType, Reason};

/// Live status and metrics, shared with the HTTP layer.
pub struct Status {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// Partitions currently owned.
    pub partitions: IntGauge,
    /// Set once the service has consumed from an assigned partition.
    pub consuming: AtomicBool,
    /// Set while the producer has a connection to at least one broker.
    pub producer_up: AtomicBool,
    /// Milliseconds since the consumer last heard from a broker (-1: unknown).
    pub broker_silent_ms: AtomicI64,
    /// Set while assigned partitions are being restored from the changelog.
    pub restoring: AtomicBool,
    /// Changelog records read by the restore in progress.
    pub restore_done: AtomicU64,
    /// Changelog records the restore in progress has to read (an upper bound).
    pub restore_total: AtomicU64,
    /// Wall-clock ms since which outputs wait for the broker's acknowledgement (0: none waiting).
    pub acks_waiting_since_ms: AtomicI64,
    /// Set when the last offset commit failed (cleared by the next success).
    pub commit_failing: AtomicBool,
    /// Set while this instance owns input partition 0: it publishes the
    /// company-wide `rank_change` alerts (one publisher for the company).
    pub owns_partition_zero: AtomicBool,
    /// Records received, by topic.
    pub received: IntCounterVec,
    /// Records applied, by event type.
    pub applied: IntCounterVec,
    /// `applied` per [`EventType::ALL`] index, resolved once for the hot path.
    applied_by_type: Vec<IntCounter>,
    /// Records rejected, by reason.
    pub rejected: IntCounterVec,
    /// Duplicates dropped (also counted as rejected with reason `duplicate`).
    pub duplicates: IntCounter,
    /// Assist credits, by outcome (sent, applied, duplicate, too_late).
    pub credits: IntCounterVec,
    /// Input records whose key the default partitioner would place elsewhere.
    pub misrouted: IntCounterVec,
    /// Score records and summaries acknowledged by the broker.
    pub scores_emitted: IntCounter,
    /// Seconds to apply one record (decode, validate, apply).
    pub apply_seconds: Histogram,
    /// Seconds from the oldest record a flush covers to its records being acknowledged.
    pub event_to_emit_seconds: Histogram,
    /// Reps held in state.
    pub state_reps: IntGauge,
    /// The engines' estimate of the heap their rep state holds.
    pub state_heap_bytes: IntGauge,
    /// Changes of the owned partition set.
    pub rebalances: IntCounter,
    /// Records behind the partition's high watermark, from librdkafka statistics.
    pub consumer_lag: IntGaugeVec,
    /// Additive KPIs summed over the reps this instance owns, by group.
    pub kpi: GaugeVec,
    /// Reps this instance owns, by team and role.
    pub active_reps: IntGaugeVec,
    /// Owned reps with a score at or below `le`, by team and role (cumulative).
    pub score_bucket: GaugeVec,
    /// Owned reps with a score, by team and role.
    pub score_count: GaugeVec,
    /// Sum of owned reps' scores, by team and role.
    pub score_sum: GaugeVec,
    /// Per-rep score (only with `metrics.per_rep`).
    pub rep_score: GaugeVec,
    /// Per-rep attainment of each score component (only with `metrics.per_rep`).
    pub rep_attainment: GaugeVec,
    /// Reps left without per-rep series by `metrics.per_rep_limit`.
    pub rep_series_left_out: Gauge,
    /// Seconds to restore one partition from the changelog.
    pub restore_seconds: Histogram,
    /// Changelog records read while restoring.
    pub restore_records: IntCounter,
    /// Changelog records written.
    pub changelog_records: IntCounter,
    /// Size of changelog record values.
    pub changelog_record_bytes: Histogram,
    /// Offset commits that failed (retried at the next cycle).
    pub commit_failures: IntCounter,
    /// Times the consumer delivered a record past the next one expected.
    pub gaps: IntCounter,
    /// 1 while /readyz would answer 200 (set when /metrics is scraped).
    pub ready: IntGauge,
    /// 1 while assigned partitions are restored from the changelog (set when scraped).
    pub restoring_gauge: IntGauge,
    /// Alert records acknowledged, by kind and status.
    pub alerts: IntCounterVec,
    /// Open alerts of the owned partitions, by kind, severity and team.
    pub alerts_firing: IntGaugeVec,
    /// Records skipped because the rep's restored state already held them.
    pub already_applied: IntCounter,
    /// Event ids forgotten before their dedupe horizon because a rep hit `dedupe_max_per_rep`.
    pub dedupe_evicted: IntCounter,
    /// The control topic's reader.
    pub control: crate::control::ControlMetrics,
}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("valid metric")
}

impl Status {
    /// Fresh metrics in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let partitions = IntGauge::new(
            "salespulse_partitions_owned",
            "Input partitions this instance owns",
        )
        .expect("valid metric");
        let applied = counter_vec(
            "salespulse_events_applied_total",
            "Records applied to the engine, by event type",
            &["type"],
        );
        let applied_by_type = EventType::ALL
            .iter()
            .map(|t| applied.with_label_values(&[t.as_str()]))
            .collect();
        let rejected = counter_vec(
            "salespulse_events_rejected_total",
            "Records rejected, by reason code",
            &["reason"],
        );
        for r in Reason::ALL {
            rejected.with_label_values(&[r.code()]);
        }
        let credits = counter_vec(
            "salespulse_assist_credits_total",
            "Assist credits routed through the by-rep topic, by outcome",
            &["outcome"],
        );
        for o in [
            "sent",
            "applied",
            "duplicate",
            "too_late",
            "already_applied",
        ] {
            credits.with_label_values(&[o]);
        }
        let alerts = counter_vec(
            "salespulse_alerts_total",
            "Alert records published, by kind and status (firing, resolved)",
            &["kind", "status"],
        );
        for k in salespulse_model::AlertKind::ALL {
            for st in ["firing", "resolved"] {
                alerts.with_label_values(&[k.as_str(), st]);
            }
        }
        let build = IntGauge::with_opts(
            Opts::new("salespulse_build_info", "Build information")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("valid metric");
        build.set(1);
        let status = Status {
            partitions,
            consuming: AtomicBool::new(false),
            producer_up: AtomicBool::new(false),
            broker_silent_ms: AtomicI64::new(-1),
            restoring: AtomicBool::new(false),
            restore_done: AtomicU64::new(0),
            restore_total: AtomicU64::new(0),
            acks_waiting_since_ms: AtomicI64::new(0),
            commit_failing: AtomicBool::new(false),
            owns_partition_zero: AtomicBool::new(false),
            received: counter_vec(
                "salespulse_events_received_total",
                "Records received from input topics",
                &["topic"],
            ),
            applied,
            applied_by_type,
            rejected,
            duplicates: IntCounter::new(
                "salespulse_events_duplicate_total",
                "Duplicate records dropped (also in rejected_total with reason duplicate)",
            )
            .expect("valid metric"),
            credits,
            misrouted: counter_vec(
                "salespulse_input_misrouted_total",
                "Input records on another partition than murmur2(key) picks (assist credits may then miss their rep)",
                &["topic"],
            ),
            scores_emitted: IntCounter::new(
                "salespulse_scores_emitted_total",
                "Score records and period summaries acknowledged by the broker",
            )
            .expect("valid metric"),
            apply_seconds: histogram(
                "salespulse_apply_seconds",
                "Seconds to decode, validate and apply one record",
                vec![1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 1e-4, 1e-3],
            ),
            event_to_emit_seconds: histogram(
                "salespulse_event_to_emit_seconds",
                "Seconds from the oldest record a flush covers (Kafka record timestamp) to its score records being acknowledged",
                // Fine below 100 ms, where the latency goal (p99 <= 50 ms) sits.
                vec![
                    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.075,
                    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            state_reps: IntGauge::new(
                "salespulse_state_reps",
                "Reps held in state by this instance",
            )
            .expect("valid metric"),
            state_heap_bytes: IntGauge::new(
                "salespulse_state_heap_bytes",
                "Estimated heap bytes of the rep state this instance holds (windows, periods, dedupe, deals, detectors, commission books)",
            )
            .expect("valid metric"),
            rebalances: IntCounter::new(
                "salespulse_rebalances_total",
                "Changes of the set of owned input partitions",
            )
            .expect("valid metric"),
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "salespulse_consumer_lag",
                    "Records between the committed position and the high watermark",
                ),
                &["topic", "partition"],
            )
            .expect("valid metric"),
            kpi: gauge_vec(
                "salespulse_kpi",
                "Additive KPIs summed over the reps this instance owns (sum by (...) across instances)",
                &["kpi", "window", "team", "role", "region"],
            ),
            active_reps: IntGaugeVec::new(
                Opts::new("salespulse_active_reps", "Reps this instance owns"),
                &["team", "role"],
            )
            .expect("valid metric"),
            score_bucket: gauge_vec(
                "salespulse_score_bucket",
                "Owned reps with a score at or below le (cumulative; histogram_quantile works on it)",
                &["team", "role", "le"],
            ),
            score_count: gauge_vec(
                "salespulse_score_count",
                "Owned reps with a score",
                &["team", "role"],
            ),
            score_sum: gauge_vec(
                "salespulse_score_sum",
                "Sum of the owned reps' scores",
                &["team", "role"],
            ),
            rep_score: gauge_vec(
                "salespulse_rep_score",
                "A rep's latest score (metrics.per_rep)",
                &["rep", "team", "role"],
            ),
            rep_attainment: gauge_vec(
                "salespulse_rep_attainment",
                "A rep's attainment per score component (metrics.per_rep)",
                &["rep", "kpi", "window"],
            ),
            rep_series_left_out: Gauge::new(
                "salespulse_rep_series_left_out",
                "Reps without per-rep series because of metrics.per_rep_limit",
            )
            .expect("valid metric"),
            restore_seconds: histogram(
                "salespulse_restore_seconds",
                "Seconds from the start of a restore until a partition was restored from the changelog",
                vec![0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
            ),
            restore_records: IntCounter::new(
                "salespulse_restore_records_total",
                "Changelog records read while restoring partitions",
            )
            .expect("valid metric"),
            changelog_records: IntCounter::new(
                "salespulse_changelog_records_total",
                "Changelog records written (one per changed rep per commit cycle)",
            )
            .expect("valid metric"),
            changelog_record_bytes: histogram(
                "salespulse_changelog_record_bytes",
                "Size of changelog record values (one rep's state)",
                vec![256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0],
            ),
            commit_failures: IntCounter::new(
                "salespulse_commit_failures_total",
                "Offset commits that failed and were retried at the next cycle",
            )
            .expect("valid metric"),
            already_applied: IntCounter::new(
                "salespulse_events_already_applied_total",
                "Records skipped after a restore because the rep's state already held them",
            )
            .expect("valid metric"),
            dedupe_evicted: IntCounter::new(
                "salespulse_dedupe_evicted_total",
                "Event ids forgotten before their dedupe horizon because a rep hit engine.dedupe_max_per_rep",
            )
            .expect("valid metric"),
            gaps: IntCounter::new(
                "salespulse_consumer_gaps_total",
                "Times the consumer delivered a record past the next one a partition's state expected",
            )
            .expect("valid metric"),
            ready: IntGauge::new(
                "salespulse_ready",
                "1 while the instance is ready (what /readyz answers), else 0",
            )
            .expect("valid metric"),
            restoring_gauge: IntGauge::new(
                "salespulse_restoring",
                "1 while assigned partitions are being restored from the changelog",
            )
            .expect("valid metric"),
            alerts,
            alerts_firing: IntGaugeVec::new(
                Opts::new(
                    "salespulse_alerts_firing",
                    "Open alerts of the reps and sources this instance owns (sum across instances)",
                ),
                &["kind", "severity", "team"],
            )
            .expect("valid metric"),
            control: crate::control::ControlMetrics::new(),
            registry,
        };
        status.register(build);
        status
    }

    fn register(&self, build: IntGauge) {
        let all: Vec<Box<dyn Collector>> = vec![
            Box::new(self.partitions.clone()),
            Box::new(self.received.clone()),
            Box::new(self.applied.clone()),
            Box::new(self.rejected.clone()),
            Box::new(self.duplicates.clone()),
            Box::new(self.credits.clone()),
            Box::new(self.misrouted.clone()),
            Box::new(self.scores_emitted.clone()),
            Box::new(build),
            Box::new(self.apply_seconds.clone()),
            Box::new(self.event_to_emit_seconds.clone()),
            Box::new(self.state_reps.clone()),
            Box::new(self.state_heap_bytes.clone()),
            Box::new(self.rebalances.clone()),
            Box::new(self.consumer_lag.clone()),
            Box::new(self.kpi.clone()),
            Box::new(self.active_reps.clone()),
            Box::new(self.score_bucket.clone()),
            Box::new(self.score_count.clone()),
            Box::new(self.score_sum.clone()),
            Box::new(self.rep_score.clone()),
            Box::new(self.rep_attainment.clone()),
            Box::new(self.rep_series_left_out.clone()),
            Box::new(self.restore_seconds.clone()),
            Box::new(self.restore_records.clone()),
            Box::new(self.changelog_records.clone()),
            Box::new(self.changelog_record_bytes.clone()),
            Box::new(self.commit_failures.clone()),
            Box::new(self.already_applied.clone()),
            Box::new(self.dedupe_evicted.clone()),
            Box::new(self.gaps.clone()),
            Box::new(self.ready.clone()),
            Box::new(self.restoring_gauge.clone()),
            Box::new(self.alerts.clone()),
            Box::new(self.alerts_firing.clone()),
            Box::new(self.control.records.clone()),
            Box::new(self.control.versions.clone()),
            Box::new(self.control.late.clone()),
        ];
        for m in all {
            self.registry.register(m).expect("metric names are unique");
        }
    }

    /// Counts an applied record of type `t`.
    pub fn count_applied(&self, t: EventType) {
        if let Some(c) = EventType::ALL
            .iter()
            .position(|&x| x == t)
            .and_then(|i| self.applied_by_type.get(i))
        {
            c.inc();
        }
    }

    /// Counts a rejected record.
    pub fn count_rejected(&self, reason: Reason) {
        self.rejected.with_label_values(&[reason.code()]).inc();
        if reason == Reason::Duplicate {
            self.duplicates.inc();
        }
    }

    /// Records applied plus rejected so far.
    pub fn processed(&self) -> u64 {
        let rejected: u64 = Reason::ALL
            .iter()
            .map(|r| self.rejected.with_label_values(&[r.code()]).get())
            .sum();
        let applied: u64 = self.applied_by_type.iter().map(IntCounter::get).sum();
        applied + rejected
    }

    /// Assist credits sent and not yet applied, dropped or found duplicate
    /// by this instance (0 once a single instance has caught up).
    pub fn credits_in_flight(&self) -> i64 {
        let get = |o: &str| self.credits.with_label_values(&[o]).get() as i64;
        get("sent")
            - get("applied")
            - get("duplicate")
            - get("too_late")
            - get("already_applied")
            - get("deferred")
    }
}
