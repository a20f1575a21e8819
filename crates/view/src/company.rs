//! The company-wide view every instance keeps: the latest score record of
//! every rep, read from the compacted score topic (small: one record per
//! rep), with the facts that arrive on the KPI, coaching, period and
//! statement topics ([`crate::details`]), so queries do not depend on which
//! instance owns which partition.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use dashmap::DashMap;
use salespulse_model::record::{CoachingRecord, RecordKind, ScoreRecord, StatementRecord};
use salespulse_model::AlertRecord;

use crate::ranks::{CloseEntry, RankTracker};
use crate::Rec;

/// A view fed from a topic's records.
pub trait Offer: Send + Sync + 'static {
    /// Takes one record (its JSON bytes) of `partition`; `live` once the
    /// record was written after the view started (not history).
    fn offer(&self, partition: i32, payload: &[u8], live: bool);

    /// [`offer`](Self::offer) with the record's `salespulse.head` header,
    /// when it has one: a view that only needs the head reads it instead of
    /// the payload.
    fn offer_with_head(&self, partition: i32, payload: &[u8], head: Option<&[u8]>, live: bool) {
        let _ = head;
        self.offer(partition, payload, live);
    }

    /// The topic has `n` partitions.
    fn partitions(&self, _n: usize) {}
}

impl Offer for CompanyView {
    fn offer(&self, partition: i32, payload: &[u8], live: bool) {
        CompanyView::offer_from(self, partition, payload, live);
    }

    fn offer_with_head(&self, partition: i32, payload: &[u8], head: Option<&[u8]>, live: bool) {
        self.offer_headed(partition, payload, head, live);
    }

    fn partitions(&self, n: usize) {
        if let Some(ranks) = &self.ranks {
            ranks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_partitions(n);
        }
    }
}

/// What the view reads of every record (the `salespulse.head` header's
/// fields, also found in the record itself): the rest is parsed when
/// queried.
#[derive(serde::Deserialize)]
struct Head<'a> {
    /// Absent from score records (their `schema` says it).
    #[serde(default)]
    kind: RecordKind,
    #[serde(borrow)]
    rep_id: Cow<'a, str>,
    seq: u64,
    #[serde(borrow)]
    as_of: Option<Cow<'a, str>>,
    #[serde(borrow)]
    team_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    profile: Option<ProfileHead<'a>>,
    #[serde(borrow)]
    day_close: Option<CloseHead<'a>>,
}

#[derive(serde::Deserialize)]
struct ProfileHead<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(serde::Deserialize)]
struct CloseHead<'a> {
    #[serde(borrow)]
    as_of: Cow<'a, str>,
    score: f64,
}

/// A record's `schema` field, to route records without the head header.
#[derive(serde::Deserialize)]
struct SchemaOnly<'a> {
    #[serde(borrow)]
    schema: Cow<'a, str>,
}

fn millis(rfc3339: &str) -> Option<i64> {
    salespulse_model::Timestamp::parse_rfc3339(rfc3339)
        .ok()
        .map(|t| t.0)
}

/// `rank_change` alerts waiting for the publisher beyond which the oldest
/// are dropped, so a stalled alert topic cannot grow the view without bound.
pub const MAX_PENDING_RANK_ALERTS: usize = 100_000;

/// The `seq`s of the KPI and last periods records a record was joined with.
type Joined = (Option<u64>, Option<u64>);

/// One rep's latest record: its bytes, parsed on the first query. Every
/// instance reads every score record (one per changed rep and emit
/// interval); parsing each took about as much CPU as the scoring itself,
/// while queries need only what changed since the last one.
#[derive(Debug)]
struct Entry {
    seq: u64,
    raw: Box<[u8]>,
    parsed: OnceLock<Option<Rec>>,
    /// The record joined with the rep's KPI and last periods records of
    /// these `seq`s: built once per triple, not per query (`all()` answers
    /// every request).
    joined: Mutex<Option<(Joined, Rec)>>,
}

impl Entry {
    fn record(&self) -> Option<Rec> {
        self.parsed
            .get_or_init(|| match serde_json::from_slice::<ScoreRecord>(&self.raw) {
                Ok(r) => Some(Arc::new(r)),
                Err(e) => {
                    tracing::warn!(error = %e, "view: a score record does not read as one");
                    None
                }
            })
            .clone()
    }
}

/// Latest score record per rep (highest `seq`), and the company-wide
/// ranks at working-day closes (`rank_change`, see [`crate::ranks`]).
/// The records sit in a concurrent map: HTTP readers never wait for the
/// follower, nor it for them.
#[derive(Debug, Default)]
pub struct CompanyView {
    reps: DashMap<String, Arc<Entry>>,
    details: crate::details::Details,
    ranks: Option<Mutex<RankTracker>>,
    /// `rank_change` alerts not yet taken by the publisher.
    pending: Mutex<Vec<AlertRecord>>,
    /// The most `pending` keeps (0: [`MAX_PENDING_RANK_ALERTS`]).
    pending_cap: usize,
}

