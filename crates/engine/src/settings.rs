//! Engine settings as written in config (`[engine]`, `[currency]`,
//! `[scoring]`, `[profiles.*]`), and their validation into an [`EngineConfig`].
//! Every error names the key, the value and what is expected.

use std::collections::BTreeMap;

use serde::Deserialize;

use salespulse_detect::{DetectConfig, DetectSection};
use salespulse_kpi::{ProfileError, ProfileTimeline, Profiles, RawProfile};
use salespulse_model::money::CurrencyError;
use salespulse_model::{CurrencyTable, DecodeContext};
use salespulse_window::{parse_duration, Calendar, PeriodKind, RollingSpecs, SpecError};

/// One rolling window as configured.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WindowSetting {
    /// Output name (`24h`).
    pub name: String,
    /// Width (`24h`).
    pub width: String,
    /// Bucket width (`15m`).
    pub bucket: String,
}

/// `[engine]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// IANA zone for calendar periods.
    pub time_zone: String,
    /// Rolling windows.
    pub windows: Vec<WindowSetting>,
    /// How long a closed period still accepts late events.
    pub period_grace: String,
    /// Dedupe horizon.
    pub dedupe_horizon: String,
    /// Most event ids remembered per rep.
    pub dedupe_max_per_rep: usize,
    /// Most open deals tracked per rep for the sales cycle.
    pub open_deals_max_per_rep: usize,
    /// Largest record accepted, in bytes.
    pub max_event_bytes: usize,
    /// How far ahead of the wall clock an event may be at ingest.
    pub max_future_skew: String,
    /// Period kinds whose closing emits a period summary per rep.
    pub summary_periods: Vec<String>,
}

impl Default for EngineSection {
    fn default() -> Self {
        let w = |n: &str, b: &str| WindowSetting {
            name: n.into(),
            width: n.into(),
            bucket: b.into(),
        };
        EngineSection {
            time_zone: "UTC".into(),
            windows: vec![
                w("1h", "1m"),
                w("24h", "15m"),
                w("7d", "1h"),
                w("30d", "6h"),
            ],
            period_grace: "2d".into(),
            dedupe_horizon: "24h".into(),
            dedupe_max_per_rep: 10_000,
            open_deals_max_per_rep: 2_048,
            max_event_bytes: 65_536,
            max_future_skew: "10m".into(),
            summary_periods: PeriodKind::ALL
                .iter()
                .map(|k| k.as_str().to_string())
                .collect(),
        }
    }
}

/// `[currency]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CurrencySection {
    /// Reporting currency.
    pub reporting: String,
    /// Units of reporting currency per unit of each currency, as decimal strings.
    pub rates: BTreeMap<String, String>,
    /// Decimal places for currencies not in the built-in ISO list.
    pub exponents: BTreeMap<String, u32>,
}

impl Default for CurrencySection {
    fn default() -> Self {
        CurrencySection {
            reporting: "USD".into(),
            rates: BTreeMap::new(),
            exponents: BTreeMap::new(),
        }
    }
}

/// `[scoring]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringSection {
    /// Profile for reps without a directory record or with a role that has no profile.
    pub default_role: String,
    /// Period kinds whose last closed period score records carry (team
    /// period-over-period); each must be in `engine.summary_periods`.
    pub compare_periods: Vec<String>,
}

impl Default for ScoringSection {
    fn default() -> Self {
        ScoringSection {
            default_role: "direct".into(),
            compare_periods: vec!["month".into()],
        }
    }
}

/// The engine's part of the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Settings {
    /// `[engine]`.
    #[serde(default)]
    pub engine: EngineSection,
    /// `[currency]`.
    #[serde(default)]
    pub currency: CurrencySection,
    /// `[scoring]`.
    #[serde(default)]
    pub scoring: ScoringSection,
    /// `[profiles.<role>]`.
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
    /// `[detect]`.
    #[serde(default)]
    pub detect: DetectSection,
    /// `[coaching]`.
    #[serde(default)]
    pub coaching: crate::coaching_rules::CoachingSection,
    /// `[control]`.
    #[serde(default)]
    pub control: crate::control::ControlSection,
}

