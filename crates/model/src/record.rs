//! Output records: the score record (and period summary) every downstream
//! consumer reads, and the team rollup. Field names are a public contract,
//! documented in docs/topics.md.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

mod clock;
mod detail;
mod kpi_table;
mod num;
mod sparse;
mod statement;
pub use clock::ClockRecord;
pub use detail::{CoachingRecord, KpiRecord, LastPeriodsRecord};
pub use kpi_table::{KpiTable, WindowName, WindowNames};
pub use num::{opt_real, real, Amount, Num};
pub use statement::{period_key, Decimal, StatementRecord};

/// Rounds a real to six decimals, the precision of every non-money number
/// in the output records (docs/records.md).
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// What a record is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A rep's current score at stream time.
    #[default]
    Score,
    /// A rep's final values for a closed calendar period.
    PeriodSummary,
}

/// The profile that produced a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProfileRef {
    /// Profile (role) name.
    pub name: String,
    /// Profile version.
    pub version: u32,
}

/// One scoring component and how many points it earned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComponentScore {
    /// KPI name.
    pub kpi: Cow<'static, str>,
    /// Window or period name.
    // Shared with the profile's component: no allocation per record.
    pub window: std::sync::Arc<str>,
    /// The KPI's value; absent when undefined (e.g. a ratio over zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Num>,
    /// The target in force (after per-rep overrides and pro-rating); an
    /// amount for a money KPI.
    pub target: Num,
    /// value / target (target / value when lower is better), before the cap.
    #[serde(serialize_with = "real")]
    pub attainment: f64,
    /// The component's weight.
    #[serde(serialize_with = "real")]
    pub weight: f64,
    /// Points this component adds to the score: 100 * weight * min(attainment, cap) / sum(weights).
    #[serde(serialize_with = "real")]
    pub points: f64,
    /// For a period component of a score record: attainment / share of the
    /// period's working time elapsed (null before any elapsed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_real"
    )]
    pub pace: Option<f64>,
    /// For a period component of a score record: the probability of
    /// reaching its target by the period's end (docs/forecast.md).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_real"
    )]
    pub p_reach: Option<f64>,
}

/// A closed calendar period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PeriodRef {
    /// `day`, `week`, `month` or `quarter`.
    pub kind: Cow<'static, str>,
    /// First instant of the period (RFC 3339, UTC).
    pub start: String,
    /// First instant after the period (RFC 3339, UTC).
    pub end: String,
}

/// A literal schema (the literals here are valid; a mistake shows as
/// `true`, accept anything, and fails the published-schema tests).
pub(crate) fn json_schema(v: serde_json::Value) -> schemars::schema::Schema {
    serde_json::from_value(v).unwrap_or(schemars::schema::Schema::Bool(true))
}

fn score_schema_ids(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    json_schema(serde_json::json!({
        "type": "string",
        "enum": [crate::output::SCORE, crate::output::PERIOD_SUMMARY]
    }))
}

/// A score record or period summary, as written to `salespulse.scores`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse score record or period summary (score/2, period_summary/2)")]
pub struct ScoreRecord {
    /// The record's schema and major version: `score/2` or
    /// `period_summary/2` ([`crate::output`]).
    #[schemars(schema_with = "score_schema_ids")]
    pub schema: Cow<'static, str>,
    /// `period_summary` in a period summary; absent from a score record,
    /// whose `schema` already says what it is.
    #[serde(default, skip_serializing_if = "RecordKind::is_score")]
    pub kind: RecordKind,
    /// The rep.
    pub rep_id: String,
    /// The rep's team from the directory (or the latest event that named one).
    pub team_id: Option<String>,
    /// The rep's role from the directory.
    pub role: Option<String>,
    /// The rep's region.
    pub region: Option<String>,
    /// The rep's manager from the directory (`rep.updated`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    /// Stream time the record was computed at.
    pub as_of: String,
    /// Grows with every record emitted for this rep (score records, period
    /// summaries and the rep's KPI, coaching and statement records share
    /// it), so a consumer drops a redelivered or older record by keeping the
    /// highest `seq` per key (docs/records.md).
    pub seq: u64,
    /// The profile that scored it.
    pub profile: ProfileRef,
    /// 0.. (100 = every target met exactly); null when the profile has no component for a summary's period.
    #[serde(serialize_with = "opt_real")]
    pub score: Option<f64>,
    /// The score's explanation.
    pub components: Vec<ComponentScore>,
    /// For a period summary, the period it closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodRef>,
    /// For a period summary, the period before it and the change since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousPeriod>,
    /// The period's KPI values (period summaries only; a score record's
    /// full KPI table is the `kpis/2` record on `salespulse.kpis`).
    #[serde(default, skip_serializing_if = "KpiTable::is_empty")]
    pub kpis: KpiTable,
    /// The commission statement of the plan's period: the current one in a
    /// score record, the closed one in its period summary. Not on the
    /// wire: pay goes only to `salespulse.statements` ([`StatementRecord`]).
    /// Shared: the engine builds a rep's current statement again only when
    /// its books, period, plan or target changed.
    #[serde(skip)]
    #[schemars(skip)]
    pub commission: Option<std::sync::Arc<Commission>>,
    /// Pace and forecast of each period component (score records only). On
    /// the wire in the `kpis/2` record; the score record's components carry
    /// their `pace` and `p_reach`.
    #[serde(skip)]
    #[schemars(skip)]
    pub forecast: Vec<Forecast>,
    /// The rep's last closed period of each `scoring.compare_periods` kind
    /// and the one before it (score records only). Not on the wire: they
    /// are the rep's latest period summaries on `salespulse.periods`.
    #[serde(skip)]
    #[schemars(skip)]
    pub last_periods: Vec<LastPeriod>,
    /// The score at the last working-day close (score records only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_close: Option<DayClose>,
}

