//! `rank_change`: company-wide ranks at working-day closes, from the score
//! topic. At each close every engine scores each of its reps
//! (`day_close` in the score record, the same in every run and in replay)
//! and emits those records ahead of anything after the close. So a
//! partition is past a close once it shows an `as_of` at or after the
//! close; when every partition that has records is past it, the close's
//! scores are ranked within each role (profile) and compared with the
//! previous close's ranks. A rep that moved by at least `min_places` gets
//! an info alert, with an id made of the rep and the close, so a repeat
//! publication (a handover of partition 0) is recognisably the same alert.

use std::collections::{BTreeMap, HashMap};

use salespulse_model::record::Num;
use salespulse_model::{AlertKind, AlertRecord, AlertStatus, Severity, Timestamp};

/// One rep's score at a close.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseEntry {
    /// The profile that scored it (ranks are within it).
    pub role: String,
    /// Team, for the alert.
    pub team: Option<String>,
    /// Score at the close.
    pub score: f64,
}

/// Closes kept waiting for a partition that does not move on (one without
/// reps, or stopped): beyond this the oldest is dropped unranked, so memory
/// stays bounded (about 100 bytes per rep per close).
pub const MAX_WAITING: usize = 10;

/// Each rep's (role, rank, of) at a close.
type Ranks = HashMap<String, (String, u32, u32)>;

/// Company-wide ranks at working-day closes.
#[derive(Debug, Default)]
pub struct RankTracker {
    min_places: u32,
    /// Close (day end, ms) -> rep -> its score there.
    closes: BTreeMap<i64, BTreeMap<String, CloseEntry>>,
    /// Per partition: the latest `as_of` seen.
    seen: HashMap<i32, i64>,
    /// Partitions of the score topic: each must be past a close (a
    /// partition without reps holds the ranking back).
    expected: usize,
    /// The last close ranked, and each rep's (role, rank, of) there.
    last: Option<(i64, Ranks)>,
}

impl RankTracker {
    /// A tracker alerting on moves of at least `min_places` (>= 1).
    pub fn new(min_places: u32) -> Self {
        RankTracker {
            min_places: min_places.max(1),
            ..RankTracker::default()
        }
    }

    /// Waits for `n` partitions (the score topic's) before ranking a close.
    pub fn set_partitions(&mut self, n: usize) {
        self.expected = n;
    }

    /// Takes one score record of `partition` (its `as_of`, and its score at
    /// the last close if it has one); returns the alerts of closes this
    /// record completed.
    pub fn observe(
        &mut self,
        partition: i32,
        rep: &str,
        as_of: i64,
        close: Option<(i64, CloseEntry)>,
    ) -> Vec<AlertRecord> {
        if let Some((day_end, entry)) = close {
            let done = self.last.as_ref().is_some_and(|(d, _)| day_end <= *d);
            if !done {
                self.closes
                    .entry(day_end)
                    .or_default()
                    .insert(rep.to_string(), entry);
                while self.closes.len() > MAX_WAITING {
                    self.closes.pop_first();
                }
            }
        }
        let seen = self.seen.entry(partition).or_insert(as_of);
        *seen = (*seen).max(as_of);
        let mut out = Vec::new();
        while let Some((&day_end, _)) = self.closes.first_key_value() {
            if self.seen.len() < self.expected || !self.seen.values().all(|&s| s >= day_end) {
                break;
            }
            let scores = self.closes.remove(&day_end).unwrap_or_default();
            out.extend(self.rank(day_end, &scores));
        }
        out
    }

    /// Ranks one close and returns the alerts of reps that moved enough.
    fn rank(&mut self, day_end: i64, scores: &BTreeMap<String, CloseEntry>) -> Vec<AlertRecord> {
        let mut by_role: HashMap<&str, Vec<f64>> = HashMap::new();
        for e in scores.values() {
            by_role.entry(&e.role).or_default().push(e.score);
        }
        let mut ranks = HashMap::new();
        let mut out = Vec::new();
        for (rep, e) in scores {
            let peers = &by_role[e.role.as_str()];
            let rank = 1 + peers.iter().filter(|&&s| s > e.score).count() as u32;
            let of = peers.len() as u32;
            if let Some((_, before)) = &self.last {
                if let Some((role, old, _)) = before.get(rep).filter(|(r, _, _)| *r == e.role) {
                    if old.abs_diff(rank) >= self.min_places {
                        out.extend(alert(
                            rep,
                            e,
                            role,
                            day_end,
                            *old,
                            rank,
                            of,
                            self.min_places,
                        ));
                    }
                }
            }
            ranks.insert(rep.clone(), (e.role.clone(), rank, of));
        }
        self.last = Some((day_end, ranks));
        out
    }
}

