//! What a tick of stream time knows, shared by every rep's features: the
//! working-time ticks, elapsed shares, current periods, the week that
//! closed ([`TickAt`]); and at a working-day close, what was judged over
//! the engine's reps ([`DayClose`]).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use salespulse_detect::peer::Standing;
use salespulse_detect::Tick;
use salespulse_window::Period;

use crate::feature::coaching::judge::Coaching;

/// What one tick knows, shared by every rep.
pub(crate) struct TickAt<'a> {
    pub t: i64,
    /// Per calendar.
    pub ticks: &'a [Tick],
    /// Per calendar, on working hour ticks: elapsed share of each current period.
    pub shares: &'a [Option<[f64; 4]>],
    pub current: &'a [Period; 4],
    /// The week that closed since the last tick.
    pub week_closed: Option<Period>,
    /// Closed per-period alert slots before this are forgotten.
    pub scope_floor: i64,
    /// Whether the tick is inside some calendar's working time.
    pub working: bool,
    /// A source is silent: inactivity alerts are held back (`source_silent`).
    pub hold_inactivity: bool,
}

/// What a working-day close judged.
pub(crate) struct DayClose {
    /// End of the closed day.
    pub day_end: i64,
    /// Each scored rep's standing in its role.
    pub standings: FxHashMap<Box<str>, Standing>,
    /// Each scored rep's coaching.
    pub coached: BTreeMap<Box<str>, Coaching>,
    /// Each scored rep's score at the close without assist components
    /// (`day_close` in score records).
    pub scores: FxHashMap<Box<str>, f64>,
}
