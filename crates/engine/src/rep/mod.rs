//! A rep's core state ([`Core`]): what every feature reads and none owns,
//! with its dedupe set and open-deal tracker.

mod core;
mod deals;
mod dedupe;

pub(crate) use self::core::Core;
pub use deals::DealTracker;
pub use dedupe::DedupeSet;
