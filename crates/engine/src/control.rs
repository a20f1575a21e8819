//! Profile changes while running: the `salespulse.control` record format
//! (docs/control-topic.md), its validation, and the `[control]` settings.
//!
//! A change names the event time it takes effect from (`effective_at`) and
//! the wall-clock time it was published (`published_at`). It is accepted
//! only when `effective_at` is at least `control.min_lead` after
//! `published_at`; the live service re-reads the control topic at least
//! every `control.refresh` and processes nothing when its view is too old,
//! and no event may be more than `engine.max_future_skew` ahead of the wall
//! clock. Together these mean every instance holds a change before any
//! event at or after its `effective_at` is applied, so where each version
//! applies depends on the logs alone, and a replay of the input and control
//! logs reproduces the live scores.

use std::collections::BTreeMap;

use serde::Deserialize;

use salespulse_detect::DetectConfig;
use salespulse_kpi::{Added, Profiles, RawProfile, TimelineError};
use salespulse_model::Timestamp;
use salespulse_window::parse_duration;

use crate::EngineConfig;

/// `[control]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// Least time between a change's `published_at` and its `effective_at`.
    pub min_lead: String,
    /// Largest clock difference allowed between publishers and instances.
    pub max_skew: String,
    /// How often the service re-reads the control topic.
    pub refresh: String,
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection {
            min_lead: "15m".into(),
            max_skew: "30s".into(),
            refresh: "5s".into(),
        }
    }
}

/// Validated `[control]`, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlConfig {
    /// `min_lead`.
    pub min_lead_ms: i64,
    /// `max_skew`.
    pub max_skew_ms: i64,
    /// `refresh`.
    pub refresh_ms: i64,
}

impl ControlConfig {
    /// How old the service's view of the control topic may get before it
    /// stops processing: an unseen change takes effect at least this much
    /// after the view was read, minus what events may run ahead of the clock.
    pub fn stale_after_ms(&self, max_future_skew_ms: i64) -> i64 {
        self.min_lead_ms - self.max_skew_ms - max_future_skew_ms
    }
}

/// Invalid `[control]` settings.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ControlSettingsError {
    /// Not a duration.
    #[error("control.{key} = {value:?} is not a duration; expected a number and a unit s, m, h or d (e.g. \"15m\")")]
    Duration {
        /// Key.
        key: &'static str,
        /// Value.
        value: String,
    },
    /// The lead cannot cover skew, future events and the refresh interval.
    #[error("control.min_lead = {min_lead:?} must exceed control.max_skew + engine.max_future_skew + control.refresh ({needed_s} s): otherwise an instance could apply an event before it has read a change that covers it")]
    LeadTooShort {
        /// The configured lead.
        min_lead: String,
        /// The least allowed lead, seconds.
        needed_s: i64,
    },
}

impl ControlConfig {
    /// Validates `[control]` against the engine's `max_future_skew`.
    pub fn new(s: &ControlSection, max_future_skew_ms: i64) -> Result<Self, ControlSettingsError> {
        let d = |key: &'static str, value: &str| {
            parse_duration(value).ok_or_else(|| ControlSettingsError::Duration {
                key,
                value: value.into(),
            })
        };
        let c = ControlConfig {
            min_lead_ms: d("min_lead", &s.min_lead)?,
            max_skew_ms: d("max_skew", &s.max_skew)?,
            refresh_ms: d("refresh", &s.refresh)?.max(1),
        };
        let needed = c.max_skew_ms + max_future_skew_ms + c.refresh_ms;
        if c.min_lead_ms <= needed {
            return Err(ControlSettingsError::LeadTooShort {
                min_lead: s.min_lead.clone(),
                needed_s: needed / 1000,
            });
        }
        Ok(c)
    }
}

/// A control record as written on the topic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    #[serde(rename = "type")]
    kind: String,
    effective_at: String,
    published_at: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    default_role: Option<String>,
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    detect: Option<serde_json::Value>,
}

/// The detector settings of a profile version; versions compare by the
/// detector tables they were built from.
#[derive(Debug, Clone)]
pub struct Detectors {
    /// The settings.
    pub config: DetectConfig,
    /// The `[detect]` tables of `salespulse_detect::VERSIONED_KEYS`, as JSON.
    pub tables: serde_json::Value,
}

impl PartialEq for Detectors {
    fn eq(&self, other: &Self) -> bool {
        self.tables == other.tables
    }
}

/// A validated profile change, not yet added.
#[derive(Debug, Clone)]
pub struct ProfileChange {
    /// Event time it applies from, ms.
    pub effective_at: i64,
    /// Wall-clock time it was published, ms.
    pub published_at: i64,
    /// Who published it (free text, for the logs).
    pub source: String,
    /// The complete set of role profiles.
    pub profiles: Profiles,
    /// The detector settings.
    pub detectors: Detectors,
}

