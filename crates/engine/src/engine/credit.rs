//! Assist credits. A won deal credits each assisting rep with one `assists`
//! at the win's `occurred_at`. A single engine (replay) applies the credit
//! at once. In the live service the helper may belong to another partition,
//! so the engine hands credits out instead ([`Engine::set_route_credits`],
//! [`Engine::take_credits`]); they travel through the by-rep topic, keyed by
//! the helper, and the helper's owner applies them with
//! [`Engine::apply_credit`]. A credit's id is derived from the deal event's
//! id and the helper, and deduped by the helper, so a credit delivered twice
//! counts once.

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
                self.credit_one(helper, event_id, e);
            }
        }
    }

    /// Applies a credit routed from another engine. Like an event, a credit
    /// advances stream time and is dropped when older than everything kept.
    pub fn apply_credit(&mut self, credit: &Credit) -> CreditOutcome {
        let e = credit.occurred_at_ms;
        let t = self.stream_time.max(e);
        if !self.is_kept(e, t) {
            self.stats.credits_too_late += 1;
            return CreditOutcome::TooLate;
        }
        self.advance(t);
        if self.credit_one(&credit.rep_id, &credit.event_id, e) {
            CreditOutcome::Applied
        } else {
            CreditOutcome::Duplicate
        }
    }

    /// Adds one assist to `helper` unless this credit was applied before.
    fn credit_one(&mut self, helper: &str, event_id: &str, e: i64) -> bool {
        let t = self.stream_time;
        let cfg = &self.cfg;
        let rs = rep_entry(&mut self.reps, helper, cfg);
        let id =
            stable_hash(event_id) ^ stable_hash(helper).rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
        let fresh = rs.dedupe.check_insert(
            id,
            e,
            t,
            cfg.dedupe_horizon_ms,
            cfg.dedupe_max_per_rep,
            &mut self.stats.dedupe_evicted,
        );
        if fresh {
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
