//! A rep's core state, the part every feature reads and none owns: rolling
//! windows, calendar periods, the dedupe set, open deals, the directory
//! record, where in the input it has got to, and the record version.
//! Every structure here is bounded.

use salespulse_kpi::{ActivityCounts, SalesAcc};
use salespulse_model::Directory;
use salespulse_window::{PeriodStore, ReleaseSpare, Rolling, RollingSpecs};

use super::deals::DealTracker;
use super::dedupe::DedupeSet;

/// Everything about a rep that is not a feature's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Core {
    /// Windows of every contribution except pure activity counts.
    pub rolling: Rolling<SalesAcc>,
    /// Windows of calls, meetings and emails (most buckets), 24 bytes a bucket.
    pub activity: Rolling<ActivityCounts>,
    pub periods: PeriodStore<SalesAcc>,
    pub dedupe: DedupeSet,
    pub deals: DealTracker,
    /// The directory record with the largest `occurred_at` seen.
    pub directory: Option<(i64, Box<Directory>)>,
    /// Team and region from the latest event naming them, when no directory record exists.
    pub seen_team: Option<Box<str>>,
    pub seen_region: Option<Box<str>>,
    /// Grows with every record emitted.
    pub version: u64,
    /// Input offset of the last record applied to this rep, per input slot
    /// (the caller's numbering of its topics).
    pub applied: Vec<i64>,
    /// The rep's working-time calendar (`detect.calendar_of` its region),
    /// cached: None until first needed and again whenever the region may
    /// have changed (see [`Core::calendar`]).
    #[serde(skip)]
    pub calendar: Option<u8>,
    /// Changed since the last flush (a score record is due).
    #[serde(skip)]
    pub dirty: bool,
    /// Changed since the last checkpoint (a changelog record is due).
    #[serde(skip)]
    pub unsaved: bool,
}

impl Core {
    pub fn new(specs: &RollingSpecs) -> Self {
        Core {
            rolling: Rolling::new(specs),
            activity: Rolling::new(specs),
            periods: PeriodStore::default(),
            dedupe: DedupeSet::default(),
            deals: DealTracker::default(),
            directory: None,
            seen_team: None,
            seen_region: None,
            version: 0,
            applied: Vec::new(),
            calendar: None,
            dirty: false,
            unsaved: false,
        }
    }

    /// The rep's targets: its directory overrides and start date.
    pub fn targets(&self, cfg: &crate::EngineConfig) -> salespulse_kpi::TargetContext<'_> {
        let dir = self.directory.as_ref().map(|d| &d.1);
        salespulse_kpi::TargetContext {
            overrides: dir.map_or(&[], |d| d.targets.as_slice()),
            start_ms: dir
                .and_then(|d| d.start_date)
                .map(|days| cfg.calendar.day_start(days)),
        }
    }

    /// Moves both window stores to stream time `t`.
    pub fn advance(&mut self, specs: &RollingSpecs, t: i64) {
        self.rolling.advance(specs, t);
        self.activity.advance(specs, t);
    }

    /// Adds a contribution at `e` to the right window store.
    pub fn insert(&mut self, specs: &RollingSpecs, e: i64, acc: &SalesAcc) {
        match acc.as_activity() {
            Some(counts) => self.activity.insert(specs, e, &counts),
            None => self.rolling.insert(specs, e, acc),
        };
    }

    /// Every window's full sums, narrowest first (after `advance`).
    pub fn windows(&self) -> Vec<SalesAcc> {
        let mut sums = self.rolling.windows();
        for (s, a) in sums.iter_mut().zip(self.activity.windows()) {
            s.add_activity(&a);
        }
        sums
    }

    /// Releases the spare capacity of every bounded collection: their
    /// lengths are bounded, but a `Vec` keeps the capacity of its longest
    /// moment, so without this a rep's memory ratchets up to its worst burst
    /// over months of stream time (`ReleaseSpare`).
    pub fn shrink(&mut self) {
        self.rolling.shrink();
        self.activity.shrink();
        self.periods.shrink();
        self.dedupe.shrink();
        self.deals.shrink();
        self.applied.release_spare();
    }

    pub fn team(&self) -> Option<&str> {
        self.directory
            .as_ref()
            .map(|d| d.1.team_id.as_str())
            .or(self.seen_team.as_deref())
    }

    /// The index of the rep's working-time calendar in `detect.calendars`.
    /// Ticks ask for it for every rep; the region lookup behind it reads the
    /// directory record and compares names, so it is cached here. Whoever
    /// changes `directory` or `seen_region` resets `calendar` to None.
    pub fn calendar(&mut self, dc: &salespulse_detect::DetectConfig) -> usize {
        if let Some(c) = self.calendar {
            return usize::from(c);
        }
        let c = dc.calendar_of(self.region());
        self.calendar = u8::try_from(c).ok();
        c
    }

    pub fn region(&self) -> Option<&str> {
        self.directory
            .as_ref()
            .map(|d| d.1.region.as_str())
            .or(self.seen_region.as_deref())
    }

    pub fn manager(&self) -> Option<&str> {
        self.directory
            .as_ref()
            .and_then(|d| d.1.manager_id.as_deref())
    }

    pub fn role(&self) -> Option<&str> {
        self.directory.as_ref().map(|d| d.1.role.as_str())
    }

    /// How far the rep got through its input: the sum over input slots of
    /// the offset of the last record applied (never decreases as records apply).
    pub fn progress(&self) -> i64 {
        self.applied.iter().map(|&o| o.max(0)).sum()
    }

    /// Records the input position of a record that changed the rep.
    pub fn note_source(&mut self, source: Option<(usize, i64)>) {
        if let Some((slot, offset)) = source {
            if self.applied.len() <= slot {
                self.applied.resize(slot + 1, -1);
            }
            self.applied[slot] = offset;
        }
    }

    /// Whether the rep's state already holds the record at `offset` of `slot`.
    pub fn holds(&self, slot: usize, offset: i64) -> bool {
        self.applied.get(slot).is_some_and(|&last| last >= offset)
    }

    pub fn heap_bytes(&self) -> usize {
        self.rolling.heap_bytes()
            + self.activity.heap_bytes()
            + self.periods.heap_bytes()
            + self.dedupe.heap_bytes()
            + self.deals.heap_bytes()
            + self.directory.as_ref().map_or(0, |d| {
                std::mem::size_of::<Directory>() + d.1.targets.len() * 48 + 64
            })
    }
}
