//! Commission statements on their own compacted topic: one key per rep and
//! plan period, so compaction keeps every period's latest statement and a
//! correction replaces only its own period. Amounts are exact decimal
//! strings in the reporting currency.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PeriodRef;

/// An amount in the reporting currency as an exact decimal string, rounded
/// half-even to the currency's minor unit (`"1234.50"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Decimal(pub String);

impl schemars::JsonSchema for Decimal {
    fn schema_name() -> String {
        "Decimal".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        super::json_schema(serde_json::json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "An amount in the reporting currency, exact, with as many decimals as the currency's minor unit (rounded half-even); sum it as a decimal, never as a float"
        }))
    }
}

/// A commission statement of one rep and plan period (docs/incentives.md),
/// as written to `salespulse.statements`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse commission statement (statement/1)")]
pub struct StatementRecord {
    /// `statement/1` ([`crate::output`]).
    #[schemars(schema_with = "statement_schema_id")]
    pub schema: Cow<'static, str>,
    /// The record's key: `<rep_id>/<period kind>/<period start date>`
    /// (`rep-0001/month/2026-03-01`).
    pub key: String,
    /// The rep.
    pub rep_id: String,
    /// The rep's team.
    pub team_id: Option<String>,
    /// The rep's manager, when the directory names one.
    pub manager_id: Option<String>,
    /// Stream time the statement was computed at.
    pub as_of: String,
    /// The rep's record `seq` it was emitted with: a later statement of
    /// the same key has a higher one.
    pub seq: u64,
    /// Whether the period had closed (later statements of a closed period
    /// are corrections: refunds inside the clawback window, late events).
    pub closed: bool,
    /// The reporting currency (ISO 4217).
    pub currency: String,
    /// The statement period.
    pub period: PeriodRef,
    /// `revenue` or `partner_revenue`.
    pub measure: Cow<'static, str>,
    /// The period target of the measure.
    pub target: Decimal,
    /// Measure won in the period.
    pub gross: Decimal,
    /// Taken out of it by refunds inside the clawback window.
    pub refunded: Decimal,
    /// Gross minus refunded.
    pub net: Decimal,
    /// Net / target, six decimals.
    pub attainment: f64,
    /// Tiered commission after the cap, plus SPIFFs.
    pub earned_to_date: Decimal,
    /// `revenue` (or `partner_revenue`): the tiered part; `spiff:<name>`: each SPIFF.
    pub by_component: BTreeMap<String, Decimal>,
    /// Tiered commission the refunds took back.
    pub clawbacks: Decimal,
    /// What the next unit of the measure earns (0 once the cap is reached), six decimals.
    pub next_deal_rate: f64,
    /// Whether the cap holds the tiered commission back.
    pub capped: bool,
}

fn statement_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    super::json_schema(serde_json::json!({"type": "string", "const": crate::output::STATEMENT}))
}

/// The key of `rep_id`'s records of `period` (statements, period summaries).
pub fn period_key(rep_id: &str, period: &PeriodRef) -> String {
    let date = period.start.get(..10).unwrap_or(&period.start);
    format!("{rep_id}/{}/{date}", period.kind)
}
