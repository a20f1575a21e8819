//! Anomaly detection and the alert lifecycle, all in stream time.
//!
//! The detectors read a rep's KPIs and events as the engine applies them and
//! raise alerts through [`lifecycle`], which adds hysteresis and a cooldown
//! so a rep hovering at a threshold does not flap. Nothing here reads a
//! clock: the same events give the same alerts, live or in replay.

pub mod activity;
mod emit;
pub mod flow;
pub mod lifecycle;
pub mod outlier;
pub mod pace;
pub mod peer;
pub mod quality;
pub mod rep;
mod sections;
pub mod settings;
pub mod silence;
pub mod worktime;

pub use activity::Tick;
pub use emit::{expire, Raise, Subject};
pub use pace::PaceInput;
pub use quality::{source_of, Quality};
pub use rep::RepDetect;
pub use settings::{DetectConfig, DetectSection, RoleConfig, VERSIONED_KEYS};
pub use worktime::WorkCalendar;

/// A detector setting is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{key} = {value:?}: expected {expected}")]
pub struct DetectError {
    /// The config key.
    pub key: String,
    /// The value found.
    pub value: String,
    /// What would be accepted.
    pub expected: String,
}

impl DetectError {
    pub(crate) fn setting(key: &str, value: &str, expected: &str) -> DetectError {
        DetectError {
            key: key.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }
}