/// The notice of one move: a firing record and its resolution at once
/// (the move is an event, not a condition that lasts).
#[allow(clippy::too_many_arguments)]
fn alert(
    rep: &str,
    e: &CloseEntry,
    role: &str,
    day_end: i64,
    old: u32,
    new: u32,
    of: u32,
    min_places: u32,
) -> [AlertRecord; 2] {
    let at = Timestamp(day_end).to_rfc3339();
    let (dir, suggestion) = if new < old {
        ("up", "Recognise the progress and find out what worked.")
    } else {
        ("down", "Check in: what changed since the previous day?")
    };
    let firing = AlertRecord {
        schema: salespulse_model::output::ALERT.into(),
        alert_id: format!("rank_change:{rep}:{at}"),
        kind: AlertKind::RankChange,
        severity: Severity::Info,
        status: AlertStatus::Firing,
        rep_id: Some(rep.to_string()),
        team_id: e.team.clone(),
        role: Some(role.to_string()),
        source: None,
        started_at: at.clone(),
        resolved_at: None,
        value: Num::Int(i64::from(new)),
        threshold: Num::Int(i64::from(min_places)),
        baseline: Num::Int(i64::from(old)),
        message: format!(
            "{rep} moved {dir} from #{old} to #{new} of {of} in role {role} at the close of {at}"
        ),
        suggestion: suggestion.to_string(),
    };
    let mut resolved = firing.clone();
    resolved.status = AlertStatus::Resolved;
    resolved.resolved_at = Some(at);
    [firing, resolved]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY1: i64 = 1_773_187_200_000; // 2026-03-11T00:00:00Z
    const DAY2: i64 = DAY1 + 86_400_000;

    fn entry(score: f64) -> CloseEntry {
        CloseEntry {
            role: "direct".into(),
            team: Some("t1".into()),
            score,
        }
    }

    /// Partition 0 holds a, b, c; partition 1 holds d, e. At the first close
    /// the order is a 90, b 80, c 70, d 60, e 50; at the second e (95)
    /// jumps from #5 to #1 and a, b, c, d each fall one place. Close
    /// records carry the stream time before the close.
    #[test]
    fn ranks_each_close_once_every_partition_is_past_it() {
        let mut t = RankTracker::new(3);
        let before = |day: i64| day - 3_600_000;
        let first = [
            ("a", 0, 90.0),
            ("b", 0, 80.0),
            ("c", 0, 70.0),
            ("d", 1, 60.0),
            ("e", 1, 50.0),
        ];
        for (rep, p, s) in first {
            assert!(t
                .observe(p, rep, before(DAY1), Some((DAY1, entry(s))))
                .is_empty());
        }
        // Partition 0 moves past the close; partition 1 has not yet.
        assert!(t
            .observe(0, "a", DAY1 + 60_000, Some((DAY1, entry(90.0))))
            .is_empty());
        assert!(t.last.is_none());
        assert!(t
            .observe(1, "d", DAY1 + 120_000, Some((DAY1, entry(60.0))))
            .is_empty());
        assert_eq!(t.last.as_ref().map(|l| l.0), Some(DAY1));

        let second = [
            ("a", 0, 85.0),
            ("b", 0, 75.0),
            ("c", 0, 65.0),
            ("d", 1, 55.0),
            ("e", 1, 95.0),
        ];
        let mut alerts = Vec::new();
        for (rep, p, s) in second {
            alerts.extend(t.observe(p, rep, before(DAY2), Some((DAY2, entry(s)))));
        }
        alerts.extend(t.observe(0, "a", DAY2 + 60_000, None));
        assert!(
            alerts.is_empty(),
            "partition 1 is not past the second close"
        );
        alerts.extend(t.observe(1, "e", DAY2, None));
        // Only e moved by 3 or more places (5 -> 1); the others moved 1.
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        let a = &alerts[0];
        assert_eq!(a.alert_id, "rank_change:e:2026-03-12T00:00:00Z");
        let facts = (a.baseline, a.value, a.threshold);
        assert_eq!(facts, (Num::Int(5), Num::Int(1), Num::Int(3)));
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(alerts[1].status, AlertStatus::Resolved);
        assert!(
            a.message.contains("moved up from #5 to #1 of 5"),
            "{}",
            a.message
        );
        // A close already ranked is not ranked again (a redelivery).
        assert!(t
            .observe(1, "e", DAY2 + 1, Some((DAY2, entry(10.0))))
            .is_empty());
    }

    #[test]
    fn closes_waiting_for_a_partition_that_never_moves_are_bounded() {
        let mut t = RankTracker::new(1);
        t.set_partitions(2);
        for d in 0..30 {
            let day = DAY1 + d * 86_400_000;
            t.observe(0, "a", day - 1, Some((day, entry(50.0))));
            t.observe(0, "a", day, None);
        }
        assert!(t.last.is_none(), "partition 1 never showed a record");
        assert_eq!(t.closes.len(), MAX_WAITING);
    }

    #[test]
    fn ranks_are_within_a_role_and_a_role_change_is_no_move() {
        let mut t = RankTracker::new(1);
        let inside = |s| CloseEntry {
            role: "inside".into(),
            team: None,
            score: s,
        };
        t.observe(0, "a", DAY1 - 1, Some((DAY1, entry(50.0))));
        t.observe(0, "b", DAY1 - 1, Some((DAY1, inside(99.0))));
        t.observe(0, "a", DAY1, None);
        t.observe(0, "a", DAY2 - 1, Some((DAY2, entry(10.0))));
        t.observe(0, "b", DAY2 - 1, Some((DAY2, entry(99.0))));
        let alerts = t.observe(0, "a", DAY2, None);
        // a was #1 of 1 in direct (b was inside) and is #2 of 2: one place
        // down. b changed role, so it did not move.
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!(alerts[0].rep_id.as_deref(), Some("a"));
        let (baseline, value) = (alerts[0].baseline, alerts[0].value);
        assert_eq!((baseline, value), (Num::Int(1), Num::Int(2)));
    }
}
