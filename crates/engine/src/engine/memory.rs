//! Memory accounting of rep state, for sizing and the memory benchmark
//! (docs/BENCHMARKS.md): what each structure holds, including spare capacity.

use salespulse_kpi::{ActivityCounts, SalesAcc};

use super::Engine;
use crate::state::RepState;

/// Counts of what rep state holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// Reps held.
    pub reps: usize,
    /// Estimated heap bytes of all rep state.
    pub heap_bytes: usize,
    /// Non-empty window buckets holding full sums, all reps.
    pub buckets: usize,
    /// Size of one full bucket.
    pub bytes_per_bucket: usize,
    /// Non-empty window buckets holding only activity counts, all reps.
    pub activity_buckets: usize,
    /// Size of one activity bucket.
    pub bytes_per_activity_bucket: usize,
    /// Period accumulators (current and closed within grace), all reps.
    pub period_sums: usize,
    /// Remembered event ids, all reps.
    pub dedupe_ids: usize,
    /// Tracked open deals, all reps.
    pub open_deals: usize,
    /// Heap bytes of rolling windows, all reps.
    pub rolling_bytes: usize,
    /// Heap bytes of period sums, all reps.
    pub period_bytes: usize,
    /// Heap bytes of dedupe sets, all reps.
    pub dedupe_bytes: usize,
    /// Heap bytes of open-deal trackers, all reps.
    pub deal_bytes: usize,
    /// Heap bytes of detector state (activity hours, won deals, alert episodes), all reps.
    pub detect_bytes: usize,
    /// Heap bytes of commission books and closed statements, all reps.
    pub incentive_bytes: usize,
    /// Heap bytes of forecast week profiles, all reps.
    pub forecast_bytes: usize,
}

impl Engine {
    /// Estimated heap bytes held by rep state (windows, periods, dedupe, deals, directory, map).
    pub fn heap_bytes(&self) -> usize {
        let map = self.reps.capacity() * (std::mem::size_of::<(Box<str>, RepState)>() + 1);
        map + self
            .reps
            .iter()
            .map(|(k, v)| k.len() + v.heap_bytes())
            .sum::<usize>()
    }

    /// What rep state is made of, for sizing (see docs/BENCHMARKS.md).
    pub fn memory(&self) -> MemoryReport {
        let mut m = MemoryReport {
            reps: self.reps.len(),
            heap_bytes: self.heap_bytes(),
            bytes_per_bucket: std::mem::size_of::<(i64, SalesAcc)>(),
            bytes_per_activity_bucket: std::mem::size_of::<(i64, ActivityCounts)>(),
            ..MemoryReport::default()
        };
        for rs in self.reps.values() {
            m.rolling_bytes += rs.rolling.heap_bytes() + rs.activity.heap_bytes();
            m.period_bytes += rs.periods.heap_bytes();
            m.dedupe_bytes += rs.dedupe.heap_bytes();
            m.deal_bytes += rs.deals.heap_bytes();
            m.detect_bytes += rs.detect.heap_bytes();
            m.incentive_bytes += rs.incentive.heap_bytes();
            m.forecast_bytes += rs.week.heap_bytes();
            m.buckets += rs.rolling.bucket_count();
            m.activity_buckets += rs.activity.bucket_count();
            m.period_sums += rs.periods.len();
            m.dedupe_ids += rs.dedupe.len();
            m.open_deals += rs.deals.len();
        }
        m
    }

    /// Releases spare capacity in every rep's collections (the live engine
    /// does this per rep at each working-day close).
    pub fn shrink(&mut self) {
        for rs in self.reps.values_mut() {
            rs.shrink();
        }
    }
}
