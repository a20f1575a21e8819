//! The sales side of SalesPulse: what is summed per bucket ([`SalesAcc`]),
//! how each KPI of the catalog is derived from those sums ([`kpi_value`]),
//! role profiles and targets ([`RoleProfile`]), and explainable scores
//! ([`score`]). Pure functions only: no clock, no I/O.

mod acc;
mod catalog;
pub mod forecast;
mod profile;
mod scoring;
mod timeline;

pub use acc::{ActivityCounts, SalesAcc};
pub use catalog::{is_money, kpi_value, KpiValue};
pub use profile::{
    Component, Direction, ProfileError, Profiles, RawComponent, RawProfile, RoleProfile, WindowRef,
};
pub use scoring::{score, ScoreInput, TargetContext};
pub use timeline::{Added, ProfileTimeline, ProfileVersion, TimelineError};
