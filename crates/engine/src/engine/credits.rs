//! Assist credits: handed out by the engine that applies a won deal (or
//! routed to the helper's partition), applied once per deal and helper,
//! and deferred until stream time reaches them.

use std::cmp::Reverse;

use salespulse_kpi::SalesAcc;

use super::Engine;
use crate::accept::is_kept;
use crate::feature::credit::{self, Credit, CreditOutcome};
use crate::outbox::Output;
use crate::reps;

impl Engine {
    /// Hands out or applies the credit of an accepted `deal.won` for `helper`.
    pub(super) fn credit_assist(&mut self, helper: &str, event_id: &str, e: i64) {
        self.stats.credits += 1;
        if self.route_credits {
            self.outbox.push(Output::Credit(Credit {
                rep_id: helper.into(),
                event_id: event_id.into(),
                occurred_at_ms: e,
            }));
        } else {
            self.credit_one(helper, credit::credit_id(event_id, helper), e);
        }
    }

    /// Applies a credit routed from another engine. Stream time belongs to
    /// the partition's own events: a credit never moves it. A credit older
    /// than everything kept is dropped; one newer than stream time waits in
    /// the helper's state until the partition's events reach its time, so
    /// the result does not depend on how far apart partitions are consumed.
    pub fn apply_credit(&mut self, c: &Credit) -> CreditOutcome {
        let e = c.occurred_at_ms;
        let id = credit::credit_id(&c.event_id, &c.rep_id);
        let outcome = if e > self.stream_time {
            let rs = reps::entry(&mut self.reps, &c.rep_id, &self.cfg.specs);
            if rs.features.credit.defer(id, e) {
                rs.core.note_source(self.source);
                self.marks.unsaved(&c.rep_id, &mut rs.core);
                self.credits_due.push(Reverse((e, c.rep_id.clone())));
                CreditOutcome::Deferred
            } else {
                CreditOutcome::Duplicate
            }
        } else if !is_kept(&self.cfg, &self.current, e, self.stream_time) {
            self.stats.credits_too_late += 1;
            CreditOutcome::TooLate
        } else if self.credit_one(&c.rep_id, id, e) {
            CreditOutcome::Applied
        } else {
            CreditOutcome::Duplicate
        };
        self.settle();
        outcome
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
            for (e, id) in rs.features.credit.take_due(t) {
                self.credit_one(&helper, id, e);
            }
        }
    }

    /// Adds one assist to `helper` unless this credit was applied before.
    pub(super) fn credit_one(&mut self, helper: &str, id: u64, e: i64) -> bool {
        let t = self.stream_time;
        let cfg = &self.cfg;
        let keep = credit::retention_ms(cfg);
        let rs = reps::entry(&mut self.reps, helper, &cfg.specs);
        if !rs.features.credit.first(id, e, t, keep) {
            return false;
        }
        rs.core.note_source(self.source);
        self.marks.dirty(helper, &mut rs.core);
        self.marks.unsaved(helper, &mut rs.core);
        for p in rs.add(cfg, &self.current, t, e, &SalesAcc::assist()) {
            self.marks.summary_due(helper, &p);
        }
        true
    }
}