/// Header of every score record carrying its [`ScoreHead`] as JSON.
pub const HEAD_HEADER: &str = "salespulse.head";

/// The fields of a score record that readers routing or ordering score
/// records need, sent as its `salespulse.head` header: the service's own
/// company view reads these instead of parsing each ~3 KB record (which
/// took a sixth of its CPU). The same field names and values as in the
/// record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreHead<'a> {
    /// As in [`ScoreRecord::kind`] (absent from a score record's head).
    #[serde(skip_serializing_if = "RecordKind::is_score")]
    pub kind: RecordKind,
    /// The rep.
    pub rep_id: &'a str,
    /// The rep's team.
    pub team_id: Option<&'a str>,
    /// Stream time the record was computed at.
    pub as_of: &'a str,
    /// As in [`ScoreRecord::seq`].
    pub seq: u64,
    /// The profile that scored it.
    pub profile: &'a ProfileRef,
    /// The score at the last working-day close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_close: Option<&'a DayClose>,
}

impl RecordKind {
    /// Whether this is [`RecordKind::Score`] (serde's skip test).
    pub fn is_score(&self) -> bool {
        *self == RecordKind::Score
    }

    /// The schema id records of this kind carry.
    pub fn schema(self) -> &'static str {
        match self {
            RecordKind::Score => crate::output::SCORE,
            RecordKind::PeriodSummary => crate::output::PERIOD_SUMMARY,
        }
    }
}

impl ScoreRecord {
    /// The record as JSON with what score/2 sends on other topics joined
    /// back where this value holds it: `kpis`, `forecast`, `last_periods`
    /// and `commission` (what `/v1/reps/{id}` answers, and what tests
    /// compare whole).
    pub fn joined_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            let mut put = |k: &str, x: serde_json::Result<serde_json::Value>| match x {
                Ok(x) if !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()) => {
                    o.insert(k.into(), x);
                }
                _ => {}
            };
            put("kpis", serde_json::to_value(&self.kpis));
            put("forecast", serde_json::to_value(&self.forecast));
            put("last_periods", serde_json::to_value(&self.last_periods));
            put(
                "commission",
                serde_json::to_value(self.commission.as_deref()),
            );
        }
        v
    }

    /// The record's [`ScoreHead`].
    pub fn head(&self) -> ScoreHead<'_> {
        ScoreHead {
            kind: self.kind,
            rep_id: &self.rep_id,
            team_id: self.team_id.as_deref(),
            as_of: &self.as_of,
            seq: self.seq,
            profile: &self.profile,
            day_close: self.day_close.as_ref(),
        }
    }
}

/// A rep's score at a working-day close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DayClose {
    /// End of the closed day (RFC 3339, UTC).
    pub as_of: String,
    /// The score then.
    #[serde(serialize_with = "real")]
    pub score: f64,
}

/// A rep's last closed period of a kind, as its summary had it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LastPeriod {
    /// The period.
    pub period: PeriodRef,
    /// Its summary score.
    #[serde(serialize_with = "opt_real")]
    pub score: Option<f64>,
    /// Its KPI values (one column: the period).
    pub kpis: KpiTable,
    /// The period before it and the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousPeriod>,
}

