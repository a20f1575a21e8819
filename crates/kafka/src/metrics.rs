//! The service's status and its one Prometheus registry: engine-health
//! series, consumer lag from librdkafka statistics, and the business gauges
//! (additive KPIs as partial sums over owned reps). docs/metrics.md lists them.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Live status and metrics, shared with the HTTP layer. One Prometheus
/// registry; every series is documented in docs/metrics.md.
pub struct Status {
    /// The registry `/metrics` renders.
    pub registry: prometheus::Registry,
    /// Partitions currently owned.
    pub partitions: prometheus::IntGauge,
    /// Set once the service has consumed from an assigned partition.
    pub consuming: AtomicBool,
    /// Records received, by topic.
    pub received: prometheus::IntCounterVec,
    /// Records applied.
    pub applied: prometheus::IntCounter,
    /// Records rejected, by reason.
    pub rejected: prometheus::IntCounterVec,
    /// Score records and summaries acknowledged by the broker.
    pub scores_emitted: prometheus::IntCounter,
    /// Seconds to apply one record (decode, validate, apply).
    pub apply_seconds: prometheus::Histogram,
    /// Seconds from the oldest record a flush covers (its Kafka timestamp) to the flush's records being acknowledged.
    pub event_to_emit_seconds: prometheus::Histogram,
    /// Reps held in state.
    pub state_reps: prometheus::IntGauge,
    /// Changes of the owned partition set.
    pub rebalances: prometheus::IntCounter,
    /// Records behind the partition's high watermark, from librdkafka statistics.
    pub consumer_lag: prometheus::IntGaugeVec,
    /// Additive KPIs summed over the reps this instance owns, by group.
    pub kpi: prometheus::GaugeVec,
    /// Reps this instance owns, by team and role.
    pub active_reps: prometheus::IntGaugeVec,
}

/// KPIs that add up across reps and instances (ratios are derived in PromQL from these).
const ADDITIVE: [salespulse_model::KpiName; 16] = {
    use salespulse_model::KpiName as K;
    [
        K::Revenue,
        K::DealsWon,
        K::DealsLost,
        K::PipelineCreated,
        K::Calls,
        K::Meetings,
        K::Emails,
        K::Activities,
        K::NewCustomers,
        K::Invoiced,
        K::Collected,
        K::Refunds,
        K::NetRevenue,
        K::PartnersOnboarded,
        K::PartnerRevenue,
        K::Assists,
    ]
};

/// Sets the business gauges from the engines' group sums (replacing the previous values).
pub(crate) fn refresh_business_gauges<'a>(
    status: &Status,
    engines: impl Iterator<Item = &'a mut salespulse_engine::Engine>,
) {
    let mut groups: HashMap<(String, String, String), (usize, Vec<salespulse_kpi::SalesAcc>)> =
        HashMap::new();
    let mut names = Vec::new();
    for engine in engines {
        names = engine.window_names().to_vec();
        for (key, g) in engine.group_sums() {
            let e = groups
                .entry(key)
                .or_insert_with(|| (0, vec![salespulse_kpi::SalesAcc::default(); g.sums.len()]));
            e.0 += g.reps;
            for (t, s) in e.1.iter_mut().zip(&g.sums) {
                salespulse_window::Accumulator::merge(t, s);
            }
        }
    }
    status.kpi.reset();
    status.active_reps.reset();
    for ((team, role, region), (reps, sums)) in &groups {
        status
            .active_reps
            .with_label_values(&[team.as_str(), role.as_str()])
            .add(*reps as i64);
        for kpi in ADDITIVE {
            for (window, acc) in names.iter().zip(sums) {
                if let Some(v) = salespulse_kpi::kpi_value(kpi, acc).as_f64() {
                    status
                        .kpi
                        .with_label_values(&[
                            kpi.as_str(),
                            window,
                            team.as_str(),
                            role.as_str(),
                            region.as_str(),
                        ])
                        .set(v);
                }
            }
        }
    }
}

/// Client context that copies librdkafka's per-partition consumer lag into
/// `salespulse_consumer_lag` (statistics arrive every `statistics.interval.ms`).
pub(crate) struct LagContext(pub(crate) Arc<Status>);

