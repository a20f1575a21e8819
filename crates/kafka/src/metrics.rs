//! The service's status: its health and its metric groups, each defined,
//! registered and updated next to the code it measures, all in the one
//! registry `/metrics` renders. docs/metrics.md is the catalogue (a test
//! checks it against the registry).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use salespulse_telemetry::{Health, Metrics};

use crate::business::BusinessMetrics;
use crate::contexts::ConsumerLag;
use crate::control::ControlMetrics;
use crate::restore::RestoreMetrics;
use crate::service::{IngestMetrics, OutputMetrics};

/// Live status and metrics, shared by the service's parts and, through
/// [`Status::metrics`] and [`Status::health`], with the HTTP layer.
pub struct Status {
    /// The registry every group is registered in.
    pub metrics: Arc<Metrics>,
    /// What readiness is judged on.
    pub health: Arc<Health>,
    /// Set while this instance owns input partition 0: it publishes the
    /// company-wide `rank_change` alerts (one publisher for the company).
    pub owns_partition_zero: AtomicBool,
    /// Records in.
    pub ingest: IngestMetrics,
    /// Outputs acknowledged.
    pub output: OutputMetrics,
    /// Restores from the changelog.
    pub restore: RestoreMetrics,
    /// Consumer lag from librdkafka's statistics.
    pub lag: ConsumerLag,
    /// Business gauges and per-rep series.
    pub business: BusinessMetrics,
    /// The control topic's reader.
    pub control: ControlMetrics,
}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

impl Status {
    /// Fresh metrics in a fresh registry.
    pub fn new() -> Self {
        let metrics = Metrics::new();
        Status {
            health: Arc::new(Health::new(&metrics)),
            owns_partition_zero: AtomicBool::new(false),
            ingest: IngestMetrics::new(&metrics),
            output: OutputMetrics::new(&metrics),
            restore: RestoreMetrics::new(&metrics),
            lag: ConsumerLag::new(&metrics),
            business: BusinessMetrics::new(&metrics),
            control: ControlMetrics::new(&metrics),
            metrics: Arc::new(metrics),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `salespulse_*` name in a table row of docs/metrics.md.
    fn documented() -> BTreeSet<String> {
        let doc = include_str!("../../../docs/metrics.md");
        let mut names = BTreeSet::new();
        for line in doc.lines().filter(|l| l.starts_with("| `salespulse_")) {
            let first_cell = line.split('|').nth(1).unwrap_or_default();
            for part in first_cell.split('`') {
                if part.starts_with("salespulse_") {
                    names.insert(part.to_string());
                }
            }
        }
        names
    }

    #[test]
    fn docs_metrics_md_lists_exactly_the_registered_series() {
        let registered: BTreeSet<String> = Status::new().metrics.names().into_keys().collect();
        let documented = documented();
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let unregistered: Vec<_> = documented.difference(&registered).collect();
        assert!(
            undocumented.is_empty() && unregistered.is_empty(),
            "registered but not in docs/metrics.md: {undocumented:?}; \
             in docs/metrics.md but not registered: {unregistered:?}"
        );
    }
}
