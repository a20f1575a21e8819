//! The door out: what a flush queues (score records with what goes with
//! them, due period summaries), the changelog records of a checkpoint, and
//! the outbox drained in the order it was filled.

use super::Engine;
use crate::changelog;
use crate::outbox::{Emit, Output, Outputs};
use crate::record::{queue_record, score_record, summary_record};

impl Engine {
    /// Queues what `emit` asks for (see [`Emit`]); the outbox then holds it.
    pub fn flush(&mut self, emit: Emit) {
        self.settle();
        self.queue_due_summaries();
        match emit {
            Emit::Summaries => {}
            Emit::Changed => {
                let ids = std::mem::take(&mut self.marks.dirty);
                self.score_reps(ids, false);
            }
            Emit::ChangedWithKpis => {
                let mut ids = std::mem::take(&mut self.marks.dirty);
                for id in std::mem::take(&mut self.marks.kpis_stale) {
                    if self.reps.get(&id).is_some_and(|rs| !rs.core.dirty) {
                        ids.push(id);
                    }
                }
                self.score_reps(ids, true);
            }
            Emit::All => {
                let mut ids: Vec<Box<str>> = self.reps.keys().cloned().collect();
                ids.sort_unstable();
                self.marks.dirty.clear();
                self.marks.kpis_stale.clear();
                self.score_reps(ids, true);
            }
        }
    }

    /// Queues the changelog record of every rep changed since the last
    /// checkpoint ([`Output::State`]), sorted by rep_id.
    pub fn checkpoint(&mut self) {
        let mut ids = std::mem::take(&mut self.marks.unsaved);
        ids.sort_unstable();
        for id in ids {
            let Some(rs) = self.reps.get_mut(&id) else {
                continue;
            };
            rs.core.unsaved = false;
            if let Ok(bytes) = changelog::encode(self.stream_time, rs) {
                self.outbox.push(Output::State { rep_id: id, bytes });
            }
        }
    }

    /// Takes everything the outbox holds, in the order it was queued.
    pub fn drain(&mut self) -> Outputs {
        self.settle();
        self.outbox.take()
    }

    /// Outputs queued and not yet drained.
    pub fn queued(&self) -> usize {
        self.outbox.len() + self.alerts.len()
    }

    /// Queues the current score record of each rep in `ids`, each with
    /// its KPI record when `kpis` (or the rep never had one).
    pub(super) fn score_reps(&mut self, ids: Vec<Box<str>>, kpis: bool) {
        let t = self.stream_time;
        if t == i64::MIN {
            // No event yet, only credits waiting for one: no time to score at.
            return;
        }
        let floor = self.version_floor();
        if !ids.is_empty() {
            self.clock.at(&self.cfg, t, &self.current);
        }
        for id in ids {
            if let Some(rs) = self.reps.get_mut(&id) {
                rs.core.dirty = false;
                let (cfg, names) = (&self.cfg, &self.names);
                let with_kpis = kpis || !rs.sent.kpis;
                let rec = score_record(cfg, names, &id, rs, &self.clock, floor, with_kpis);
                if !with_kpis && !rs.sent.kpis_stale {
                    rs.sent.kpis_stale = true;
                    self.marks.kpis_stale.push(id.clone());
                }
                queue_record(&mut self.outbox, cfg, names, rs, rec);
                self.stats.scores_emitted += 1;
            }
        }
    }

    /// Queues the period summaries that are due again: closed periods that
    /// late events (or refunds, for the commission statement) changed,
    /// once each however many events changed them since the last flush.
    pub(super) fn queue_due_summaries(&mut self) {
        if self.marks.summaries_due.is_empty() {
            return;
        }
        let t = self.stream_time;
        let floor = self.version_floor();
        let mut due: Vec<_> = self.marks.summaries_due.drain().collect();
        due.sort_unstable();
        for (id, kind, start) in due {
            let p = self.cfg.calendar.period(kind, start);
            let Some(rs) = self.reps.get_mut(&id) else {
                continue;
            };
            if rs.core.periods.get(&p).is_some() || rs.features.commission.closed_sums(&p).is_some()
            {
                let (cfg, names) = (&self.cfg, &self.names);
                let rec = summary_record(cfg, &id, rs, t, p, &self.clock, floor);
                queue_record(&mut self.outbox, cfg, names, rs, (rec, None));
                self.stats.summaries_emitted += 1;
                self.marks.unsaved(&id, &mut rs.core);
            }
        }
    }
}