impl rdkafka::ClientContext for LagContext {
    fn stats(&self, stats: rdkafka::Statistics) {
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                // librdkafka reports -1 for partitions it does not consume, and uses partition -1 internally.
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.0
                        .consumer_lag
                        .with_label_values(&[topic.as_str(), &partition.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for LagContext {}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

impl Status {
    /// Fresh metrics in a fresh registry.
    pub fn new() -> Self {
        use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
        let registry = prometheus::Registry::new();
        let partitions = IntGauge::new(
            "salespulse_partitions_owned",
            "Input partitions this instance owns",
        )
        .expect("valid metric");
        let received = IntCounterVec::new(
            Opts::new(
                "salespulse_events_received_total",
                "Records received from input topics",
            ),
            &["topic"],
        )
        .expect("valid metric");
        let applied = IntCounter::new(
            "salespulse_events_applied_total",
            "Records applied to the engine",
        )
        .expect("valid metric");
        let rejected = IntCounterVec::new(
            Opts::new(
                "salespulse_events_rejected_total",
                "Records rejected, by reason code",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let scores_emitted = IntCounter::new(
            "salespulse_scores_emitted_total",
            "Score records and period summaries acknowledged by the broker",
        )
        .expect("valid metric");
        let apply_seconds = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "salespulse_apply_seconds",
                "Seconds to decode, validate and apply one record",
            )
            .buckets(vec![
                1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 1e-4, 1e-3,
            ]),
        )
        .expect("valid metric");
        let event_to_emit_seconds = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "salespulse_event_to_emit_seconds",
                "Seconds from the oldest record a flush covers (Kafka record timestamp) to its score records being acknowledged",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )
        .expect("valid metric");
        let state_reps = IntGauge::new(
            "salespulse_state_reps",
            "Reps held in state by this instance",
        )
        .expect("valid metric");
        let consumer_lag = prometheus::IntGaugeVec::new(
            Opts::new(
                "salespulse_consumer_lag",
                "Records between the committed position and the high watermark",
            ),
            &["topic", "partition"],
        )
        .expect("valid metric");
        let kpi = prometheus::GaugeVec::new(
            Opts::new("salespulse_kpi", "Additive KPIs summed over the reps this instance owns (sum by (...) across instances)"),
            &["kpi", "window", "team", "role", "region"],
        )
        .expect("valid metric");
        let active_reps = prometheus::IntGaugeVec::new(
            Opts::new("salespulse_active_reps", "Reps this instance owns"),
            &["team", "role"],
        )
        .expect("valid metric");
        let rebalances = IntCounter::new(
            "salespulse_rebalances_total",
            "Changes of the set of owned input partitions",
        )
        .expect("valid metric");
        let build = IntGauge::with_opts(
            Opts::new("salespulse_build_info", "Build information")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("valid metric");
        build.set(1);
        for m in [
            Box::new(partitions.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(received.clone()),
            Box::new(applied.clone()),
            Box::new(rejected.clone()),
            Box::new(scores_emitted.clone()),
            Box::new(build),
            Box::new(apply_seconds.clone()),
            Box::new(event_to_emit_seconds.clone()),
            Box::new(state_reps.clone()),
            Box::new(rebalances.clone()),
            Box::new(consumer_lag.clone()),
            Box::new(kpi.clone()),
            Box::new(active_reps.clone()),
        ] {
            registry.register(m).expect("metric names are unique");
        }
        for r in salespulse_model::Reason::ALL {
            rejected.with_label_values(&[r.code()]);
        }
        Status {
            registry,
            partitions,
            consuming: AtomicBool::new(false),
            received,
            applied,
            rejected,
            scores_emitted,
            apply_seconds,
            event_to_emit_seconds,
            state_reps,
            rebalances,
            consumer_lag,
            kpi,
            active_reps,
        }
    }

    /// Records applied plus rejected so far.
    pub fn processed(&self) -> u64 {
        let rejected: u64 = salespulse_model::Reason::ALL
            .iter()
            .map(|r| self.rejected.with_label_values(&[r.code()]).get())
            .sum();
        self.applied.get() + rejected
    }
}
