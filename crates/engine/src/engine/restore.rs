//! Restoring a partition's reps from the changelog, and re-queuing what
//! the previous owner may have emitted past the committed offset.

use std::cmp::Reverse;

use salespulse_window::PeriodKind;

use super::Engine;
use crate::{changelog, SnapshotError};

impl Engine {
    /// Loads a rep's changelog record (a record for the same rep replaces
    /// an earlier one unless that one had applied more of the input). Call
    /// [`Engine::finish_restore`] after the last.
    pub fn restore_rep(&mut self, rep_id: &str, bytes: &[u8]) -> Result<(), SnapshotError> {
        let (stream_time, state) = changelog::decode(rep_id, bytes)?;
        // A rep's state only moves forward through its input, so of two
        // records the one that applied more is the newer, whatever order the
        // broker kept them in (a retried produce can land after a later one).
        if let Some(held) = self.reps.get(rep_id) {
            if held.core.progress() > state.core.progress() {
                return Ok(());
            }
        }
        self.stream_time = self.stream_time.max(stream_time);
        for e in state.features.credit.pending_times() {
            self.credits_due.push(Reverse((e, rep_id.into())));
        }
        self.reps.insert(rep_id.into(), state);
        Ok(())
    }

    /// Sets the current calendar periods from the restored stream time.
    pub fn finish_restore(&mut self) {
        if self.stream_time != i64::MIN {
            let t = self.stream_time;
            self.current = PeriodKind::ALL.map(|k| self.cfg.calendar.period(k, t));
        }
    }

    /// After a restore: re-queues what records at or after `committed` of
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
            .filter(|(_, rs)| rs.core.applied.get(slot).is_some_and(|&o| o >= committed))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_unstable();
        for id in &ids {
            let Some(rs) = self.reps.get_mut(id) else {
                continue;
            };
            self.marks.dirty(id, &mut rs.core);
            for kind in self.cfg.summary_periods.iter().copied() {
                for (p, _) in rs.core.periods.entries(kind) {
                    if p.end <= t {
                        self.marks.summary_due(id, p);
                    }
                }
            }
            self.alerts
                .extend(rs.features.detect.open().iter().cloned());
        }
        self.settle();
        ids.len()
    }
}
