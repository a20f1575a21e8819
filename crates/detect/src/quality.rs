//! `data_quality`: the share of rejected records per source over a sliding
//! window of stream time (the engine's stream time when the record arrived:
//! a rejected record may have no usable time of its own). The source is the
//! record's `source` field when it can be read, else the input's name.

use std::collections::{BTreeMap, VecDeque};

use salespulse_model::{AlertKind, AlertRecord};

use crate::emit::{source_record, Facts};
use crate::lifecycle::{Alerts, Change, Rule};
use crate::DetectConfig;

/// Buckets per window.
const BUCKETS: i64 = 12;

#[derive(Debug, Default)]
struct SourceWindow {
    /// (bucket number, records, rejected), ascending.
    buckets: VecDeque<(i64, u64, u64)>,
    alerts: Alerts,
}

/// Rejection rates by source.
#[derive(Debug, Default)]
pub struct Quality {
    sources: BTreeMap<String, SourceWindow>,
}

impl Quality {
    /// Counts one record of `source` at stream time `t`; appends an alert
    /// record when the source's rate crosses a threshold. `partition` (of
    /// an engine that sees one partition of several) enters the alert id.
    pub fn observe(
        &mut self,
        cfg: &DetectConfig,
        source: &str,
        partition: Option<i32>,
        rejected: bool,
        t: i64,
        out: &mut Vec<AlertRecord>,
    ) {
        let q = &cfg.quality;
        if !cfg.enabled || !q.enabled {
            return;
        }
        let width = (cfg.quality_window_ms / BUCKETS).max(1);
        let b = t.div_euclid(width);
        let w = match self.sources.get_mut(source) {
            Some(w) => w,
            None => self.sources.entry(source.to_string()).or_default(),
        };
        match w.buckets.iter().rposition(|x| x.0 <= b) {
            Some(i) if w.buckets[i].0 == b => {
                w.buckets[i].1 += 1;
                w.buckets[i].2 += u64::from(rejected);
            }
            Some(i) => w.buckets.insert(i + 1, (b, 1, u64::from(rejected))),
            None => w.buckets.push_front((b, 1, u64::from(rejected))),
        }
        let newest = w.buckets.back().map_or(b, |x| x.0);
        while w.buckets.front().is_some_and(|x| x.0 <= newest - BUCKETS) {
            w.buckets.pop_front();
        }
        let (total, bad) = w
            .buckets
            .iter()
            .fold((0, 0), |(n, r), x| (n + x.1, r + x.2));
        if total < q.min_records && !w.alerts.is_firing(AlertKind::DataQuality) {
            return;
        }
        let rate = bad as f64 / total.max(1) as f64;
        // A few bad records among few records are no evidence: an episode
        // opens only when even the 95% lower bound of the rate is above the
        // threshold; it closes on the observed rate.
        let judged = if w.alerts.is_firing(AlertKind::DataQuality) {
            rate
        } else {
            wilson_lower(bad, total)
        };
        let rule = Rule {
            fire: q.fire_above,
            resolve: q.resolve_below,
            low_is_bad: false,
            cooldown_ms: cfg.quality_window_ms,
            once_per_scope: false,
        };
        let Some((change, slot)) = w
            .alerts
            .observe(AlertKind::DataQuality, 0, judged, t, &rule)
        else {
            return;
        };
        let resolved = change == Change::Resolved;
        let window = &q.window;
        out.push(source_record(
            source,
            partition,
            &slot,
            q.severity,
            resolved,
            t,
            Facts {
                value: rate,
                threshold: if resolved { q.resolve_below } else { q.fire_above },
                baseline: total as f64,
                message: if resolved {
                    format!("Records from {source} are valid again: {:.1}% rejected in the last {window} ({bad} of {total}).", rate * 100.0)
                } else {
                    format!("{:.1}% of the records from {source} were rejected in the last {window} ({bad} of {total}).", rate * 100.0)
                },
                suggestion: if resolved {
                    String::new()
                } else {
                    "Read the reasons on the dead-letter topic (header `reason`); a schema or integration change upstream is the usual cause.".into()
                },
            },
        ));
        w.alerts.prune(t, i64::MAX);
    }
}

/// The lower end of the 95% Wilson score interval of `bad / total`.
fn wilson_lower(bad: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let (n, z) = (total as f64, 1.96f64);
    let p = bad as f64 / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - spread) / (1.0 + z * z / n)).max(0.0)
}

/// The `source` of a record that may not decode: read leniently from the
/// JSON, else `fallback`.
pub fn source_of(bytes: &[u8], fallback: &str) -> String {
    #[derive(serde::Deserialize)]
    struct S {
        source: Option<serde_json::Value>,
    }
    serde_json::from_slice::<S>(bytes)
        .ok()
        .and_then(|s| s.source)
        .and_then(|v| v.as_str().map(|s| s.chars().take(64).collect()))
        .unwrap_or_else(|| fallback.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DetectSection;

    #[test]
    fn a_burst_fires_once_and_resolves() {
        let cfg = DetectConfig::new(&DetectSection::default(), "UTC").expect("valid");
        let mut q = Quality::default();
        let mut out = vec![];
        let min = 60_000;
        // 10 minutes clean, 10 minutes with a third rejected, then clean for two hours.
        for i in 0..1200 {
            let t = i * min / 10;
            let bad = (100..200).contains(&i) && i % 3 == 0;
            q.observe(&cfg, "crm", None, bad, t, &mut out);
        }
        let kinds: Vec<_> = out.iter().map(|a| a.status).collect();
        use salespulse_model::AlertStatus::*;
        assert_eq!(kinds, vec![Firing, Resolved], "{out:#?}");
        assert_eq!(out[0].source.as_deref(), Some("crm"));
        assert_eq!(out[0].alert_id, out[1].alert_id);
        assert!(out[0].message.contains("crm"), "{}", out[0].message);
    }

    #[test]
    fn a_few_bad_records_among_few_are_not_an_alert() {
        let cfg = DetectConfig::new(&DetectSection::default(), "UTC").expect("valid");
        let mut q = Quality::default();
        let mut out = vec![];
        // 60 records in an hour, 4 rejected (6.7%, above 5%, but weak evidence).
        for i in 0..60 {
            q.observe(&cfg, "prm", None, i % 15 == 0, i * 60_000, &mut out);
        }
        assert!(out.is_empty(), "{out:#?}");
        assert!(wilson_lower(4, 60) < 0.05);
        assert!(wilson_lower(30, 100) > 0.2);
    }

    #[test]
    fn source_is_read_from_broken_records() {
        assert_eq!(source_of(br#"{"type":"x","source":"crm"}"#, "in"), "crm");
        assert_eq!(source_of(br#"{"type":"x","source":"cr"#, "in"), "in");
        assert_eq!(source_of(br#"{"source":12}"#, "in"), "in");
    }
}
