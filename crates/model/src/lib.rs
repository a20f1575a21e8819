//! SalesPulse event schema v1: the typed events every source feeds the engine,
//! the validation that turns raw bytes into them (with stable reason codes),
//! exact money, and the score records the engine emits.
//!
//! Nothing here performs I/O, and only [`Timestamp::wall_now`] (for the
//! edges) reads a clock: decoding is a pure function of the input bytes and
//! the [`DecodeContext`] (size limit and currency table). Small rules every
//! crate must apply alike live here too: [`record::round6`], [`rank`] and
//! [`hex`].

pub mod alert;
pub mod decode;
pub mod error;
pub mod event;
mod field;
pub mod hex;
pub mod kpi_name;
pub mod money;
pub mod output;
pub mod privacy;
pub mod rank;
pub mod record;
pub mod schema;
pub mod secret;
pub mod time;

pub use alert::{AlertKind, AlertRecord, AlertStatus, Severity};
pub use decode::{decode, DecodeContext};
pub use error::{Reason, Rejection};
pub use event::{ActivityKind, Body, Channel, Directory, Event, EventType, TargetOverride};
pub use kpi_name::KpiName;
pub use money::{CurrencyTable, Micros, Money};
pub use privacy::Pseudonymizer;
pub use secret::Secret;
pub use time::Timestamp;
