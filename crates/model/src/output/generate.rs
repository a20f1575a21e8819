//! JSON Schemas of the output records, generated from their types with
//! schemars: one file per record type and major version.

use schemars::schema::RootSchema;

use crate::record::{
    ClockRecord, CoachingRecord, KpiRecord, LastPeriodsRecord, ScoreRecord, StatementRecord,
    TeamRecord,
};
use crate::AlertRecord;

/// One published schema file.
#[derive(Debug, Clone)]
pub struct PublishedSchema {
    /// File name under docs/schemas/ (`score-1.json`).
    pub file: &'static str,
    /// The schema ids records of this file carry (`score/1`, ...).
    pub ids: &'static [&'static str],
    /// The schema.
    pub schema: RootSchema,
}

impl PublishedSchema {
    /// The schema as the file holds it (pretty JSON and a final newline).
    pub fn text(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.schema).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Every output record type's schema.
pub fn published_schemas() -> Vec<PublishedSchema> {
    vec![
        PublishedSchema {
            file: "score-2.json",
            ids: &[super::SCORE, super::PERIOD_SUMMARY],
            schema: schemars::schema_for!(ScoreRecord),
        },
        PublishedSchema {
            file: "kpis-2.json",
            ids: &[super::KPIS],
            schema: schemars::schema_for!(KpiRecord),
        },
        PublishedSchema {
            file: "last_periods-1.json",
            ids: &[super::LAST_PERIODS],
            schema: schemars::schema_for!(LastPeriodsRecord),
        },
        PublishedSchema {
            file: "coaching-1.json",
            ids: &[super::COACHING],
            schema: schemars::schema_for!(CoachingRecord),
        },
        PublishedSchema {
            file: "alert-2.json",
            ids: &[super::ALERT],
            schema: schemars::schema_for!(AlertRecord),
        },
        PublishedSchema {
            file: "statement-1.json",
            ids: &[super::STATEMENT],
            schema: schemars::schema_for!(StatementRecord),
        },
        PublishedSchema {
            file: "clock-1.json",
            ids: &[super::CLOCK],
            schema: schemars::schema_for!(ClockRecord),
        },
        PublishedSchema {
            file: "dlq-1.json",
            ids: &[super::DLQ],
            schema: schemars::schema_for!(super::DlqHeaders),
        },
        PublishedSchema {
            file: "team_rollup-2.json",
            ids: &[super::TEAM_ROLLUP],
            schema: schemars::schema_for!(TeamRecord),
        },
    ]
}
