//! JSON Schema of event schema v1, generated from these wire-format types
//! with schemars and published as docs/event-schema.json (a test keeps the
//! file in sync). The types exist only to describe the wire format; decoding
//! is done by [`crate::decode`], whose field list a test checks against this.

#![allow(missing_docs, dead_code)]

use schemars::gen::SchemaGenerator;
use schemars::schema::Schema;
use schemars::JsonSchema;

fn json_schema(v: serde_json::Value) -> Schema {
    // The literals above are valid schemas; a mistake in one shows as `true` (accept anything)
    // and is caught by the schema tests, which compare the published file.
    serde_json::from_value(v).unwrap_or(Schema::Bool(true))
}

fn id(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({"type": "string", "minLength": 1, "maxLength": 64}))
}

fn event_id(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({"type": "string", "minLength": 1, "maxLength": 128}))
}

fn timestamp(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({
        "type": "string", "format": "date-time",
        "description": "RFC 3339 with an offset (Z or +hh:mm), e.g. 2026-03-01T09:30:00Z"
    }))
}

fn amount(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({
        "description": "Non-negative decimal, at most as many decimals as the currency has; a string keeps it exact (a JSON number is read back through its shortest decimal form, exact up to 15 significant digits). At most 1e12.",
        "oneOf": [
            {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
            {"type": "number", "minimum": 0}
        ]
    }))
}

fn currency(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({
        "type": "string", "pattern": "^[A-Z]{3}$",
        "description": "ISO 4217 code present in the configured rate table (currency.rates)"
    }))
}

fn date(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({"type": "string", "format": "date"}))
}

fn targets(_: &mut SchemaGenerator) -> Schema {
    json_schema(serde_json::json!({
        "type": "object",
        "description": "Per-KPI, per-window target overrides: {\"revenue\": {\"month\": 50000}}",
        "propertyNames": {"enum": crate::KpiName::ALL.map(crate::KpiName::as_str)},
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}}
    }))
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Channel {
    Direct,
    Partner,
}

/// Fields every event has. Unknown fields are ignored.
#[derive(JsonSchema)]
struct Common {
    #[schemars(schema_with = "event_id")]
    event_id: String,
    #[schemars(schema_with = "timestamp")]
    occurred_at: String,
    #[schemars(schema_with = "id")]
    rep_id: String,
    #[serde(default)]
    #[schemars(schema_with = "id")]
    team_id: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "id")]
    region: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "id")]
    source: Option<String>,
    #[schemars(range(min = 1, max = 1))]
    schema_version: Option<u32>,
}

#[derive(JsonSchema)]
#[serde(tag = "type")]
enum Body {
    #[serde(rename = "deal.created")]
    DealCreated {
        #[schemars(schema_with = "id")]
        deal_id: String,
        #[schemars(schema_with = "amount")]
        amount: String,
        #[schemars(schema_with = "currency")]
        currency: String,
        #[schemars(schema_with = "id")]
        customer_id: String,
        channel: Channel,
        #[serde(default)]
        #[schemars(schema_with = "id")]
        partner_id: Option<String>,
    },
    #[serde(rename = "deal.stage_changed")]
    DealStageChanged {
        #[schemars(schema_with = "id")]
        deal_id: String,
        #[schemars(schema_with = "id")]
        stage: String,
    },
    #[serde(rename = "deal.won")]
    DealWon {
        #[schemars(schema_with = "id")]
        deal_id: String,
        #[schemars(schema_with = "amount")]
        amount: String,
        #[schemars(schema_with = "currency")]
        currency: String,
        #[schemars(schema_with = "id")]
        customer_id: String,
        channel: Channel,
        #[serde(default)]
        #[schemars(schema_with = "id")]
        partner_id: Option<String>,
        /// Default false.
        new_customer: Option<bool>,
        /// Creation time, for the sales cycle when deal.created was never seen.
        #[serde(default)]
        #[schemars(schema_with = "timestamp")]
        created_at: Option<String>,
        /// Reps credited with an assist (at most 16; the owner and repeats are ignored).
        #[schemars(length(max = 16))]
        assist_rep_ids: Option<Vec<String>>,
    },
    #[serde(rename = "deal.lost")]
    DealLost {
        #[schemars(schema_with = "id")]
        deal_id: String,
        #[schemars(length(max = 1024))]
        reason: Option<String>,
    },
    #[serde(rename = "activity.call")]
    ActivityCall(Activity),
    #[serde(rename = "activity.meeting")]
    ActivityMeeting(Activity),
    #[serde(rename = "activity.email")]
    ActivityEmail(Activity),
    #[serde(rename = "invoice.issued")]
    InvoiceIssued {
        #[schemars(schema_with = "id")]
        invoice_id: String,
        #[schemars(schema_with = "amount")]
        amount: String,
        #[schemars(schema_with = "currency")]
        currency: String,
        #[schemars(schema_with = "id")]
        customer_id: String,
    },
    #[serde(rename = "payment.received")]
    PaymentReceived {
        #[schemars(schema_with = "id")]
        invoice_id: String,
        #[schemars(schema_with = "amount")]
        amount: String,
        #[schemars(schema_with = "currency")]
        currency: String,
    },
    #[serde(rename = "refund.issued")]
    RefundIssued {
        #[schemars(schema_with = "id")]
        deal_id: String,
        #[schemars(schema_with = "amount")]
        amount: String,
        #[schemars(schema_with = "currency")]
        currency: String,
    },
    /// At least one of csat and nps.
    #[serde(rename = "feedback.received")]
    FeedbackReceived {
        #[schemars(schema_with = "id")]
        customer_id: String,
        #[schemars(range(min = 1, max = 5))]
        csat: Option<u8>,
        #[schemars(range(min = 0, max = 10))]
        nps: Option<u8>,
    },
    #[serde(rename = "partner.onboarded")]
    PartnerOnboarded {
        #[schemars(schema_with = "id")]
        partner_id: String,
    },
    /// The rep's directory record; team_id and region are required here.
    #[serde(rename = "rep.updated")]
    RepUpdated {
        #[schemars(schema_with = "id")]
        role: String,
        #[serde(default)]
        #[schemars(schema_with = "id")]
        manager_id: Option<String>,
        /// Default true.
        active: Option<bool>,
        #[serde(default)]
        #[schemars(schema_with = "date")]
        start_date: Option<String>,
        #[serde(default)]
        #[schemars(schema_with = "targets")]
        targets: Option<serde_json::Value>,
    },
}

#[derive(JsonSchema)]
struct Activity {
    #[serde(default)]
    #[schemars(schema_with = "id")]
    customer_id: Option<String>,
    #[schemars(range(min = 0, max = 604800))]
    duration_s: Option<u32>,
    #[schemars(length(max = 1024))]
    outcome: Option<String>,
}

/// A SalesPulse event, schema v1: one JSON object per Kafka record or NDJSON line.
#[derive(JsonSchema)]
#[schemars(title = "SalesPulse event v1")]
struct EventV1 {
    #[serde(flatten)]
    common: Common,
    #[serde(flatten)]
    body: Body,
}

/// The schema as pretty-printed JSON (what docs/event-schema.json holds).
pub fn event_schema_json() -> String {
    let schema = schemars::schema_for!(EventV1);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
