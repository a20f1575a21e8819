//! Recognising re-sends: a rep's recently applied event ids, by arrival.

use salespulse_window::ReleaseSpare;

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
}
