//! The facts of a rep that are not needed to act on its score now, each on
//! a compacted topic keyed by rep: the full KPI table with the forecast
//! (`kpis/2`, `salespulse.kpis`), the last closed periods compared
//! (`last_periods/1`, `salespulse.periods`) and the coaching of the last
//! working-day close (`coaching/1`, `salespulse.coaching`). Each carries
//! the `seq` of the score record it was built with.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::sparse::SparseCells;
use super::{Coaching, Forecast, KpiTable, LastPeriod, WindowName, WindowNames};

/// A rep's KPI values of every window and period, and the pace and
/// forecast of each period component, as written to `salespulse.kpis`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "KpiRecordIn")]
#[schemars(title = "SalesPulse KPI table of a rep (kpis/2)")]
pub struct KpiRecord {
    /// `kpis/2` ([`crate::output`]).
    #[schemars(schema_with = "kpis_schema_id")]
    pub schema: Cow<'static, str>,
    /// The rep (the record's key).
    pub rep_id: String,
    /// The rep's team.
    pub team_id: Option<String>,
    /// Stream time the values are at.
    pub as_of: String,
    /// The `seq` of the score record built with it.
    pub seq: u64,
    /// The table's windows and periods: every one of them has a value for
    /// every KPI, written in `kpis` unless it is the value over no events.
    #[schemars(with = "Vec<String>")]
    pub windows: WindowNames,
    /// Decimals of the reporting currency's amounts (2 for USD): an amount
    /// left out of `kpis` is zero with this many.
    pub amount_decimals: u8,
    /// KPI values by KPI, then by window or period, sparse
    /// ([`super::sparse`]): read them with the record's `windows`.
    #[serde(serialize_with = "super::sparse::serialize")]
    #[schemars(schema_with = "super::sparse::schema")]
    pub kpis: KpiTable,
    /// Pace and forecast of each period component.
    #[serde(default)]
    pub forecast: Vec<Forecast>,
}

/// A [`KpiRecord`] as read, before its sparse table is restored.
#[derive(Deserialize)]
struct KpiRecordIn {
    schema: Cow<'static, str>,
    rep_id: String,
    team_id: Option<String>,
    as_of: String,
    seq: u64,
    windows: Vec<WindowName>,
    amount_decimals: u8,
    kpis: SparseCells,
    #[serde(default)]
    forecast: Vec<Forecast>,
}

impl From<KpiRecordIn> for KpiRecord {
    fn from(r: KpiRecordIn) -> KpiRecord {
        let windows: WindowNames = r.windows.into();
        KpiRecord {
            kpis: r.kpis.restore(&windows, r.amount_decimals),
            schema: r.schema,
            rep_id: r.rep_id,
            team_id: r.team_id,
            as_of: r.as_of,
            seq: r.seq,
            windows,
            amount_decimals: r.amount_decimals,
            forecast: r.forecast,
        }
    }
}

/// A rep's last closed periods, compared with the ones before, as written
/// to `salespulse.periods` (keyed by `rep_id`, next to the period
/// summaries) when they change: at the close of a period of a
/// `scoring.compare_periods` kind, or when something reaches a closed one
/// after its grace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse last closed periods of a rep (last_periods/1)")]
pub struct LastPeriodsRecord {
    /// `last_periods/1` ([`crate::output`]).
    #[schemars(schema_with = "last_periods_schema_id")]
    pub schema: Cow<'static, str>,
    /// The rep (the record's key).
    pub rep_id: String,
    /// The rep's team.
    pub team_id: Option<String>,
    /// Stream time it was built at.
    pub as_of: String,
    /// The `seq` of the score record built with it.
    pub seq: u64,
    /// The rep's last closed period of each `scoring.compare_periods` kind
    /// and the one before it, as its summary had it plus what reached it
    /// after its grace (docs/records.md): what team period-over-period
    /// figures are summed from.
    pub last_periods: Vec<LastPeriod>,
}

/// A rep's coaching at the last working-day close, as written to
/// `salespulse.coaching` when it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse coaching of a rep (coaching/1)")]
pub struct CoachingRecord {
    /// `coaching/1` ([`crate::output`]).
    #[schemars(schema_with = "coaching_schema_id")]
    pub schema: Cow<'static, str>,
    /// The rep (the record's key).
    pub rep_id: String,
    /// The rep's team.
    pub team_id: Option<String>,
    /// The rep's manager, when the directory names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    /// The rep's role.
    pub role: Option<String>,
    /// The `seq` of the score record that first carried it.
    pub seq: u64,
    /// The coaching (its `as_of` is the close it was judged at).
    #[serde(flatten)]
    pub coaching: Coaching,
}

fn kpis_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    super::json_schema(serde_json::json!({"type": "string", "const": crate::output::KPIS}))
}

fn last_periods_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    super::json_schema(serde_json::json!({"type": "string", "const": crate::output::LAST_PERIODS}))
}

fn coaching_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    super::json_schema(serde_json::json!({"type": "string", "const": crate::output::COACHING}))
}
