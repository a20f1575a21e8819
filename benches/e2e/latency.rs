//! Quantiles from a Prometheus histogram's cumulative buckets. The
//! service's `salespulse_event_to_emit_seconds` observes, per flush of a
//! partition, the oldest record the flush covers (Kafka timestamp to the
//! acknowledgement of its score records): per event this is an upper
//! bound, and a quantile here is one of those per-flush worst cases,
//! interpolated linearly inside its bucket.

/// Cumulative bucket counts by upper bound (`le`), ascending.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    buckets: Vec<(f64, f64)>,
}

impl Histogram {
    /// The `_bucket` series of `name` in Prometheus text.
    pub fn parse(text: &str, name: &str) -> Histogram {
        let prefix = format!("{name}_bucket{{");
        let mut buckets: Vec<(f64, f64)> = text
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .filter_map(|l| {
                let le = l.split("le=\"").nth(1)?.split('"').next()?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                let count = l.split_whitespace().last()?.parse().ok()?;
                Some((le, count))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Histogram { buckets }
    }

    /// The observations since `earlier` (bucket by bucket).
    pub fn minus(&self, earlier: &Histogram) -> Histogram {
        let buckets = self
            .buckets
            .iter()
            .map(|&(le, c)| {
                let before = earlier
                    .buckets
                    .iter()
                    .find(|b| b.0 == le)
                    .map_or(0.0, |b| b.1);
                (le, c - before)
            })
            .collect();
        Histogram { buckets }
    }

    /// Observations.
    pub fn count(&self) -> u64 {
        self.buckets.last().map_or(0, |b| b.1 as u64)
    }

    /// The `q` quantile (NaN without observations; infinity when it falls
    /// in the +Inf bucket: beyond the histogram's range).
    pub fn quantile(&self, q: f64) -> f64 {
        let total = self.count() as f64;
        if total == 0.0 {
            return f64::NAN;
        }
        let rank = q * total;
        let mut lower = (0.0, 0.0);
        for &(le, c) in &self.buckets {
            if c >= rank {
                if le.is_infinite() {
                    return f64::INFINITY;
                }
                let width = c - lower.1;
                let into = if width > 0.0 {
                    (rank - lower.1) / width
                } else {
                    1.0
                };
                return lower.0 + (le - lower.0) * into;
            }
            lower = (le, c);
        }
        lower.0
    }
}

/// Seconds as milliseconds for a table.
pub fn ms(s: f64) -> String {
    if s.is_nan() {
        "n/a".into()
    } else if s.is_infinite() {
        "> 10 s".into() // the histogram's last finite bucket
    } else {
        format!("{:.1} ms", s * 1000.0)
    }
}

/// Checks the interpolation on a known histogram (run at the bench's start:
/// a bench binary without the test harness has no unit tests).
pub fn self_check() {
    let text = "x_bucket{le=\"0.01\"} 50\nx_bucket{le=\"0.02\"} 90\nx_bucket{le=\"+Inf\"} 100\n";
    let h = Histogram::parse(text, "x");
    assert_eq!(h.count(), 100);
    assert!((h.quantile(0.5) - 0.01).abs() < 1e-12);
    assert!((h.quantile(0.7) - 0.015).abs() < 1e-12);
    assert_eq!(h.quantile(0.99), f64::INFINITY); // in +Inf: off the histogram
    let earlier = "x_bucket{le=\"0.01\"} 50\nx_bucket{le=\"0.02\"} 50\nx_bucket{le=\"+Inf\"} 50\n";
    let d = h.minus(&Histogram::parse(earlier, "x"));
    assert_eq!(d.count(), 50);
    assert!((d.quantile(0.5) - 0.01625).abs() < 1e-12); // rank 25 of the 40 in (0.01, 0.02]
}
