//! The SalesPulse processor: a partition's reps, each event applied at
//! stream time, and one ordered outbox of what comes out (score records,
//! period summaries, alerts, assist credits, changelog records).
//!
//! No I/O and no clock: time comes in with the events (stream time), and the
//! one wall-clock check (`max_future_skew`) takes `now` as an argument from
//! the caller. `replay` and the Kafka service drive the same engine through
//! `salespulse-pipeline`, so every live result can be reproduced from the
//! event log. docs/architecture.md maps the modules.

mod accept;
mod changelog;
mod clock;
mod coaching_rules;
pub mod control;
mod engine;
mod feature;
mod hash;
mod moment;
mod outbox;
mod record;
mod rep;
mod reps;
mod rollup;
mod score;
mod section;
mod settings;
mod stats;
mod tick;

pub use accept::validate;
pub use changelog::{SnapshotError, FORMAT as SNAPSHOT_FORMAT};
pub use coaching_rules::{CoachingConfig, CoachingError};
pub use engine::{Applied, Engine};
pub use feature::credit::{Credit, CreditOutcome};
pub use feature::detect::UNKNOWN_SOURCE;
pub use hash::stable_hash;
pub use outbox::{Emit, Output, Outputs};
pub use rep::{DealTracker, DedupeSet};
pub use rollup::{GroupSums, SCORE_BUCKETS};
pub use salespulse_detect::{DetectConfig, DetectSection, VERSIONED_KEYS as VERSIONED_DETECT_KEYS};
pub use settings::{EngineConfig, Settings, SettingsError, WindowSetting};
pub use stats::{MemoryReport, Stats};

/// The config sections the engine reads, for loaders that compose a larger config.
pub mod settings_sections {
    pub use crate::coaching_rules::CoachingSection;
    pub use crate::control::ControlSection;
    pub use crate::settings::{CurrencySection, EngineSection, ScoringSection};
}
