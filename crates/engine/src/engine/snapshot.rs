//! Rep state in and out of the changelog, and input positions per rep.
//!
//! The live service writes each changed rep's state to the compacted
//! changelog topic, keyed by rep_id, and rebuilds a partition's engine from
//! it on assignment. Each rep records the input offset of the last record
//! applied to it, per input slot (the caller numbers its topics), so records
//! re-delivered after a restore are recognised and skipped: together with
//! committing input offsets only after the changelog is acknowledged, every
//! record affects the state exactly once.
//!
//! Record value: one format byte ([`SNAPSHOT_FORMAT`]), then the postcard
//! encoding of (partition stream time, rep state, detector state, detector
//! state added in format 3, commission books and the weekday-hour profile
//! added in format 4, coaching added in format 5, closed-period history
//! added in format 6, the score at the last working-day close added in
//! format 7). Format 1
//! had no detector state, format 2 not the format-3 part (deal flow, peer
//! standing), format 3 no commission books, format 4 no coaching, format 5
//! no history; this build still reads them all (what is missing starts empty). docs/topics.md describes the
//! upgrade path.

use serde::{Deserialize, Serialize};

use super::{Engine, EventType, Rejection};
use crate::engine::credit::{Credit, CreditOutcome};
use crate::state::RepState;

/// Version of the changelog record format this build writes and reads.
pub const SNAPSHOT_FORMAT: u8 = 7;

/// The oldest format this build still reads.
pub const SNAPSHOT_FORMAT_MIN: u8 = 1;

/// A changelog record this build cannot read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Written by another format version.
    #[error("changelog record for rep {rep:?}: format version {got}, this build reads versions {SNAPSHOT_FORMAT_MIN} to {SNAPSHOT_FORMAT} (see docs/topics.md, salespulse.state)")]
    Version {
        /// The rep.
        rep: String,
        /// The version byte found.
        got: u8,
    },
    /// Not a valid encoding.
    #[error("changelog record for rep {rep:?}: {reason}")]
    Corrupt {
        /// The rep.
        rep: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    stream_time: i64,
    state: &'a RepState,
    detect: &'a salespulse_detect::RepDetect,
    ext: &'a salespulse_detect::DetectExt,
    incentive: &'a super::incentive::Incentive,
    week: &'a super::forecast::WeekProfile,
    coached: &'a super::coach::Coached,
    history: &'a super::previous::History,
    day_close: &'a Option<crate::state::DayCloseScore>,
}

/// Reads a format-`format` record body: every format writes the fields of
/// the formats before it, then its own, so each part is read in turn and
/// what an older format lacks starts empty. Trailing bytes are an error.
fn decode_body(format: u8, body: &[u8]) -> Result<(i64, RepState), postcard::Error> {
    fn take<'a, T: Deserialize<'a>>(rest: &mut &'a [u8]) -> Result<T, postcard::Error> {
        let (v, r) = postcard::take_from_bytes(rest)?;
        *rest = r;
        Ok(v)
    }
    let mut rest = body;
    let stream_time: i64 = take(&mut rest)?;
    let mut state: RepState = take(&mut rest)?;
    if format >= 2 {
        state.detect = take(&mut rest)?;
    }
    if format >= 3 {
        state.detect.ext = take(&mut rest)?;
    }
    if format >= 4 {
        state.incentive = take(&mut rest)?;
        state.week = take(&mut rest)?;
    }
    if format >= 5 {
        state.coached = take(&mut rest)?;
    }
    if format >= 6 {
        state.history = take(&mut rest)?;
    }
    if format >= 7 {
        state.day_close = take(&mut rest)?;
    }
    if !rest.is_empty() {
        return Err(postcard::Error::DeserializeBadEncoding);
    }
    Ok((stream_time, state))
}

/// What `ingest_from` did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied: an event of this type.
    Event(EventType),
    /// Skipped: the rep's state already holds this record (it was applied
    /// before the state was restored from the changelog).
    AlreadyApplied,
}

impl Engine {
    /// Decodes, validates and applies a record at `offset` of input slot
    /// `slot`, skipping it when its rep's state already holds that offset.
    pub fn ingest_from(
        &mut self,
        bytes: &[u8],
        now_ms: Option<i64>,
        slot: usize,
        offset: i64,
    ) -> Result<Applied, Rejection> {
        self.source = Some((slot, offset));
        self.stats.read += 1;
        let result = match salespulse_model::decode(bytes, &self.cfg.decode) {
            Ok(ev) if self.holds(&ev.rep_id, slot, offset) => Ok(None),
            Ok(ev) => {
                let r = self.apply_inner(&ev, now_ms);
                self.detect_record(bytes, Some(ev.source.as_deref()), &r);
                r.map(Some)
            }
            Err(e) => {
                let r = Err(e);
                self.detect_record(bytes, None, &r);
                r.map(Some)
            }
        };
        self.source = None;
        match result {
            Ok(None) => {
                self.stats.already_applied += 1;
                Ok(Applied::AlreadyApplied)
            }
            Ok(Some(t)) => {
                self.stats.applied += 1;
                Ok(Applied::Event(t))
            }
            Err(e) => {
                self.stats.rejected[e.reason.index()] += 1;
                Err(e)
            }
        }
    }

