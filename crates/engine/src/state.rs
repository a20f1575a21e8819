//! Per-rep state: windows, periods, the dedupe set, the open-deal tracker
//! and the directory record. Every structure here is bounded.

use salespulse_kpi::{ActivityCounts, SalesAcc};
use salespulse_model::Directory;
use salespulse_window::{PeriodStore, ReleaseSpare, Rolling, RollingSpecs};

/// Event ids of one rep applied recently *by arrival*, as (hash, stream time
/// when the first copy was applied), sorted by hash. A record is a duplicate
/// when an id with the same hash was applied at a stream time
/// `> stream_time - horizon`, whatever the record's `occurred_at`: an
/// at-least-once producer re-sends what it sent, however old the event is,
/// so the horizon measures redelivery, not event age. Memory: 16 bytes per
/// id, at most `max` ids (the earliest applied are forgotten first).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DedupeSet {
    entries: Vec<(u64, i64)>,
    oldest: i64,
    /// Size after the last sweep of stale ids; the next sweep waits for the set to double.
    swept_len: usize,
}

impl DedupeSet {
    /// Checks `id` arriving at stream time `t_ms` (the stream time including
    /// this record) and records it if new. Returns false for a duplicate.
    /// `evicted` counts ids dropped early because of `max`.
    pub fn check_insert(
        &mut self,
        id: u64,
        t_ms: i64,
        horizon_ms: i64,
        max: usize,
        evicted: &mut u64,
    ) -> bool {
        let cutoff = t_ms - horizon_ms;
        // Stale ids never match (the check below compares times), so sweeping
        // them is only about memory: do it when the set has doubled since the
        // last sweep, which keeps the cost amortized O(1) and memory within 2x.
        if self.oldest <= cutoff
            && (self.entries.len() >= 2 * self.swept_len.max(8) || self.entries.len() >= max)
        {
            self.entries.retain(|&(_, at)| at > cutoff);
            self.oldest = self.entries.iter().map(|e| e.1).min().unwrap_or(i64::MAX);
            self.swept_len = self.entries.len();
        }
        let pos = match self.entries.binary_search_by_key(&id, |e| e.0) {
            Ok(i) if self.entries[i].1 > cutoff => return false,
            Ok(i) => {
                // Seen before the horizon: a new delivery, remembered from now.
                self.entries[i].1 = t_ms;
                return true;
            }
            Err(i) => i,
        };
        if self.entries.len() >= max.max(1) {
            // Stream time never decreases, so the smallest time is the id
            // applied first: the one a re-send is least likely to repeat.
            if let Some(victim) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.1)
                .map(|(i, _)| i)
            {
                self.entries.remove(victim);
                *evicted += 1;
                return self.check_insert(id, t_ms, horizon_ms, max, evicted);
            }
        }
        self.entries.insert(pos, (id, t_ms));
        self.oldest = self.oldest.min(t_ms);
        true
    }

    /// Ids held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * 16
    }

    /// Releases spare capacity.
    pub fn shrink(&mut self) {
        self.entries.release_spare();
    }
}

/// Creation times of a rep's open deals (hash of deal_id -> created_at),
/// for the sales cycle. Bounded: when full, the oldest-created deal is
/// forgotten (its win then uses the `created_at` field, if any).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DealTracker {
    open: Vec<(u64, i64)>,
}

impl DealTracker {
    /// Records a created deal.
    pub fn created(&mut self, deal: u64, at_ms: i64, max: usize, evicted: &mut u64) {
        if let Some(e) = self.open.iter_mut().find(|e| e.0 == deal) {
            e.1 = at_ms;
            return;
        }
        if self.open.len() >= max.max(1) {
            if let Some(i) = self
                .open
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.1)
                .map(|(i, _)| i)
            {
                self.open.swap_remove(i);
                *evicted += 1;
            }
        }
        self.open.push((deal, at_ms));
    }

    /// Removes a deal (won or lost), returning its creation time if it was tracked.
    pub fn close(&mut self, deal: u64) -> Option<i64> {
        let i = self.open.iter().position(|e| e.0 == deal)?;
        Some(self.open.swap_remove(i).1)
    }

    /// Open deals tracked.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.open.capacity() * 16
    }

    /// Releases spare capacity.
    pub fn shrink(&mut self) {
        self.open.release_spare();
    }
}

