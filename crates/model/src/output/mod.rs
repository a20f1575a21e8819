//! The output contract's versions: every output record names its schema and
//! major version in a `schema` field (and the Kafka header
//! [`SCHEMA_HEADER`]), and each schema is published as JSON Schema in
//! docs/schemas/, generated from the record types (a test keeps the files
//! current, another checks changes against the released schemas with the
//! rule in docs/records.md, "Schema versions").

mod compat;
mod dlq;
mod generate;

pub use compat::breaking_changes;
pub use dlq::DlqHeaders;
pub use generate::{published_schemas, PublishedSchema};

/// Kafka header carrying a record's schema id (the same as its `schema` field).
pub const SCHEMA_HEADER: &str = "salespulse.schema";

/// Score records (`salespulse.scores`; they carry no `kind` field).
pub const SCORE: &str = "score/2";
/// Period summaries (`kind: period_summary`, `salespulse.periods`).
pub const PERIOD_SUMMARY: &str = "period_summary/2";
/// A rep's KPI table and forecast (`salespulse.kpis`).
pub const KPIS: &str = "kpis/2";
/// A rep's last closed periods compared (`salespulse.periods`, key `rep_id`).
pub const LAST_PERIODS: &str = "last_periods/1";
/// A rep's coaching (`salespulse.coaching`).
pub const COACHING: &str = "coaching/1";
/// Alert records.
pub const ALERT: &str = "alert/2";
/// Commission statements (`salespulse.statements`).
pub const STATEMENT: &str = "statement/1";
/// A partition's stream time moved without an event (`salespulse.clock`).
pub const CLOCK: &str = "clock/1";
/// The headers of a dead-letter record (`salespulse.dlq`).
pub const DLQ: &str = "dlq/1";
/// Team rollups (`replay --teams`).
pub const TEAM_ROLLUP: &str = "team_rollup/2";
