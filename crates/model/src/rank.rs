//! Where a value stands among its peers' values: one percentile and one
//! median for the engine (coaching, standings), the detectors and the HTTP
//! API, so none of them can disagree.

/// Share of the others below `x` in `sorted` (ascending, `x` included),
/// ties counted half, in percent; 100 when alone.
pub fn percentile(sorted: &[f64], x: f64) -> f64 {
    let n = sorted.len();
    if n < 2 {
        return 100.0;
    }
    let lower = sorted.partition_point(|&s| s < x);
    let equal_others = sorted
        .partition_point(|&s| s <= x)
        .saturating_sub(lower + 1);
    100.0 * (lower as f64 + 0.5 * equal_others as f64) / (n - 1) as f64
}

/// The median of `sorted` (ascending), None when empty.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_half_and_the_median_averages_the_middle_pair() {
        let s = [10.0, 20.0, 20.0, 40.0, 90.0];
        assert_eq!(percentile(&s, 10.0), 0.0);
        assert_eq!(percentile(&s, 20.0), 37.5);
        assert_eq!(percentile(&s, 90.0), 100.0);
        assert_eq!(percentile(&[5.0], 5.0), 100.0);
        assert_eq!(median(&s), Some(20.0));
        assert_eq!(median(&[1.0, 3.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }
}