/// Everything the engine keeps about one rep.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RepState {
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
    /// (the caller's numbering of its topics; see `Engine::set_source`).
    pub applied: Vec<i64>,
    /// Assist credits ahead of stream time, as (time, credit id), applied
    /// when the partition's events reach them.
    pub pending_credits: Vec<(i64, u64)>,
    /// Ids of the assist credits applied, as (time, id), while a credit of
    /// that time could still be accepted (exact dedupe of credits).
    pub credit_ids: Vec<(i64, u64)>,
    /// Detector state and alert episodes (written to the changelog next to
    /// the rest; see `engine::snapshot`).
    #[serde(skip)]
    pub detect: salespulse_detect::RepDetect,
    /// Commission books (written to the changelog after the detector state).
    #[serde(skip)]
    pub incentive: crate::engine::incentive::Incentive,
    /// Events per weekday and hour (the forecast's seasonality; changelog format 4).
    #[serde(skip)]
    pub week: crate::engine::forecast::WeekProfile,
    /// Coaching judged at the last working-day close (changelog format 5).
    #[serde(skip)]
    pub coached: crate::engine::coach::Coached,
    /// The last closed periods' sums (changelog format 6).
    #[serde(skip)]
    pub history: crate::engine::previous::History,
    /// The score at the last working-day close (changelog format 7).
    #[serde(skip)]
    pub day_close: Option<DayCloseScore>,
    /// The rep's working-time calendar (`detect.calendar_of` its region),
    /// cached: None until first needed and again whenever the region may
    /// have changed (see [`RepState::calendar`]).
    #[serde(skip)]
    pub calendar: Option<u8>,
    /// Changed since the last flush (a score record is due).
    #[serde(skip)]
    pub dirty: bool,
    /// Changed since the last `take_unsaved` (a changelog record is due).
    #[serde(skip)]
    pub unsaved: bool,
}

impl RepState {
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
        self.detect.shrink();
        self.incentive.shrink();
        self.history.shrink();
        self.pending_credits.release_spare();
        self.credit_ids.release_spare();
    }

    pub fn new(specs: &RollingSpecs) -> Self {
        RepState {
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
            pending_credits: Vec::new(),
            credit_ids: Vec::new(),
            detect: salespulse_detect::RepDetect::default(),
            incentive: Default::default(),
            week: Default::default(),
            coached: Default::default(),
            history: Default::default(),
            day_close: None,
            calendar: None,
            dirty: false,
            unsaved: false,
        }
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

    pub fn heap_bytes(&self) -> usize {
        self.rolling.heap_bytes()
            + self.activity.heap_bytes()
            + self.periods.heap_bytes()
            + self.dedupe.heap_bytes()
            + self.deals.heap_bytes()
            + self.detect.heap_bytes()
            + self.incentive.heap_bytes()
            + self.week.heap_bytes()
            + self.directory.as_ref().map_or(0, |d| {
                std::mem::size_of::<Directory>() + d.1.targets.len() * 48 + 64
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_respects_horizon_and_cap() {
        let mut d = DedupeSet::default();
        let mut ev = 0;
        assert!(d.check_insert(1, 100, 50, 10, &mut ev));
        assert!(!d.check_insert(1, 120, 50, 10, &mut ev));
        // At t=150 the first copy (applied at 100) is outside the horizon.
        assert!(d.check_insert(1, 150, 50, 10, &mut ev));
        // ...and the new copy is remembered from 150 on.
        assert!(!d.check_insert(1, 199, 50, 10, &mut ev));
        for i in 2..20 {
            assert!(d.check_insert(i, 170, 50, 10, &mut ev));
        }
        assert_eq!(d.len(), 10);
        assert!(ev > 0);
    }

    #[test]
    fn deal_tracker_bounded() {
        let mut t = DealTracker::default();
        let mut ev = 0;
        for i in 0..5 {
            t.created(i, i as i64, 3, &mut ev);
        }
        assert_eq!(t.len(), 3);
        assert_eq!(ev, 2);
        assert_eq!(t.close(4), Some(4));
        assert_eq!(t.close(0), None);
    }
}

/// A rep's score at a working-day close: the same for every instance and
/// replay, so company-wide ranks at the close can be computed from the
/// score topic (docs/alerts.md, `rank_change`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DayCloseScore {
    /// End of the closed day, ms.
    pub day_end: i64,
    /// The score at the close.
    pub score: f64,
}