/// A control record that was not applied: what is wrong and what is expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// Not JSON of the documented shape.
    #[error("not a control record: {0}; expected the JSON of docs/control-topic.md")]
    Shape(String),
    /// An unknown `type`.
    #[error("type {0:?} is not known; expected \"profiles\"")]
    Type(String),
    /// A timestamp field.
    #[error("{field} {value:?} is not an RFC 3339 timestamp ({problem})")]
    Time {
        /// Field.
        field: &'static str,
        /// Value.
        value: String,
        /// Parser's reason.
        problem: &'static str,
    },
    /// Too little lead.
    #[error("effective_at {effective_at} is less than control.min_lead ({lead_s} s) after published_at {published_at}; publish changes at least that far ahead")]
    Lead {
        /// effective_at as given.
        effective_at: String,
        /// published_at as given.
        published_at: String,
        /// The lead required, seconds.
        lead_s: i64,
    },
    /// The profiles are invalid.
    #[error("profiles: {0}")]
    Profile(String),
    /// The detector settings are invalid.
    #[error("{0}")]
    Detect(String),
    /// The change cannot follow the versions in effect.
    #[error("{0}")]
    Timeline(#[from] TimelineError),
}

impl ControlError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ControlError::Shape(_) | ControlError::Type(_) | ControlError::Time { .. } => "shape",
            ControlError::Lead { .. } => "lead",
            ControlError::Profile(_) | ControlError::Detect(_) => "profile",
            ControlError::Timeline(_) => "timeline",
        }
    }
}

fn time(field: &'static str, value: &str) -> Result<i64, ControlError> {
    Timestamp::parse_rfc3339(value)
        .map(Timestamp::millis)
        .map_err(|problem| ControlError::Time {
            field,
            value: value.into(),
            problem,
        })
}

/// Parses and validates one control record against `cfg` (its windows, its
/// `[control]` lead and its latest profiles).
pub fn parse_control(cfg: &EngineConfig, bytes: &[u8]) -> Result<ProfileChange, ControlError> {
    let raw: RawControl =
        serde_json::from_slice(bytes).map_err(|e| ControlError::Shape(e.to_string()))?;
    if raw.kind != "profiles" {
        return Err(ControlError::Type(raw.kind));
    }
    let effective_at = time("effective_at", &raw.effective_at)?;
    let published_at = time("published_at", &raw.published_at)?;
    if effective_at < published_at.saturating_add(cfg.control.min_lead_ms) {
        return Err(ControlError::Lead {
            effective_at: raw.effective_at,
            published_at: raw.published_at,
            lead_s: cfg.control.min_lead_ms / 1000,
        });
    }
    let latest = cfg.profiles.latest();
    let default_role = raw
        .default_role
        .unwrap_or_else(|| latest.profiles.default_role().to_string());
    let profiles = Profiles::new(&raw.profiles, &default_role, &cfg.specs)
        .map_err(|e| ControlError::Profile(e.to_string()))?;
    let (config, tables) = DetectConfig::versioned(
        &cfg.detect_base,
        raw.detect.as_ref(),
        cfg.calendar.tz_name(),
    )
    .map_err(|e| ControlError::Detect(e.to_string()))?;
    Ok(ProfileChange {
        effective_at,
        published_at,
        source: raw.source.unwrap_or_default(),
        profiles,
        detectors: Detectors { config, tables },
    })
}

/// Applies one control record to `cfg`'s profile timeline.
pub fn apply_control(cfg: &mut EngineConfig, bytes: &[u8]) -> Result<ControlApplied, ControlError> {
    let change = parse_control(cfg, bytes)?;
    let effective_at = change.effective_at;
    let added = cfg
        .profiles
        .add(effective_at, change.profiles, change.detectors)?;
    Ok(ControlApplied {
        added,
        effective_at,
        source: change.source,
    })
}

/// What applying a control record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlApplied {
    /// A new version, or the same profiles again.
    pub added: Added,
    /// Its effective_at, ms.
    pub effective_at: i64,
    /// Its source.
    pub source: String,
}

/// The control record that makes `profiles` (the `[profiles]` table as
/// JSON) and the detector tables `detect` effective at `effective_at`,
/// published at `published_at` (ms).
pub fn control_record(
    profiles: &serde_json::Value,
    detect: &serde_json::Value,
    default_role: &str,
    effective_at: i64,
    published_at: i64,
    source: &str,
) -> Vec<u8> {
    let v = serde_json::json!({
        "type": "profiles",
        "effective_at": Timestamp(effective_at).to_rfc3339(),
        "published_at": Timestamp(published_at).to_rfc3339(),
        "source": source,
        "default_role": default_role,
        "profiles": profiles,
        "detect": detect,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}
