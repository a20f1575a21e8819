//! A rep's rolling windows, stored as nested *tiers*.
//!
//! Tier k holds the buckets of events whose narrowest containing window is
//! window k. When stream time moves on, a bucket that leaves window k is
//! folded into tier k+1 (its coarser bucket), and a bucket leaving the widest
//! window is dropped. Because windows nest (checked by [`RollingSpecs`]),
//! window k's value is the sum of tiers 0..=k, and every event is stored in
//! exactly one bucket: memory is one bucket per non-empty time slot, not one
//! per slot per window.

use std::collections::VecDeque;

use crate::{Accumulator, ReleaseSpare, RollingSpecs};

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Tier<A> {
    /// Non-empty buckets, ascending by index.
    buckets: VecDeque<(i64, A)>,
    /// Sum of `buckets`.
    total: A,
}

/// A rep's rolling windows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rolling<A> {
    tiers: Vec<Tier<A>>,
    /// Stream time the tiers were last advanced to.
    advanced_to: i64,
    /// Earliest stream time at which some stored bucket leaves its tier.
    next_expiry: i64,
}

impl<A: Accumulator> Rolling<A> {
    /// Empty windows for `specs`.
    pub fn new(specs: &RollingSpecs) -> Self {
        Rolling {
            tiers: specs
                .specs()
                .iter()
                .map(|_| Tier {
                    buckets: VecDeque::new(),
                    total: A::default(),
                })
                .collect(),
            advanced_to: i64::MIN,
            next_expiry: i64::MAX,
        }
    }

    /// When the oldest bucket of each tier leaves it: `(idx + buckets) * bucket`.
    fn recompute_expiry(&mut self, specs: &RollingSpecs) {
        self.next_expiry = self
            .tiers
            .iter()
            .zip(specs.specs())
            .filter_map(|(t, s)| {
                t.buckets
                    .front()
                    .map(|(idx, _)| (idx + s.buckets()) * s.bucket_ms)
            })
            .min()
            .unwrap_or(i64::MAX);
    }

    /// Moves stream time to `t_ms`, folding and expiring buckets. Idempotent.
    pub fn advance(&mut self, specs: &RollingSpecs, t_ms: i64) {
        if t_ms <= self.advanced_to {
            return;
        }
        self.advanced_to = t_ms;
        if t_ms < self.next_expiry {
            return;
        }
        self.fold_and_expire(specs, t_ms);
        self.recompute_expiry(specs);
    }

    fn fold_and_expire(&mut self, specs: &RollingSpecs, t_ms: i64) {
        let specs = specs.specs();
        for k in 0..self.tiers.len() {
            let first_kept = specs[k].index(t_ms) - specs[k].buckets() + 1;
            while let Some((idx, _)) = self.tiers[k].buckets.front() {
                if *idx >= first_kept {
                    break;
                }
                let Some((idx, acc)) = self.tiers[k].buckets.pop_front() else {
                    break;
                };
                self.tiers[k].total.unmerge(&acc);
                if let Some(next) = specs.get(k + 1) {
                    let coarse = (idx * specs[k].bucket_ms).div_euclid(next.bucket_ms);
                    let tier = &mut self.tiers[k + 1];
                    tier.total.merge(&acc);
                    add_bucket(&mut tier.buckets, coarse, &acc);
                }
            }
        }
    }

    /// Adds an event's contribution at `e_ms` (stream time must already be
    /// advanced to `>= e_ms`). Returns false when the event is outside every window.
    pub fn insert(&mut self, specs: &RollingSpecs, e_ms: i64, acc: &A) -> bool {
        let t = self.advanced_to;
        let Some(k) = specs.specs().iter().position(|s| s.contains(t, e_ms)) else {
            return false;
        };
        let tier = &mut self.tiers[k];
        tier.total.merge(acc);
        let idx = specs.specs()[k].index(e_ms);
        add_bucket(&mut tier.buckets, idx, acc);
        self.next_expiry = self
            .next_expiry
            .min((idx + specs.specs()[k].buckets()) * specs.specs()[k].bucket_ms);
        true
    }

    /// The value of window `k` (by position in the specs) at the advanced stream time.
    pub fn window(&self, k: usize) -> A {
        let mut out = self.tiers[0].total.clone();
        for tier in &self.tiers[1..=k] {
            out.merge(&tier.total);
        }
        out
    }

    /// Values of every window, narrowest first, computed in one pass.
    pub fn windows(&self) -> Vec<A> {
        let mut out = Vec::with_capacity(self.tiers.len());
        let mut acc = A::default();
        for tier in &self.tiers {
            acc.merge(&tier.total);
            out.push(acc.clone());
        }
        out
    }

    /// Stored buckets (for memory accounting).
    pub fn bucket_count(&self) -> usize {
        self.tiers.iter().map(|t| t.buckets.len()).sum()
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.tiers.capacity() * std::mem::size_of::<Tier<A>>()
            + self
                .tiers
                .iter()
                .map(|t| t.buckets.capacity() * std::mem::size_of::<(i64, A)>())
                .sum::<usize>()
    }

    /// Releases spare capacity (after a burst).
    pub fn shrink(&mut self) {
        for t in &mut self.tiers {
            t.buckets.release_spare();
        }
    }
}

/// Merges `acc` into the bucket `idx`, keeping ascending order. New data is
/// almost always at the back, so the search runs from there.
fn add_bucket<A: Accumulator>(buckets: &mut VecDeque<(i64, A)>, idx: i64, acc: &A) {
    let mut pos = buckets.len();
    while pos > 0 {
        let i = buckets[pos - 1].0;
        if i == idx {
            buckets[pos - 1].1.merge(acc);
            return;
        }
        if i < idx {
            break;
        }
        pos -= 1;
    }
    if pos == buckets.len() {
        buckets.push_back((idx, acc.clone()));
    } else {
        buckets.insert(pos, (idx, acc.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default, Debug, PartialEq)]
    struct Count(i64);
    impl Accumulator for Count {
        fn merge(&mut self, o: &Self) {
            self.0 += o.0;
        }
        fn unmerge(&mut self, o: &Self) {
            self.0 -= o.0;
        }
    }

    proptest::proptest! {
        /// Each window equals a naive filter of the events by the documented
        /// bucket rule, for arbitrary arrival orders and stream-time jumps.
        #[test]
        fn matches_naive(events in proptest::collection::vec((0i64..40 * 86_400, 0i64..1000), 1..200)) {
            let specs = RollingSpecs::defaults();
            let mut r = Rolling::<Count>::new(&specs);
            let mut seen: Vec<i64> = Vec::new();
            let mut t = i64::MIN;
            for (secs, jitter) in events {
                // Snap a third of the events onto bucket edges, where off-by-one errors live.
                let e = if jitter % 3 == 0 { (secs / 900) * 900_000 } else { secs * 1000 + jitter };
                t = t.max(e);
                r.advance(&specs, t);
                if r.insert(&specs, e, &Count(1)) {
                    seen.push(e);
                } else {
                    proptest::prop_assert!(!specs.widest().contains(t, e));
                }
                for (k, s) in specs.specs().iter().enumerate() {
                    let naive = seen.iter().filter(|&&x| s.contains(t, x)).count() as i64;
                    proptest::prop_assert_eq!(r.window(k).0, naive, "window {} at t={}", s.name, t);
                }
            }
        }
    }
}
