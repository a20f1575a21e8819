//! The alerts every instance can answer for: the latest record of every
//! alert episode, read from the alerts topic (all partitions), so
//! `/v1/alerts` shows the whole company whichever instance is asked.
//! Resolved episodes are kept up to [`RESOLVED_KEPT`], the oldest
//! resolution dropped first; open ones are always kept.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::view::Offer;

/// Resolved episodes remembered.
pub const RESOLVED_KEPT: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<Value>>,
    /// (resolved_at, alert_id) of the resolved episodes, oldest first.
    resolved: BTreeSet<(String, String)>,
}

/// Latest record per alert episode.
#[derive(Debug, Default)]
pub struct AlertView {
    inner: RwLock<Inner>,
}

/// What `/v1/alerts` filters on; `None` matches everything.
#[derive(Debug, Default)]
pub struct AlertFilter<'a> {
    /// `firing` or `resolved`.
    pub status: Option<&'a str>,
    /// Team id.
    pub team: Option<&'a str>,
    /// Alert kind.
    pub kind: Option<&'a str>,
    /// Rep id.
    pub rep: Option<&'a str>,
}

impl<'a> AlertFilter<'a> {
    /// This filter narrowed to what `scope` may see: a manager's alerts are
    /// its team's, a rep's its own. `None` when the filter asks for another
    /// team or rep.
    pub fn within(self, scope: &'a crate::auth::Scope) -> Option<AlertFilter<'a>> {
        use crate::auth::Scope;
        let narrow = |asked: Option<&'a str>, own: &'a str| match asked {
            Some(a) if a != own => None,
            _ => Some(Some(own)),
        };
        match scope {
            Scope::Admin | Scope::Ops => Some(self),
            Scope::Manager(t) => Some(AlertFilter {
                team: narrow(self.team, t)?,
                ..self
            }),
            Scope::Rep(r) => Some(AlertFilter {
                rep: narrow(self.rep, r)?,
                ..self
            }),
        }
    }
}

impl AlertFilter<'_> {
    fn matches(&self, a: &Value) -> bool {
        let is =
            |field: &str, want: Option<&str>| want.is_none_or(|w| a[field].as_str() == Some(w));
        is("status", self.status)
            && is("team_id", self.team)
            && is("kind", self.kind)
            && is("rep_id", self.rep)
    }
}

impl Offer for AlertView {
    fn offer(&self, _partition: i32, payload: &[u8], _live: bool) {
        if let Ok(record) = serde_json::from_slice(payload) {
            self.offer_record(record);
        }
    }
}

impl AlertView {
    /// Keeps an alert record (the latest per `alert_id`).
    pub fn offer_record(&self, record: Value) {
        let Some(id) = record["alert_id"].as_str().map(str::to_string) else {
            return;
        };
        let resolved_at = record["resolved_at"].as_str().map(str::to_string);
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = inner.by_id.get(&id) {
            if let Some(at) = old["resolved_at"].as_str().map(str::to_string) {
                inner.resolved.remove(&(at, id.clone()));
            }
        }
        if let Some(at) = resolved_at {
            inner.resolved.insert((at, id.clone()));
        }
        inner.by_id.insert(id, Arc::new(record));
        while inner.resolved.len() > RESOLVED_KEPT {
            if let Some((_, oldest)) = inner.resolved.pop_first() {
                inner.by_id.remove(&oldest);
            }
        }
    }
}

impl AlertView {
    /// The matching alerts, most recently started first.
    pub fn query(&self, f: &AlertFilter<'_>, limit: usize) -> (usize, Vec<Arc<Value>>) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let mut hits: Vec<Arc<Value>> = inner
            .by_id
            .values()
            .filter(|a| f.matches(a))
            .cloned()
            .collect();
        hits.sort_by(|a, b| {
            b["started_at"]
                .as_str()
                .cmp(&a["started_at"].as_str())
                .then_with(|| a["alert_id"].as_str().cmp(&b["alert_id"].as_str()))
        });
        let total = hits.len();
        hits.truncate(limit);
        (total, hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(id: &str, status: &str, started: &str, resolved: Option<&str>) -> Value {
        json!({"alert_id": id, "kind": "inactivity", "status": status, "rep_id": "r1",
               "team_id": "t1", "started_at": started, "resolved_at": resolved})
    }

    #[test]
    fn keeps_the_latest_record_per_episode_and_filters() {
        let v = AlertView::default();
        v.offer_record(alert("a", "firing", "2026-01-01T10:00:00Z", None));
        v.offer_record(alert("b", "firing", "2026-01-02T10:00:00Z", None));
        v.offer_record(alert(
            "a",
            "resolved",
            "2026-01-01T10:00:00Z",
            Some("2026-01-01T12:00:00Z"),
        ));
        let all = AlertFilter::default();
        let (n, hits) = v.query(&all, 10);
        assert_eq!(n, 2);
        assert_eq!(hits[0]["alert_id"], "b", "newest first");
        let firing = AlertFilter {
            status: Some("firing"),
            ..AlertFilter::default()
        };
        let (n, hits) = v.query(&firing, 10);
        assert_eq!((n, hits[0]["alert_id"].as_str()), (1, Some("b")));
        let other_team = AlertFilter {
            team: Some("t2"),
            ..AlertFilter::default()
        };
        assert_eq!(v.query(&other_team, 10).0, 0);
    }

    #[test]
    fn resolved_episodes_are_bounded() {
        let v = AlertView::default();
        for i in 0..RESOLVED_KEPT + 5 {
            let at = format!("2026-01-01T00:00:{:02}.{i:06}Z", i % 60);
            v.offer_record(alert(&format!("x{i}"), "resolved", &at, Some(&at)));
        }
        v.offer_record(alert("open", "firing", "2025-01-01T00:00:00Z", None));
        let (n, _) = v.query(&AlertFilter::default(), 1);
        assert_eq!(n, RESOLVED_KEPT + 1, "every open alert is kept");
    }
}
