//! `rank_change` in replay: the records replay emits go through the same
//! company-wide rank tracker as the live service's score-topic view, each
//! under the partition its rep's key maps to, so `--alerts` carries the
//! same `rank_change` alerts the live service publishes.

use salespulse_model::record::{RecordKind, ScoreRecord};
use salespulse_model::{AlertRecord, Timestamp};
use salespulse_view::ranks::{CloseEntry, RankTracker};

/// The tracker and the partition count it routes by.
pub struct Ranks {
    tracker: RankTracker,
    partitions: i32,
}

impl Ranks {
    /// Ranks over `partitions` partitions, alerting on moves of `min_places`.
    pub fn new(min_places: u32, partitions: u16) -> Self {
        let mut tracker = RankTracker::new(min_places);
        tracker.set_partitions(usize::from(partitions));
        Ranks {
            tracker,
            partitions: i32::from(partitions),
        }
    }

    /// Feeds emitted records; returns the alerts of closes they completed.
    pub fn observe(&mut self, records: &[ScoreRecord]) -> Vec<AlertRecord> {
        let mut out = Vec::new();
        for r in records.iter().filter(|r| r.kind == RecordKind::Score) {
            let Ok(as_of) = Timestamp::parse_rfc3339(&r.as_of) else {
                continue;
            };
            let close = r.day_close.as_ref().and_then(|c| {
                let at = Timestamp::parse_rfc3339(&c.as_of).ok()?;
                Some((
                    at.0,
                    CloseEntry {
                        role: r.profile.name.clone(),
                        team: r.team_id.clone(),
                        score: c.score,
                    },
                ))
            });
            let p = salespulse_pipeline::partition_for(r.rep_id.as_bytes(), self.partitions);
            out.extend(self.tracker.observe(p, &r.rep_id, as_of.0, close));
        }
        out
    }
}
