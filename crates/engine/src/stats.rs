//! What an engine counts: records read, applied and rejected by reason,
//! emissions and evictions ([`Stats`]); and what its rep state is made of
//! ([`MemoryReport`]), for sizing and the memory benchmark
//! (docs/BENCHMARKS.md), spare capacity included.

use salespulse_kpi::{ActivityCounts, SalesAcc};
use salespulse_model::Reason;

use crate::feature::hooks::Feature;
use crate::reps::{RepState, Reps};

/// Counters of what the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records offered.
    pub read: u64,
    /// Records applied.
    pub applied: u64,
    /// Records rejected, by [`Reason::index`].
    pub rejected: [u64; Reason::ALL.len()],
    /// Dedupe ids forgotten early because a rep hit `dedupe_max_per_rep`.
    pub dedupe_evicted: u64,
    /// Open deals forgotten because a rep hit `open_deals_max_per_rep`.
    pub deals_evicted: u64,
    /// Score records emitted.
    pub scores_emitted: u64,
    /// Period summaries emitted.
    pub summaries_emitted: u64,
    /// Assist credits made by accepted wins (applied here or handed out).
    pub credits: u64,
    /// Routed assist credits dropped as older than everything kept.
    pub credits_too_late: u64,
    /// Records skipped because the rep's restored state already held them.
    pub already_applied: u64,
    /// Inactivity alerts held back at ticks because a source was silent
    /// (a rep counts at every tick it is held).
    pub inactivity_held: u64,
}

impl Stats {
    /// Rejections of one reason.
    pub fn rejected_for(&self, r: Reason) -> u64 {
        self.rejected[r.index()]
    }

    /// All rejections.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// Adds another engine's counters (engines of several partitions).
    pub fn add(&mut self, o: &Stats) {
        self.read += o.read;
        self.applied += o.applied;
        for (a, b) in self.rejected.iter_mut().zip(&o.rejected) {
            *a += b;
        }
        self.dedupe_evicted += o.dedupe_evicted;
        self.deals_evicted += o.deals_evicted;
        self.scores_emitted += o.scores_emitted;
        self.summaries_emitted += o.summaries_emitted;
        self.credits += o.credits;
        self.credits_too_late += o.credits_too_late;
        self.already_applied += o.already_applied;
        self.inactivity_held += o.inactivity_held;
    }
}

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

impl MemoryReport {
    /// What `reps` hold.
    pub(crate) fn of(reps: &Reps) -> MemoryReport {
        let mut m = MemoryReport {
            reps: reps.len(),
            heap_bytes: heap_bytes(reps),
            bytes_per_bucket: std::mem::size_of::<(i64, SalesAcc)>(),
            bytes_per_activity_bucket: std::mem::size_of::<(i64, ActivityCounts)>(),
            ..MemoryReport::default()
        };
        for rs in reps.values() {
            let (c, f) = (&rs.core, &rs.features);
            m.rolling_bytes += c.rolling.heap_bytes() + c.activity.heap_bytes();
            m.period_bytes += c.periods.heap_bytes();
            m.dedupe_bytes += c.dedupe.heap_bytes();
            m.deal_bytes += c.deals.heap_bytes();
            m.detect_bytes += f.detect.heap_bytes();
            m.incentive_bytes += f.commission.heap_bytes();
            m.forecast_bytes += f.forecast.heap_bytes();
            m.buckets += c.rolling.bucket_count();
            m.activity_buckets += c.activity.bucket_count();
            m.period_sums += c.periods.len();
            m.dedupe_ids += c.dedupe.len();
            m.open_deals += c.deals.len();
        }
        m
    }
}

/// Estimated heap bytes held by rep state (the map, every core and feature).
pub(crate) fn heap_bytes(reps: &Reps) -> usize {
    let map = reps.capacity() * (std::mem::size_of::<(Box<str>, RepState)>() + 1);
    map + reps
        .iter()
        .map(|(k, v)| k.len() + v.heap_bytes())
        .sum::<usize>()
}