/// The period before a summary's period, and what changed (docs/records.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PreviousPeriod {
    /// The previous period.
    pub period: PeriodRef,
    /// Its score (the same components as the summary's, with today's targets).
    #[serde(serialize_with = "opt_real")]
    pub score: Option<f64>,
    /// This period's score minus the previous one's.
    #[serde(serialize_with = "opt_real")]
    pub score_change: Option<f64>,
    /// The previous period's KPI values.
    pub kpis: KpiTable,
    /// This period's KPI values minus the previous period's (null when either is null).
    pub kpi_change: KpiTable,
}

/// Coaching feedback (docs/coaching.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Coaching {
    /// End of the working day whose close it was judged at (RFC 3339, UTC).
    pub as_of: String,
    /// Scored reps of the role at that close, the rep included.
    pub peers: u32,
    /// The 1 to `max_items` components ranking lowest, lowest first (empty
    /// when the rep ranks at or above `below_percentile` in every component).
    pub items: Vec<CoachingItem>,
}

/// One coached component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoachingItem {
    /// The component's KPI.
    pub kpi: Cow<'static, str>,
    /// Its window or period.
    pub window: String,
    /// The rep's attainment at the close (uncapped).
    #[serde(serialize_with = "real")]
    pub attainment: f64,
    /// Share of the role's other reps with a lower attainment, ties half, in percent.
    #[serde(serialize_with = "real")]
    pub percentile: f64,
    /// The role's median attainment of the component.
    #[serde(serialize_with = "real")]
    pub role_median_attainment: f64,
    /// The ratios that explain it, against the role median.
    pub ratios: Vec<CoachingRatio>,
    /// What to do about it: the first matching rule's sentence, or the fallback.
    pub suggestion: String,
}

/// A ratio of the rep against its role's median at the close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoachingRatio {
    /// KPI.
    pub kpi: Cow<'static, str>,
    /// Window or period.
    pub window: String,
    /// The rep's value (null when undefined); an amount for a money KPI.
    pub value: Option<Num>,
    /// The median over the role's reps with a value (null when none has
    /// one); an amount for a money KPI.
    pub role_median: Option<Num>,
}

/// Pace and forecast of one period component (docs/forecast.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Forecast {
    /// The component's KPI.
    pub kpi: Cow<'static, str>,
    /// Its period (`day`, `week`, `month`, `quarter`).
    pub window: String,
    /// Value so far this period (an amount for a money KPI).
    pub value: Num,
    /// The rep's target (an amount for a money KPI).
    pub target: Num,
    /// Share of the period's working time elapsed (the rep's calendar).
    #[serde(serialize_with = "real")]
    pub elapsed: f64,
    /// Attainment / elapsed (null before any working time elapsed).
    #[serde(serialize_with = "opt_real")]
    pub pace: Option<f64>,
    /// Value / elapsed: the period-end value at the run rate so far.
    pub projected_run_rate: Option<Num>,
    /// Value plus the rep's recent rate over the rest of the period,
    /// weighted by its own weekday and hour profile.
    pub projected_seasonal: Option<Num>,
    /// Probability of reaching the target (null when the KPI has no event model).
    #[serde(serialize_with = "opt_real")]
    pub p_reach: Option<f64>,
}

/// A commission statement (docs/incentives.md); amounts in the reporting currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Commission {
    /// The statement period.
    pub period: PeriodRef,
    /// `revenue` or `partner_revenue`.
    pub measure: Cow<'static, str>,
    /// The period target of the measure.
    pub target: f64,
    /// Measure won in the period.
    pub gross: f64,
    /// Taken out of it by refunds inside the clawback window.
    pub refunded: f64,
    /// Gross minus refunded.
    pub net: f64,
    /// Net / target.
    pub attainment: f64,
    /// Tiered commission after the cap, plus SPIFFs.
    pub earned_to_date: f64,
    /// `revenue` (or `partner_revenue`): the tiered part; `spiff:<name>`: each SPIFF.
    pub by_component: std::collections::BTreeMap<String, f64>,
    /// Tiered commission the refunds took back.
    pub clawbacks: f64,
    /// What the next unit of the measure earns (0 once the cap is reached).
    pub next_deal_rate: f64,
    /// Whether the cap holds the tiered commission back.
    pub capped: bool,
}

/// Team KPIs: the same catalog summed over the team's reps.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TeamRecord {
    /// `team_rollup/2` ([`crate::output`]).
    pub schema: &'static str,
    /// Always `team_rollup`.
    pub kind: &'static str,
    /// The team.
    pub team_id: String,
    /// Stream time.
    pub as_of: String,
    /// Number of reps in the team.
    pub reps: usize,
    /// Mean score of the team's reps.
    #[serde(serialize_with = "opt_real")]
    pub mean_score: Option<f64>,
    /// KPI values over the team.
    pub kpis: KpiTable,
}
