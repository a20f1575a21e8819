//! Alert records, published on `salespulse.alerts` keyed by rep_id (the
//! source name for data-quality alerts) and written by `replay --alerts`.
//! Field and kind names are a public contract, documented in docs/alerts.md.

use serde::{Deserialize, Serialize};

use crate::record::Num;

/// What an alert is about. The names are stable.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Period attainment well behind the share of working time elapsed.
    BehindPace,
    /// Activity far below the rep's own baseline for comparable working hours.
    SuddenDrop,
    /// No activity for several working hours inside working time.
    Inactivity,
    /// A deal amount far outside the rep's own distribution (data error or fraud?).
    OutlierDeal,
    /// Score percentile within the role below the floor for several working days.
    PeerLaggard,
    /// Rejected records from one source above the tolerated rate.
    DataQuality,
    /// A source that sends records regularly has sent none for much longer
    /// than its usual gap.
    SourceSilent,
    /// Positive feedback: quota reached, personal best, top of the role.
    Achievement,
    /// The rep's company-wide rank in its role moved by several places
    /// between two working-day closes.
    RankChange,
}

impl AlertKind {
    /// Every kind, in documentation order.
    pub const ALL: [AlertKind; 9] = [
        AlertKind::BehindPace,
        AlertKind::SuddenDrop,
        AlertKind::Inactivity,
        AlertKind::OutlierDeal,
        AlertKind::PeerLaggard,
        AlertKind::DataQuality,
        AlertKind::SourceSilent,
        AlertKind::Achievement,
        AlertKind::RankChange,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::BehindPace => "behind_pace",
            AlertKind::SuddenDrop => "sudden_drop",
            AlertKind::Inactivity => "inactivity",
            AlertKind::OutlierDeal => "outlier_deal",
            AlertKind::PeerLaggard => "peer_laggard",
            AlertKind::DataQuality => "data_quality",
            AlertKind::SourceSilent => "source_silent",
            AlertKind::Achievement => "achievement",
            AlertKind::RankChange => "rank_change",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Good news or context.
    Info,
    /// Needs a look soon.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Whether an alert is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// The condition cleared (or its period ended).
    Resolved,
}

impl AlertStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    /// The status named `s`, if it is one.
    pub fn parse(s: &str) -> Option<AlertStatus> {
        [AlertStatus::Firing, AlertStatus::Resolved]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

fn alert_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    crate::record::json_schema(serde_json::json!({"type": "string", "const": crate::output::ALERT}))
}

/// One alert state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse alert record (alert/2)")]
pub struct AlertRecord {
    /// The record's schema and major version: `alert/2` ([`crate::output`]).
    #[schemars(schema_with = "alert_schema_id")]
    pub schema: std::borrow::Cow<'static, str>,
    /// Stable per (rep, kind, period or episode): the firing and the
    /// resolved record of one episode share it.
    pub alert_id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// The rep, or null for a data-quality alert.
    pub rep_id: Option<String>,
    /// The rep's team, when known.
    pub team_id: Option<String>,
    /// The rep's role (its scoring profile).
    pub role: Option<String>,
    /// The source of a data-quality alert (the event's `source`, else the
    /// input name); null for rep alerts.
    pub source: Option<String>,
    /// Stream time the episode started (RFC 3339).
    pub started_at: String,
    /// Stream time it resolved (RFC 3339), null while firing.
    pub resolved_at: Option<String>,
    /// The measured value that decided (pace ratio, hours, a deal's
    /// amount, ...): an amount where the facts are money (an outlier deal,
    /// a personal-best week's revenue; docs/alerts.md), else a number.
    pub value: Num,
    /// The threshold it crossed (an amount or a number, as `value`).
    pub threshold: Num,
    /// What the value was compared against (expected attainment, the rep's
    /// usual deal, ...; an amount or a number, as `value`).
    pub baseline: Num,
    /// A plain sentence a manager understands.
    pub message: String,
    /// What to do about it.
    pub suggestion: String,
}
