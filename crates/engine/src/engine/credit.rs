//! Assist credits. A won deal credits each assisting rep with one `assists`
//! at the win's `occurred_at`. A single engine (replay) applies the credit
//! at once. In the live service the helper may belong to another partition,
//! so the engine hands credits out instead ([`Engine::set_route_credits`],
//! [`Engine::take_credits`]); they travel through the by-rep topic, keyed by
//! the helper, and the helper's owner applies them with
//! [`Engine::apply_credit`]. A credit's id is derived from the deal event's
//! id and the helper, and deduped by the helper, so a credit delivered twice
//! counts once.

use std::cmp::Reverse;

use salespulse_kpi::SalesAcc;

use super::{add, rep_entry, Engine, Sink};
use crate::stable_hash;

/// One assist credit for a helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// The helper: the rep credited.
    pub rep_id: Box<str>,
    /// `event_id` of the won deal that names the helper.
    pub event_id: Box<str>,
    /// The win's `occurred_at`, epoch milliseconds.
    pub occurred_at_ms: i64,
}

/// What became of a credit offered to [`Engine::apply_credit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditOutcome {
    /// Added to the helper's windows and periods.
    Applied,
    /// Already applied (same deal event and helper).
    Duplicate,
    /// Older than every kept window and period at the helper's stream time.
    TooLate,
    /// Skipped: the helper's restored state already holds this credit record.
    AlreadyApplied,
    /// Ahead of the partition's stream time: kept, applied when stream time reaches it.
    Deferred,
}

/// A credit's dedupe id: derived from the deal event's id and the helper.
fn credit_id(event_id: &str, helper: &str) -> u64 {
    stable_hash(event_id) ^ stable_hash(helper).rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15
}

impl Engine {
    /// With `true`, credits are collected for [`Engine::take_credits`]
    /// instead of being applied here (the live service routes them).
    pub fn set_route_credits(&mut self, route: bool) {
        self.route_credits = route;
    }

    /// The credits collected since the last call (empty unless routing).
    pub fn take_credits(&mut self) -> Vec<Credit> {
        std::mem::take(&mut self.credits)
    }

    /// Credits collected and not yet taken.
    pub fn pending_credits(&self) -> usize {
        self.credits.len()
    }

    /// Hands out or applies the credits of an accepted `deal.won`.
    pub(super) fn credit_assists<'a>(
        &mut self,
        helpers: impl Iterator<Item = &'a str>,
        event_id: &str,
        e: i64,
    ) {
        for helper in helpers {
            self.stats.credits += 1;
            if self.route_credits {
                self.credits.push(Credit {
                    rep_id: helper.into(),
                    event_id: event_id.into(),
                    occurred_at_ms: e,
                });
            } else {
                self.credit_one(helper, credit_id(event_id, helper), e);
            }
        }
    }

    /// Applies a credit routed from another engine. Stream time belongs to
    /// the partition's own events: a credit never moves it. A credit older
    /// than everything kept is dropped; one newer than stream time waits in
    /// the helper's state until the partition's events reach its time, so
    /// the result does not depend on how far apart partitions are consumed.
    pub fn apply_credit(&mut self, credit: &Credit) -> CreditOutcome {
        let e = credit.occurred_at_ms;
        let id = credit_id(&credit.event_id, &credit.rep_id);
        if e > self.stream_time {
            return self.defer(&credit.rep_id, id, e);
        }
        if !self.is_kept(e, self.stream_time) {
            self.stats.credits_too_late += 1;
            return CreditOutcome::TooLate;
        }
        if self.credit_one(&credit.rep_id, id, e) {
            CreditOutcome::Applied
        } else {
            CreditOutcome::Duplicate
        }
    }

    /// Keeps a credit ahead of stream time in the helper's state.
    fn defer(&mut self, helper: &str, id: u64, e: i64) -> CreditOutcome {
        let rs = rep_entry(&mut self.reps, helper, &self.cfg);
        if rs.pending_credits.iter().any(|&(_, x)| x == id) {
            return CreditOutcome::Duplicate;
        }
        rs.pending_credits.push((e, id));
        Self::note_source(self.source, rs);
        if !rs.unsaved {
            rs.unsaved = true;
            self.unsaved.push(helper.into());
        }
        self.credits_due.push(Reverse((e, helper.into())));
        CreditOutcome::Deferred
    }

    /// Applies the deferred credits whose time stream time has reached.
    pub(super) fn apply_due_credits(&mut self) {
        let t = self.stream_time;
        while self
            .credits_due
            .peek()
            .is_some_and(|Reverse((e, _))| *e <= t)
        {
            let Some(Reverse((_, helper))) = self.credits_due.pop() else {
                break;
            };
            let Some(rs) = self.reps.get_mut(&helper) else {
                continue;
            };
            let due: Vec<(i64, u64)> = rs
                .pending_credits
                .iter()
                .copied()
                .filter(|&(e, _)| e <= t)
                .collect();
            rs.pending_credits.retain(|&(e, _)| e > t);
            for (e, id) in due {
                self.credit_one(&helper, id, e);
            }
        }
    }

    /// How long a credit's time can stay acceptable: the widest rolling
    /// window or a quarter, plus the period grace.
    fn credit_retention_ms(&self) -> i64 {
        const QUARTER_MS: i64 = 93 * 86_400_000;
        self.cfg.specs.widest().width_ms.max(QUARTER_MS) + self.cfg.grace_ms
    }

    /// Re-indexes a restored rep's deferred credits.
    pub(super) fn index_pending_credits(&mut self, rep_id: &str) {
        if let Some(rs) = self.reps.get(rep_id) {
            for &(e, _) in &rs.pending_credits {
                self.credits_due.push(Reverse((e, rep_id.into())));
            }
        }
    }

    /// Adds one assist to `helper` unless this credit was applied before.
    /// Credits are deduped exactly (not within the event dedupe horizon): a
    /// deal re-applied after a crash sends its credits again as new records,
    /// which the helper's input offsets cannot recognise. Ids are kept as
    /// long as a credit of their time could still be accepted.
    fn credit_one(&mut self, helper: &str, id: u64, e: i64) -> bool {
        let t = self.stream_time;
        let keep_ms = self.credit_retention_ms();
        let cfg = &self.cfg;
        let rs = rep_entry(&mut self.reps, helper, cfg);
        if rs.credit_ids.len() >= 64 && rs.credit_ids.len().is_power_of_two() {
            rs.credit_ids
                .retain(|&(at, _)| at > t.saturating_sub(keep_ms));
        }
        let fresh = !rs
            .credit_ids
            .iter()
            .any(|&(at, x)| x == id && at > t.saturating_sub(keep_ms));
        if fresh {
            rs.credit_ids.push((e, id));
            Self::note_source(self.source, rs);
            let mut sink = Sink {
                dirty: &mut self.dirty,
                unsaved: &mut self.unsaved,
                summaries_due: &mut self.summaries_due,
            };
            add(
                cfg,
                &self.current,
                t,
                helper,
                rs,
                e,
                &SalesAcc::assist(),
                &mut sink,
            );
        }
        fresh
    }
}
