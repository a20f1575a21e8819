//! The alerts every instance can answer for: the latest record of every
//! alert episode, read from the alerts topic (all partitions), so
//! `/v1/alerts` shows the whole company whichever instance is asked.
//! Resolved episodes are kept up to [`RESOLVED_KEPT`], the oldest
//! resolution dropped first; open ones are always kept.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use salespulse_model::{AlertKind, AlertRecord, AlertStatus};

use crate::company::Offer;

/// Resolved episodes remembered.
pub const RESOLVED_KEPT: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<AlertRecord>>,
    /// (resolved_at, alert_id) of the resolved episodes, oldest first.
    resolved: BTreeSet<(String, String)>,
}

/// Latest record per alert episode.
#[derive(Debug, Default)]
pub struct AlertView {
    inner: RwLock<Inner>,
}

/// What `/v1/alerts` filters on; `None` matches everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct AlertFilter<'a> {
    /// Firing or resolved.
    pub status: Option<AlertStatus>,
    /// Team id.
    pub team: Option<&'a str>,
    /// Alert kind.
    pub kind: Option<AlertKind>,
    /// Rep id.
    pub rep: Option<&'a str>,
}

impl AlertFilter<'_> {
    fn matches(&self, a: &AlertRecord) -> bool {
        let is = |have: Option<&str>, want: Option<&str>| want.is_none_or(|w| have == Some(w));
        self.status.is_none_or(|s| a.status == s)
            && self.kind.is_none_or(|k| a.kind == k)
            && is(a.team_id.as_deref(), self.team)
            && is(a.rep_id.as_deref(), self.rep)
    }
}

impl Offer for AlertView {
    fn offer(&self, _partition: i32, payload: &[u8], _live: bool) {
        match serde_json::from_slice(payload) {
            Ok(record) => self.offer_record(record),
            Err(e) => tracing::warn!(error = %e, "view: an alert record does not read as one"),
        }
    }
}

impl AlertView {
    /// Keeps an alert record (the latest per `alert_id`).
    pub fn offer_record(&self, record: AlertRecord) {
        let id = record.alert_id.clone();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let old_resolution = inner.by_id.get(&id).and_then(|old| old.resolved_at.clone());
        if let Some(at) = old_resolution {
            inner.resolved.remove(&(at, id.clone()));
        }
        if let Some(at) = &record.resolved_at {
            inner.resolved.insert((at.clone(), id.clone()));
        }
        inner.by_id.insert(id, Arc::new(record));
        while inner.resolved.len() > RESOLVED_KEPT {
            if let Some((_, oldest)) = inner.resolved.pop_first() {
                inner.by_id.remove(&oldest);
            }
        }
    }

    /// How many alerts match, and the first `limit` of them, most recently
    /// started first.
    pub fn query(&self, f: &AlertFilter<'_>, limit: usize) -> (usize, Vec<Arc<AlertRecord>>) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let mut hits: Vec<Arc<AlertRecord>> = inner
            .by_id
            .values()
            .filter(|a| f.matches(a))
            .cloned()
            .collect();
        hits.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| a.alert_id.cmp(&b.alert_id))
        });
        let total = hits.len();
        hits.truncate(limit);
        (total, hits)
    }
}

#[cfg(test)]
mod tests {
    use salespulse_model::Severity;

    use super::*;

    fn alert(id: &str, status: AlertStatus, started: &str, resolved: Option<&str>) -> AlertRecord {
        AlertRecord {
            schema: salespulse_model::output::ALERT.into(),
            alert_id: id.into(),
            kind: AlertKind::Inactivity,
            severity: Severity::Warning,
            status,
            rep_id: Some("r1".into()),
            team_id: Some("t1".into()),
            role: None,
            source: None,
            started_at: started.into(),
            resolved_at: resolved.map(str::to_string),
            value: salespulse_model::record::Num::Int(0),
            threshold: salespulse_model::record::Num::Int(0),
            baseline: salespulse_model::record::Num::Int(0),
            message: String::new(),
            suggestion: String::new(),
        }
    }

    #[test]
    fn keeps_the_latest_record_per_episode_and_filters() {
        let v = AlertView::default();
        v.offer_record(alert(
            "a",
            AlertStatus::Firing,
            "2026-01-01T10:00:00Z",
            None,
        ));
        let b = alert("b", AlertStatus::Firing, "2026-01-02T10:00:00Z", None);
        v.offer(0, &serde_json::to_vec(&b).unwrap(), false);
        v.offer(0, b"{\"alert_id\":\"c\"}", false); // not an alert record
        v.offer_record(alert(
            "a",
            AlertStatus::Resolved,
            "2026-01-01T10:00:00Z",
            Some("2026-01-01T12:00:00Z"),
        ));
        let all = AlertFilter::default();
        let (n, hits) = v.query(&all, 10);
        assert_eq!(n, 2);
        assert_eq!(hits[0].alert_id, "b", "newest first");
        let firing = AlertFilter {
            status: Some(AlertStatus::Firing),
            ..AlertFilter::default()
        };
        let (n, hits) = v.query(&firing, 10);
        assert_eq!((n, hits[0].alert_id.as_str()), (1, "b"));
        let other_team = AlertFilter {
            team: Some("t2"),
            ..AlertFilter::default()
        };
        assert_eq!(v.query(&other_team, 10).0, 0);
        let other_kind = AlertFilter {
            kind: Some(AlertKind::PeerLaggard),
            ..AlertFilter::default()
        };
        assert_eq!(v.query(&other_kind, 10).0, 0);
    }

    #[test]
    fn resolved_episodes_are_bounded() {
        let v = AlertView::default();
        for i in 0..RESOLVED_KEPT + 5 {
            let at = format!("2026-01-01T00:00:{:02}.{i:06}Z", i % 60);
            v.offer_record(alert(
                &format!("x{i}"),
                AlertStatus::Resolved,
                &at,
                Some(&at),
            ));
        }
        v.offer_record(alert(
            "open",
            AlertStatus::Firing,
            "2025-01-01T00:00:00Z",
            None,
        ));
        let (n, _) = v.query(&AlertFilter::default(), 1);
        assert_eq!(n, RESOLVED_KEPT + 1, "every open alert is kept");
    }
}
