//! What the service tells its operators, shared by the Kafka service that
//! updates it and the HTTP server that shows it: [`Metrics`], the one
//! Prometheus registry, which remembers every series registered so the
//! catalogue in docs/metrics.md can be checked against it; and [`Health`],
//! the few facts readiness is judged on.
//!
//! Each group of series is defined, registered and updated next to the code
//! it measures (in `salespulse-kafka`); this crate only holds what both
//! sides need.

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus::core::Collector;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};

mod health;

pub use health::{Health, NotReady};

/// The one registry `/metrics` renders, with the name and help of every
/// series family registered in it.
#[derive(Default)]
pub struct Metrics {
    registry: Registry,
    names: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("series", &self.names().len())
            .finish()
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `c` and returns it. Names are fixed in the code, so a
    /// clash is a programming error caught by any test that builds the
    /// service's metrics.
    pub fn register<C: Collector + Clone + 'static>(&self, c: C) -> C {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        for d in c.desc() {
            names.insert(d.fq_name.clone(), d.help.clone());
        }
        self.registry
            .register(Box::new(c.clone()))
            .expect("metric names are unique");
        c
    }

    /// The registry, to render.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every registered family's name and help.
    pub fn names(&self) -> BTreeMap<String, String> {
        self.names.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A counter without labels.
    pub fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.register(IntCounter::new(name, help).expect("valid metric"))
    }

    /// A counter by `labels`.
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// An integer gauge without labels.
    pub fn int_gauge(&self, name: &str, help: &str) -> IntGauge {
        self.register(IntGauge::new(name, help).expect("valid metric"))
    }

    /// An integer gauge by `labels`.
    pub fn int_gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// A real gauge without labels.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(Gauge::new(name, help).expect("valid metric"))
    }

    /// A real gauge by `labels`.
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        self.register(GaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// A histogram with `buckets`.
    pub fn histogram(&self, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets);
        self.register(Histogram::with_opts(opts).expect("valid metric"))
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        prometheus::TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_knows_every_family_even_before_it_has_a_series() {
        let m = Metrics::new();
        let c = m.counter_vec("x_total", "xs", &["kind"]);
        m.histogram("x_seconds", "time", vec![1.0]);
        assert_eq!(
            m.names().keys().collect::<Vec<_>>(),
            ["x_seconds", "x_total"]
        );
        // A vector without children renders nothing, yet is known.
        assert!(!m.render().unwrap().contains("x_total"));
        c.with_label_values(&["a"]).inc();
        assert!(m.render().unwrap().contains("x_total{kind=\"a\"} 1"));
    }
}
