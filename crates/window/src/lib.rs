//! Time in SalesPulse: rolling bucketed windows and calendar periods, both
//! evaluated at *stream time* (the largest `occurred_at` applied so far),
//! never at the wall clock, so every result can be replayed.
//!
//! The crate is generic over the [`Accumulator`] summed per bucket; the `kpi`
//! crate supplies the sales one.

pub mod calendar;
pub mod rolling;
pub mod spare;
pub mod spec;

pub use calendar::{Calendar, Period, PeriodKind, PeriodStore};
pub use rolling::Rolling;
pub use spare::ReleaseSpare;
pub use spec::{parse_duration, RollingSpec, RollingSpecs, SpecError};

/// A commutative sum that can also be taken back out: the per-bucket state
/// of a window. `unmerge(x)` after `merge(x)` must restore the value exactly
/// (integer sums, never floats), so running totals never drift.
pub trait Accumulator: Clone + Default {
    /// Adds `other` into `self`.
    fn merge(&mut self, other: &Self);
    /// Subtracts `other` (previously merged) from `self`.
    fn unmerge(&mut self, other: &Self);
}
