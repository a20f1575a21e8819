//! Events as the generator writes them (schema v1 JSON), plus the hidden
//! plan the simulation uses to schedule what follows them.

use serde::Serialize;

/// What the simulation decided when a deal was created.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DealPlan {
    /// Whether it will be won.
    pub won: bool,
    /// Created-to-close duration.
    pub cycle_ms: i64,
    /// A teammate credited with an assist, by rep index.
    pub assist: Option<usize>,
    /// Whether the customer is new.
    pub new_customer: bool,
}

/// One event line.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct WireEvent {
    /// Unique id (assigned on delivery).
    pub event_id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// RFC 3339.
    pub occurred_at: String,
    /// Rep.
    pub rep_id: String,
    /// Team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Source system.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub deal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub currency: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub channel: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub partner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub stage: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub new_customer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[allow(missing_docs)]
    pub assist_rep_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub duration_s: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub invoice_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub csat: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub nps: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub manager_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub targets: Option<
        std::collections::BTreeMap<&'static str, std::collections::BTreeMap<&'static str, u64>>,
    >,
    /// The simulation's plan for a created deal (not written).
    #[serde(skip)]
    pub plan: Option<DealPlan>,
    /// Index of the rep (not written).
    #[serde(skip)]
    pub rep_index: usize,
}

impl WireEvent {
    /// The JSON line (without newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// RFC 3339 (UTC, seconds) of epoch millis.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A decimal amount text with two decimals from cents.
pub fn cents_text(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}
