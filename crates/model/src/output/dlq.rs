//! The contract of a dead-letter record (`dlq/1`). Its value is the
//! rejected record's original bytes (or, with `dlq.redact`, a redaction of
//! them), which no schema can describe; what a consumer relies on is its
//! headers, described here and published as docs/schemas/dlq-1.json.

use serde::{Deserialize, Serialize};

use crate::record::json_schema;

fn dlq_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    json_schema(serde_json::json!({"type": "string", "const": super::DLQ}))
}

fn reason_codes(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    let codes: Vec<&str> = crate::Reason::ALL.iter().map(|r| r.code()).collect();
    json_schema(serde_json::json!({"type": "string", "enum": codes}))
}

fn digits(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    json_schema(serde_json::json!({"type": "string", "pattern": "^[0-9]+$"}))
}

/// The headers of a record on `salespulse.dlq`, as an object of header
/// name to (UTF-8) value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse dead-letter record headers (dlq/1)")]
pub struct DlqHeaders {
    /// `dlq/1`: the `salespulse.schema` header.
    #[schemars(schema_with = "dlq_schema_id")]
    pub schema: String,
    /// Why the record was rejected: a reason code (docs/events.md).
    #[schemars(schema_with = "reason_codes")]
    pub reason: String,
    /// The field, the value and what was expected.
    pub message: String,
    /// The topic the record was read from.
    pub source_topic: String,
    /// Its partition there.
    #[schemars(schema_with = "digits")]
    pub source_partition: String,
    /// Its offset there.
    #[schemars(schema_with = "digits")]
    pub source_offset: String,
}