    /// Applies a routed credit read at `offset` of input slot `slot`,
    /// skipping it when the helper's state already holds that offset.
    pub fn apply_credit_from(
        &mut self,
        credit: &Credit,
        slot: usize,
        offset: i64,
    ) -> CreditOutcome {
        if self.holds(&credit.rep_id, slot, offset) {
            self.stats.already_applied += 1;
            return CreditOutcome::AlreadyApplied;
        }
        self.source = Some((slot, offset));
        let outcome = self.apply_credit(credit);
        self.source = None;
        outcome
    }

    /// Whether `rep_id`'s state already holds the record at `offset` of `slot`.
    fn holds(&self, rep_id: &str, slot: usize, offset: i64) -> bool {
        self.reps
            .get(rep_id)
            .and_then(|rs| rs.applied.get(slot))
            .is_some_and(|&last| last >= offset)
    }

    /// Records the current source offset in a rep's state (called when a
    /// record changes the rep).
    pub(super) fn note_source(source: Option<(usize, i64)>, rs: &mut RepState) {
        if let Some((slot, offset)) = source {
            if rs.applied.len() <= slot {
                rs.applied.resize(slot + 1, -1);
            }
            rs.applied[slot] = offset;
        }
    }

    /// The reps changed since the last call, sorted (their changelog records are due).
    pub fn take_unsaved(&mut self) -> Vec<Box<str>> {
        let mut ids = std::mem::take(&mut self.unsaved);
        for id in &ids {
            if let Some(rs) = self.reps.get_mut(id) {
                rs.unsaved = false;
            }
        }
        ids.sort_unstable();
        ids
    }

    /// A rep's changelog record value, or None for an unknown rep.
    pub fn snapshot(&self, rep_id: &str) -> Option<Vec<u8>> {
        let rs = self.reps.get(rep_id)?;
        let out = SnapshotOut {
            stream_time: self.stream_time,
            state: rs,
            detect: &rs.detect,
            ext: &rs.detect.ext,
            incentive: &rs.incentive,
            week: &rs.week,
            coached: &rs.coached,
            history: &rs.history,
            day_close: &rs.day_close,
        };
        postcard::to_extend(&out, vec![SNAPSHOT_FORMAT]).ok()
    }

    /// Loads a rep's changelog record (a record for the same rep replaces
    /// an earlier one unless that one had applied more of the input). Call [`Engine::finish_restore`] after the last.
    pub fn restore_rep(&mut self, rep_id: &str, bytes: &[u8]) -> Result<(), SnapshotError> {
        let rep = || rep_id.to_string();
        let (&format, body) = bytes.split_first().ok_or_else(|| SnapshotError::Corrupt {
            rep: rep(),
            reason: "empty value".into(),
        })?;
        let corrupt = |e: postcard::Error| SnapshotError::Corrupt {
            rep: rep(),
            reason: e.to_string(),
        };
        if !(SNAPSHOT_FORMAT_MIN..=SNAPSHOT_FORMAT).contains(&format) {
            return Err(SnapshotError::Version {
                rep: rep(),
                got: format,
            });
        }
        let (stream_time, state) = decode_body(format, body).map_err(corrupt)?;
        // A rep's state only moves forward through its input, so of two
        // records the one that applied more is the newer, whatever order the
        // broker kept them in (a retried produce can land after a later one).
        if let Some(held) = self.reps.get(rep_id) {
            if progress(held) > progress(&state) {
                return Ok(());
            }
        }
        self.stream_time = self.stream_time.max(stream_time);
        self.reps.insert(rep_id.into(), state);
        self.index_pending_credits(rep_id);
        Ok(())
    }

    /// After a restore: re-emits what records at or after `committed` of
    /// input slot `slot` may have emitted before the process stopped. A
    /// rep whose restored state already holds such a record will skip it
    /// when it is redelivered, so the score record, the corrected period
    /// summaries and the alert records it caused could otherwise be lost
    /// with the outputs that were still in flight. For each such rep: its
    /// score record is due, so is the summary of every closed period still
    /// kept, and its open alerts are raised again (same alert ids and
    /// versions, so consumers see no change). Returns the number of reps.
    pub fn reemit_beyond(&mut self, slot: usize, committed: i64) -> usize {
        let t = self.stream_time;
        let mut ids: Vec<Box<str>> = self
            .reps
            .iter()
            .filter(|(_, rs)| rs.applied.get(slot).is_some_and(|&o| o >= committed))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_unstable();
        for id in &ids {
            let Some(rs) = self.reps.get_mut(id) else {
                continue;
            };
            if !rs.dirty {
                rs.dirty = true;
                self.dirty.push(id.clone());
            }
            for kind in self.cfg.summary_periods.iter().copied() {
                for (p, _) in rs.periods.entries(kind) {
                    if p.end <= t {
                        self.summaries_due.insert((id.clone(), kind, p.start));
                    }
                }
            }
            self.detection.out.extend(rs.detect.open.iter().cloned());
        }
        ids.len()
    }

    /// Sets the current calendar periods from the restored stream time.
    pub fn finish_restore(&mut self) {
        if self.stream_time != i64::MIN {
            let t = self.stream_time;
            self.current =
                salespulse_window::PeriodKind::ALL.map(|k| self.cfg.calendar.period(k, t));
        }
    }
}

/// How far a rep's state got through its input: the sum over input slots of
/// the offset of the last record applied (never decreases as records apply).
fn progress(rs: &RepState) -> i64 {
    rs.applied.iter().map(|&o| o.max(0)).sum()
}