impl CompanyView {
    /// A view that also tracks ranks and raises `rank_change` for moves of
    /// at least `min_places`.
    pub fn with_ranks(min_places: u32) -> Self {
        CompanyView {
            ranks: Some(Mutex::new(RankTracker::new(min_places))),
            ..CompanyView::default()
        }
    }

    /// The `rank_change` alerts raised since the last call.
    pub fn take_rank_alerts(&self) -> Vec<AlertRecord> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Keeps `payload` if it is a score record newer than what the view has.
    pub fn offer(&self, payload: &[u8]) {
        self.offer_from(0, payload, false);
    }

    /// [`offer`](Self::offer) of a record of `partition`; ranks completed
    /// by a `live` record raise their alerts.
    pub fn offer_from(&self, partition: i32, payload: &[u8], live: bool) {
        self.offer_headed(partition, payload, None, live);
    }

    /// [`offer_from`](Self::offer_from) reading the record's head from its
    /// `salespulse.head` header when given (the same fields, without
    /// parsing the whole record), else (or when the header does not parse)
    /// from the record.
    pub fn offer_headed(&self, partition: i32, payload: &[u8], head: Option<&[u8]>, live: bool) {
        if head.is_none() {
            if let Ok(s) = serde_json::from_slice::<SchemaOnly<'_>>(payload) {
                if self.details.offer(&s.schema, payload) {
                    return;
                }
            }
        }
        let parsed = head
            .and_then(|h| serde_json::from_slice::<Head<'_>>(h).ok())
            .or_else(|| serde_json::from_slice::<Head<'_>>(payload).ok());
        let Some(head) = parsed.filter(|h| h.kind == RecordKind::Score) else {
            return;
        };
        if let (Some(_), Some(as_of)) = (&self.ranks, head.as_of.as_deref().and_then(millis)) {
            self.observe_close(partition, &head, as_of, live);
        }
        let newer = self
            .reps
            .get(head.rep_id.as_ref())
            .is_none_or(|e| head.seq > e.seq);
        if newer {
            let entry = Entry {
                seq: head.seq,
                raw: payload.into(),
                parsed: OnceLock::new(),
                joined: Mutex::new(None),
            };
            self.reps.insert(head.rep_id.into_owned(), Arc::new(entry));
        }
    }

    /// Feeds the rank tracker; ranks completed by a `live` record queue
    /// their alerts for the publisher.
    fn observe_close(&self, partition: i32, head: &Head<'_>, as_of: i64, live: bool) {
        let Some(ranks) = &self.ranks else { return };
        let close = head.day_close.as_ref().and_then(|c| {
            Some((
                millis(&c.as_of)?,
                CloseEntry {
                    role: head.profile.as_ref()?.name.to_string(),
                    team: head.team_id.as_deref().map(str::to_string),
                    score: c.score,
                },
            ))
        });
        let alerts = ranks.lock().unwrap_or_else(|e| e.into_inner()).observe(
            partition,
            &head.rep_id,
            as_of,
            close,
        );
        if !live || alerts.is_empty() {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend(alerts);
        let cap = match self.pending_cap {
            0 => MAX_PENDING_RANK_ALERTS,
            n => n,
        };
        if pending.len() > cap {
            let excess = pending.len() - cap;
            pending.drain(..excess);
            tracing::warn!(
                dropped = excess,
                "rank_change: the publisher fell behind; the oldest alerts were dropped"
            );
        }
    }

    /// The latest record of a rep, with its KPI table, forecast and last
    /// periods from their own topics.
    pub fn rep(&self, rep_id: &str) -> Option<Rec> {
        let entry = self.reps.get(rep_id).map(|e| e.value().clone())?;
        self.joined(&entry)
    }

    /// An entry's record joined with the rep's latest KPI and last
    /// periods records.
    fn joined(&self, e: &Entry) -> Option<Rec> {
        let rec = e.record()?;
        let k = self.details.kpis(&rec.rep_id);
        let l = self.details.last_periods(&rec.rep_id);
        if k.is_none() && l.is_none() {
            return Some(rec);
        }
        let seqs = (k.as_ref().map(|k| k.seq), l.as_ref().map(|l| l.seq));
        let mut cache = e.joined.lock().unwrap_or_else(|p| p.into_inner());
        match &*cache {
            Some((at, r)) if *at == seqs => Some(r.clone()),
            _ => {
                let r = crate::details::joined(&rec, k.as_deref(), l.as_deref());
                *cache = Some((seqs, r.clone()));
                Some(r)
            }
        }
    }

    /// Every rep's latest record, as [`rep`](Self::rep) gives it.
    pub fn all(&self) -> Vec<Rec> {
        let entries: Vec<Arc<Entry>> = self.reps.iter().map(|e| e.value().clone()).collect();
        entries.iter().filter_map(|e| self.joined(e)).collect()
    }

    /// The rep's latest coaching (`salespulse.coaching`).
    pub fn coaching(&self, rep_id: &str) -> Option<Arc<CoachingRecord>> {
        self.details.coaching(rep_id)
    }

    /// The rep's latest commission statement (`salespulse.statements`).
    pub fn statement(&self, rep_id: &str) -> Option<Arc<StatementRecord>> {
        self.details.statement(rep_id)
    }

    /// Reps in the view.
    pub fn len(&self) -> usize {
        self.reps.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn record(rep: &str, version: u64, score: f64) -> Vec<u8> {
        let mut r = sample::record(rep, "t1", "direct", score);
        r.seq = version;
        serde_json::to_vec(&r).unwrap()
    }

    /// A score record of a one-partition topic closing `day` (0-based),
    /// with `score` at the close; like the engine's, it carries the stream
    /// time before the close, so the next close's records complete it.
    fn close_record(rep: &str, day: i64, version: u64, score: f64) -> Vec<u8> {
        let at = |ms: i64| salespulse_model::Timestamp(ms).to_rfc3339();
        let close = 1_773_187_200_000 + day * 86_400_000;
        let mut r = sample::record(rep, "t1", "direct", score);
        r.seq = version;
        r.as_of = at(close - 3_600_000);
        r.day_close = Some(salespulse_model::record::DayClose {
            as_of: at(close),
            score,
        });
        serde_json::to_vec(&r).unwrap()
    }

    #[test]
    fn rank_alerts_nobody_takes_are_capped_oldest_first() {
        let v = CompanyView {
            pending_cap: 20,
            ..CompanyView::with_ranks(3)
        };
        v.partitions(1);
        // Ten reps whose order reverses at every close: most move 3+ places.
        for day in 0..12 {
            for i in 0..10 {
                let score = if day % 2 == 0 {
                    i as f64
                } else {
                    10.0 - i as f64
                };
                v.offer_from(
                    0,
                    &close_record(&format!("r{i}"), day, day as u64 + 1, score),
                    true,
                );
            }
        }
        let kept = v.take_rank_alerts();
        assert_eq!(kept.len(), 20);
        // The newest survive: the last ranked close's moves are all there.
        let last = kept.last().unwrap().started_at.clone();
        assert!(kept.iter().filter(|a| a.started_at == last).count() >= 6);
        assert!(kept.iter().all(|a| a.started_at >= kept[0].started_at));
        assert!(v.take_rank_alerts().is_empty());
    }

    #[test]
    fn a_records_head_header_is_read_instead_of_the_record() {
        let v = CompanyView::default();
        let r = record("r1", 2, 50.0);
        // The head decides: an older version in the head is ignored even
        // though the record says newer, and a record is kept under the rep
        // its head names.
        v.offer_headed(
            0,
            &r,
            Some(br#"{"kind":"score","rep_id":"r1","seq":2}"#),
            false,
        );
        v.offer_headed(
            0,
            &record("r1", 9, 1.0),
            Some(br#"{"kind":"score","rep_id":"r1","seq":1}"#),
            false,
        );
        assert_eq!(v.rep("r1").unwrap().score, Some(50.0));
        v.offer_headed(
            0,
            &r,
            Some(br#"{"kind":"score","rep_id":"r3","seq":1}"#),
            false,
        );
        assert!(v.rep("r3").is_some());
        // Without the header, or with one that does not parse, the record itself.
        v.offer_with_head(0, &record("r4", 1, 5.0), None, false);
        assert_eq!(v.rep("r4").unwrap().score, Some(5.0));
        v.offer_with_head(0, &record("r5", 1, 6.0), Some(b"{not json"), false);
        assert_eq!(v.rep("r5").unwrap().score, Some(6.0));
    }

    #[test]
    fn keeps_the_newest_score_record_per_rep_and_parses_it_on_query() {
        let v = CompanyView::default();
        v.offer(&record("r1", 2, 50.0));
        v.offer(&record("r1", 1, 10.0)); // older: ignored
        let mut summary = sample::record("r1", "t1", "direct", 99.0);
        summary.kind = RecordKind::PeriodSummary;
        summary.seq = 9;
        v.offer(&serde_json::to_vec(&summary).unwrap()); // not a score record
        let escaped = String::from_utf8(record("r2", 1, 70.0))
            .unwrap()
            .replace(r#""rep_id":"r2""#, r#""rep_id":"r\u0032""#);
        v.offer(escaped.as_bytes());
        v.offer(b"not json");
        assert_eq!(v.len(), 2);
        let r1 = v.rep("r1").unwrap();
        assert_eq!(r1.score, Some(50.0));
        assert_eq!(r1.components[0].kpi, "revenue");
        assert_eq!(v.rep("r2").unwrap().score, Some(70.0));
        v.offer(&record("r1", 3, 60.0));
        assert_eq!(v.rep("r1").unwrap().score, Some(60.0));
        let mut all: Vec<f64> = v.all().iter().filter_map(|r| r.score).collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, [60.0, 70.0]);
    }

    #[test]
    fn a_record_that_is_not_a_score_record_is_not_answered() {
        let v = CompanyView::default();
        // The head reads, the record does not: kept, but no answer from it.
        v.offer(br#"{"kind":"score","rep_id":"r1","seq":1,"score":"high"}"#);
        assert_eq!(v.len(), 1);
        assert!(v.rep("r1").is_none());
        assert!(v.all().is_empty());
    }
}