/// Invalid engine settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A duration key.
    #[error("{key} = {value:?} is not a duration; expected a number and a unit s, m, h or d (e.g. \"2d\")")]
    Duration {
        /// Key.
        key: &'static str,
        /// Value.
        value: String,
    },
    /// A rolling window.
    #[error("engine.windows: {0}")]
    Windows(#[from] SpecError),
    /// The time zone.
    #[error("engine.time_zone: {0}")]
    TimeZone(String),
    /// A summary period.
    #[error("engine.summary_periods: {0:?} is not a period; expected day, week, month or quarter")]
    SummaryPeriod(String),
    /// A compared period.
    #[error("scoring.compare_periods: {0:?} is not one of engine.summary_periods ({1}); period-over-period figures come from the summaries")]
    ComparePeriod(String, String),
    /// Currencies.
    #[error("currency: {0}")]
    Currency(#[from] CurrencyError),
    /// Profiles.
    #[error("profiles: {0}")]
    Profile(#[from] ProfileError),
    /// Detectors.
    #[error("{0}")]
    Detect(#[from] salespulse_detect::DetectError),
    /// Coaching rules.
    #[error("{0}")]
    Coaching(#[from] crate::coaching_rules::CoachingError),
    /// `[control]`.
    #[error("{0}")]
    Control(#[from] crate::control::ControlSettingsError),
    /// A numeric limit.
    #[error("engine.{key} = {value}: {expected}")]
    Limit {
        /// Key.
        key: &'static str,
        /// Value.
        value: usize,
        /// What is expected.
        expected: &'static str,
    },
}

/// Validated engine configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Rolling windows.
    pub specs: RollingSpecs,
    /// Calendar for periods.
    pub calendar: Calendar,
    /// Grace for closed periods, ms.
    pub grace_ms: i64,
    /// Dedupe horizon, ms.
    pub dedupe_horizon_ms: i64,
    /// Dedupe cap per rep.
    pub dedupe_max_per_rep: usize,
    /// Open-deal cap per rep.
    pub open_deals_max_per_rep: usize,
    /// Future skew allowed at ingest, ms.
    pub max_future_skew_ms: i64,
    /// Period kinds that emit summaries.
    pub summary_periods: Vec<PeriodKind>,
    /// Period kinds whose last closed period score records carry.
    pub compare_periods: Vec<PeriodKind>,
    /// Decoder context (size limit, currencies).
    pub decode: DecodeContext,
    /// Scoring profiles: the starting version and every change since
    /// (`salespulse.control`), by event time.
    pub profiles: ProfileTimeline<crate::control::Detectors>,
    /// `[detect]` as configured: what a change's detector tables patch.
    pub detect_base: salespulse_detect::DetectSection,
    /// `[control]`.
    pub control: crate::control::ControlConfig,
    /// Detectors and working time.
    pub detect: DetectConfig,
    /// Coaching rules.
    pub coaching: crate::coaching_rules::CoachingConfig,
}

fn duration(key: &'static str, value: &str) -> Result<i64, SettingsError> {
    parse_duration(value).ok_or_else(|| SettingsError::Duration {
        key,
        value: value.into(),
    })
}

impl EngineConfig {
    /// Validates settings.
    pub fn new(s: &Settings) -> Result<Self, SettingsError> {
        let e = &s.engine;
        let triples: Vec<(&str, &str, &str)> = e
            .windows
            .iter()
            .map(|w| (w.name.as_str(), w.width.as_str(), w.bucket.as_str()))
            .collect();
        let specs = RollingSpecs::new(&triples)?;
        let calendar = Calendar::new(&e.time_zone).map_err(SettingsError::TimeZone)?;
        let summary_periods = e
            .summary_periods
            .iter()
            .map(|p| PeriodKind::parse(p).ok_or_else(|| SettingsError::SummaryPeriod(p.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let compare_periods = s
            .scoring
            .compare_periods
            .iter()
            .map(|p| {
                PeriodKind::parse(p)
                    .filter(|k| summary_periods.contains(k))
                    .ok_or_else(|| {
                        SettingsError::ComparePeriod(p.clone(), e.summary_periods.join(", "))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (key, value) in [
            ("dedupe_max_per_rep", e.dedupe_max_per_rep),
            ("open_deals_max_per_rep", e.open_deals_max_per_rep),
        ] {
            if value == 0 {
                return Err(SettingsError::Limit {
                    key,
                    value,
                    expected: "must be at least 1",
                });
            }
        }
        if !(256..=16 << 20).contains(&e.max_event_bytes) {
            return Err(SettingsError::Limit {
                key: "max_event_bytes",
                value: e.max_event_bytes,
                expected: "expected 256 to 16777216",
            });
        }
        let c = &s.currency;
        let mut currencies =
            CurrencyTable::new(&c.reporting, c.exponents.get(&c.reporting).copied())?;
        for (code, rate) in &c.rates {
            currencies.add(code, rate, c.exponents.get(code).copied())?;
        }
        let profiles = Profiles::new(&s.profiles, &s.scoring.default_role, &specs)?;
        let names: Vec<&str> = specs
            .specs()
            .iter()
            .map(|s| s.name.as_str())
            .chain(PeriodKind::ALL.iter().map(|k| k.as_str()))
            .collect();
        let coaching = crate::coaching_rules::CoachingConfig::new(&s.coaching, &names)?;
        let max_future_skew_ms = duration("engine.max_future_skew", &e.max_future_skew)?;
        let (config, tables) = DetectConfig::versioned(&s.detect, None, &e.time_zone)?;
        let detectors = crate::control::Detectors { config, tables };
        Ok(EngineConfig {
            specs,
            calendar,
            grace_ms: duration("engine.period_grace", &e.period_grace)?,
            dedupe_horizon_ms: duration("engine.dedupe_horizon", &e.dedupe_horizon)?,
            dedupe_max_per_rep: e.dedupe_max_per_rep,
            open_deals_max_per_rep: e.open_deals_max_per_rep,
            max_future_skew_ms,
            compare_periods,
            summary_periods,
            decode: DecodeContext {
                max_bytes: e.max_event_bytes,
                currencies,
            },
            profiles: ProfileTimeline::new(profiles, detectors),
            detect_base: s.detect.clone(),
            control: crate::control::ControlConfig::new(&s.control, max_future_skew_ms)?,
            detect: DetectConfig::new(&s.detect, &e.time_zone)?,
            coaching,
        })
    }

    /// The detector settings in effect at event time `t` (working time,
    /// the tick and data quality are in `detect`, which does not change).
    pub fn detectors_at(&self, t: i64) -> &DetectConfig {
        &self.profiles.extra_at(t).config
    }

    /// Names of every window and period, in output order.
    pub fn window_names(&self) -> Vec<salespulse_model::record::WindowName> {
        self.specs
            .specs()
            .iter()
            .map(|s| s.name.as_str().into())
            .chain(PeriodKind::ALL.iter().map(|k| k.as_str().into()))
            .collect()
    }
}
