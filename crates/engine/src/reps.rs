//! The reps an engine holds: each rep's core and features ([`RepState`]),
//! applying a contribution to its windows and periods, and what the engine
//! owes changed reps ([`Marks`]).

use rustc_hash::{FxBuildHasher, FxHashSet};
use salespulse_kpi::SalesAcc;
use salespulse_window::{Period, PeriodKind, RollingSpecs};

use crate::feature::Features;
use crate::rep::Core;
use crate::EngineConfig;

/// Everything the engine keeps about one rep.
#[derive(Debug, Clone)]
pub(crate) struct RepState {
    pub core: Core,
    pub features: Features,
    pub sent: Sent,
}

/// What of a rep's records that go only when due or changed was sent.
/// Not in the changelog: after a restore the first score record sends
/// both again (the same content, harmless on compacted topics).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sent {
    /// A `kpis/2` record was sent (the first score record always has one).
    pub kpis: bool,
    /// A score record went without its KPI record since the last one.
    pub kpis_stale: bool,
    /// The day close of the last `coaching/1` record (0: none).
    pub coaching_day: i64,
    /// Hash of the last `last_periods/1` record's periods (0: none).
    pub last_periods: u64,
}

/// Rep state by rep_id. hashbrown's `entry_ref` finds or inserts with one
/// lookup and allocates the key only for a new rep.
pub(crate) type Reps = hashbrown::HashMap<Box<str>, RepState, FxBuildHasher>;

/// A rep's state, created empty on first sight.
pub(crate) fn entry<'m>(
    reps: &'m mut Reps,
    rep_id: &str,
    specs: &RollingSpecs,
) -> &'m mut RepState {
    reps.entry_ref(rep_id)
        .or_insert_with(|| RepState::new(specs))
}

impl RepState {
    pub fn new(specs: &RollingSpecs) -> Self {
        RepState {
            sent: Sent::default(),
            core: Core::new(specs),
            features: Features::default(),
        }
    }

    /// Releases spare capacity everywhere (see [`Core::shrink`]).
    pub fn shrink(&mut self) {
        self.core.shrink();
        self.features.shrink();
    }

    pub fn heap_bytes(&self) -> usize {
        self.core.heap_bytes() + self.features.heap_bytes()
    }

    /// Adds a contribution at event time `e` to the rep's windows and kept
    /// periods (stream time `t`); returns the closed periods it changed,
    /// whose summaries are due again. What reaches a closed period is also
    /// handed to the features (the history keeps complete sums).
    pub fn add(
        &mut self,
        cfg: &EngineConfig,
        current: &[Period; 4],
        t: i64,
        e: i64,
        acc: &SalesAcc,
    ) -> Vec<Period> {
        let mut due = Vec::new();
        if acc.is_zero() {
            return due;
        }
        let core = &mut self.core;
        core.advance(&cfg.specs, t);
        core.insert(&cfg.specs, e, acc);
        core.periods.expire(t, cfg.grace_ms);
        for kind in PeriodKind::ALL {
            let p = crate::accept::period_of(cfg, current, kind, e);
            let summarised = cfg.summary_periods.contains(&p.kind);
            if p.end + cfg.grace_ms > t {
                core.periods.add(p, acc);
                if p.end <= t && summarised {
                    due.push(p);
                    // Saved with this event, even if a crash loses the
                    // summary that is due.
                    self.features.on_late(&p, acc);
                }
            } else if summarised {
                self.features.on_late(&p, acc);
            }
        }
        due
    }
}

/// What the engine owes changed reps: a score record at the next flush
/// (dirty), a changelog record at the next checkpoint (unsaved), and the
/// period summaries that late events made due again.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    pub dirty: Vec<Box<str>>,
    /// Reps whose KPI record is stale ([`Sent::kpis_stale`]).
    pub kpis_stale: Vec<Box<str>>,
    pub unsaved: Vec<Box<str>>,
    pub summaries_due: FxHashSet<(Box<str>, PeriodKind, i64)>,
}

impl Marks {
    /// The rep's score record is due at the next flush.
    pub fn dirty(&mut self, id: &str, core: &mut Core) {
        if !core.dirty {
            core.dirty = true;
            self.dirty.push(id.into());
        }
    }

    /// The rep's changelog record is due at the next checkpoint.
    pub fn unsaved(&mut self, id: &str, core: &mut Core) {
        if !core.unsaved {
            core.unsaved = true;
            self.unsaved.push(id.into());
        }
    }

    /// The rep's summary of the closed period `p` is due again.
    pub fn summary_due(&mut self, id: &str, p: &Period) {
        self.summaries_due.insert((id.into(), p.kind, p.start));
    }
}
