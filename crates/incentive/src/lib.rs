//! Commission plans and the per-rep books they are computed from.
//!
//! A plan ([`Plan`]) pays a rate on the rep's net revenue of a statement
//! period, by tiers of attainment (a deal crossing a tier boundary is paid
//! partly at each rate), up to a cap; plus SPIFFs, a fixed amount per
//! qualifying event inside a campaign window. A refund within the
//! clawback window of its deal lowers that deal's period's net revenue
//! (fully or pro-rated by the time elapsed), so the commission is taken
//! back at the rate the top of that period was paid at; for a closed
//! period this corrects its statement.
//!
//! Everything is a function of the events (amounts in reporting-currency
//! micros, times in stream time): the same events give the same
//! statements in any order of arrival, live or in replay, as long as a
//! refund arrives after its deal's win (it finds the deal by id).

mod book;
mod plan;

pub use book::{Books, Statement};
pub use plan::{
    tiered, Clawback, Measure, Plan, PlanError, RawPlan, RawSpiff, RawTier, Spiff, SpiffOn, Tier,
};

/// Reporting-currency micros per unit.
pub const MICROS: f64 = 1_000_000.0;
