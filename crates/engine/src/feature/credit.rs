//! Assist credits. A won deal credits each assisting rep with one `assists`
//! at the win's `occurred_at`. A single engine (replay) applies the credit
//! at once. In the live service the helper may belong to another partition,
//! so the engine hands credits out instead ([`crate::Output::Credit`]); they
//! travel through the by-rep topic, keyed by the helper, and the helper's
//! owner applies them with [`crate::Engine::apply_credit`]. A credit's id is
//! derived from the deal event's id and the helper, and deduped by the
//! helper, so a credit delivered twice counts once.
//!
//! A rep's part of it (this feature's state): the credits waiting for the
//! partition's stream time to reach them, and the ids of those applied.

use salespulse_window::ReleaseSpare;
use serde::{Deserialize, Serialize};

use super::hooks::Feature;
use crate::{stable_hash, EngineConfig};

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

/// What became of a credit offered to [`crate::Engine::apply_credit`].
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
pub(crate) fn credit_id(event_id: &str, helper: &str) -> u64 {
    stable_hash(event_id) ^ stable_hash(helper).rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15
}

/// How long a credit's time can stay acceptable: the widest rolling
/// window or a quarter, plus the period grace.
pub(crate) fn retention_ms(cfg: &EngineConfig) -> i64 {
    const QUARTER_MS: i64 = 93 * 86_400_000;
    cfg.specs.widest().width_ms.max(QUARTER_MS) + cfg.grace_ms
}

/// A helper's credits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Credits {
    /// Credits ahead of stream time, as (time, credit id), applied when
    /// the partition's events reach them.
    pending: Vec<(i64, u64)>,
    /// Ids of the credits applied, as (time, id), while a credit of that
    /// time could still be accepted (exact dedupe of credits).
    applied: Vec<(i64, u64)>,
}

impl Credits {
    /// Keeps a credit ahead of stream time; false when it is kept already.
    pub(crate) fn defer(&mut self, id: u64, e: i64) -> bool {
        if self.pending.iter().any(|&(_, x)| x == id) {
            return false;
        }
        self.pending.push((e, id));
        true
    }

    /// Times of the credits waiting, for the engine's index of due credits.
    pub(crate) fn pending_times(&self) -> impl Iterator<Item = i64> + '_ {
        self.pending.iter().map(|&(e, _)| e)
    }

    /// Takes the waiting credits whose time stream time `t` has reached.
    pub(crate) fn take_due(&mut self, t: i64) -> Vec<(i64, u64)> {
        let due = self
            .pending
            .iter()
            .copied()
            .filter(|&(e, _)| e <= t)
            .collect();
        self.pending.retain(|&(e, _)| e > t);
        due
    }

    /// Records credit `id` at time `e` unless it was applied while a credit
    /// of its time could still be accepted (stream time `t`, `keep_ms`);
    /// false for a duplicate. Credits are deduped exactly (not within the
    /// event dedupe horizon): a deal re-applied after a crash sends its
    /// credits again as new records, which the helper's input offsets
    /// cannot recognise.
    pub(crate) fn first(&mut self, id: u64, e: i64, t: i64, keep_ms: i64) -> bool {
        let floor = t.saturating_sub(keep_ms);
        if self.applied.len() >= 64 && self.applied.len().is_power_of_two() {
            self.applied.retain(|&(at, _)| at > floor);
        }
        if self.applied.iter().any(|&(at, x)| x == id && at > floor) {
            return false;
        }
        self.applied.push((e, id));
        true
    }
}

impl Feature for Credits {
    fn heap_bytes(&self) -> usize {
        (self.pending.capacity() + self.applied.capacity()) * 16
    }

    fn shrink(&mut self) {
        self.pending.release_spare();
        self.applied.release_spare();
    }
}
