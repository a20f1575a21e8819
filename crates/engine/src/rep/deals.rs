//! The creation times of a rep's open deals, for the sales cycle.

use salespulse_window::ReleaseSpare;

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

#[cfg(test)]
mod tests {
    use super::*;

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
