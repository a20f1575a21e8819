//! The read side of SalesPulse: what every instance answers about the whole
//! company, whichever partitions it owns. It keeps the latest typed score
//! record of every rep and the latest record of every alert episode, fed
//! record by record through [`Offer`] (the Kafka follower in
//! `salespulse-kafka`, or replay's final records), and computes the answers
//! as pure functions of them: a rep's standing among its peers, a team's
//! figures and periods, a manager's organisation, company-wide ranks at
//! working-day closes. No I/O, no clock.

mod alerts;
mod company;
mod details;
mod peers;
mod periods;
pub mod ranks;
mod team;

#[cfg(test)]
mod sample;

pub use alerts::{AlertFilter, AlertView, RESOLVED_KEPT};
pub use company::{CompanyView, Offer, MAX_PENDING_RANK_ALERTS};
pub use peers::{organisation, percentile, standing, Figures, TeamKpis};
pub use team::team_answer;

/// One rep's latest score record, shared between the view and its readers.
pub type Rec = std::sync::Arc<salespulse_model::record::ScoreRecord>;
