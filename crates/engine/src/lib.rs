//! The SalesPulse processor: per-rep state, `apply(event)`, coalesced
//! emission of score records and period summaries, team rollups.
//!
//! No I/O and no clock: time comes in with the events (stream time), and the
//! one wall-clock check (`max_future_skew`) takes `now` as an argument from
//! the caller. The same engine serves `replay` (files) and, later, the Kafka
//! service, so every live result can be reproduced from the event log.

mod coaching;
pub mod control;
mod engine;
mod hash;
mod output;
mod settings;
mod state;

pub use coaching::{CoachingConfig, CoachingError};
pub use engine::{
    validate, Applied, Credit, CreditOutcome, Engine, GroupSums, MemoryReport, SnapshotError,
    Stats, SCORE_BUCKETS, SNAPSHOT_FORMAT,
};
pub use hash::stable_hash;
pub use salespulse_detect::{DetectConfig, DetectSection, VERSIONED_KEYS as VERSIONED_DETECT_KEYS};
pub use settings::{EngineConfig, Settings, SettingsError, WindowSetting};

/// The config sections the engine reads, for loaders that compose a larger config.
pub mod settings_sections {
    pub use crate::coaching::CoachingSection;
    pub use crate::control::ControlSection;
    pub use crate::settings::{CurrencySection, EngineSection, ScoringSection};
}
pub use state::{DealTracker, DedupeSet};
