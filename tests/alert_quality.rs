//! Detection quality on simulated companies with labelled anomalies: three
//! companies (seeds) of 200 reps over 61 days, 20% of the reps given an
//! anomaly (a stop, an 80% drop in activity, an outlier deal, a month with
//! nothing won) plus a burst of malformed records from one source each. The
//! alerts of `salespulse replay` are matched against the labels: precision,
//! recall and the median delay after the anomaly became detectable, per
//! kind. Rerun with `cargo test --release --test alert_quality -- --nocapture`;
//! the table is in docs/alerts.md.

mod support;

use std::collections::{BTreeMap, HashMap};

use salespulse_loadgen::{Generator, Label, Options};
use serde_json::Value;
use support::run::{ok, salespulse};

const HOUR: i64 = 3_600_000;
const SEEDS: [u64; 3] = [21, 22, 23];

fn ms(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .map(|d| d.timestamp_millis())
        .unwrap_or(i64::MIN)
}

fn started(a: &Value) -> i64 {
    ms(a["started_at"].as_str().unwrap_or_default())
}

/// A rep's working hours between two instants (its shift: first_hour..+9 UTC, Mon-Fri).
fn working_hours(first_hour: i64, a: i64, b: i64) -> f64 {
    let (lo, hi, sign) = if a <= b { (a, b, 1.0) } else { (b, a, -1.0) };
    let mut total = 0;
    let mut day = lo - lo.rem_euclid(24 * HOUR) - 24 * HOUR;
    while day < hi {
        let weekday = (day.div_euclid(24 * HOUR) + 3).rem_euclid(7);
        if weekday < 5 {
            let (s, e) = (day + first_hour * HOUR, day + (first_hour + 9) * HOUR);
            total += (e.min(hi) - s.max(lo)).max(0);
        }
        day += 24 * HOUR;
    }
    sign * total as f64 / HOUR as f64
}

#[derive(Default, Debug)]
struct Score {
    labels: usize,
    detectable: usize,
    detected: usize,
    alerts: usize,
    true_alerts: usize,
    delays: Vec<f64>,
}

impl Score {
    fn recall(&self) -> f64 {
        self.detected as f64 / self.detectable.max(1) as f64
    }
    fn precision(&self) -> f64 {
        self.true_alerts as f64 / self.alerts.max(1) as f64
    }
    fn median_delay(&mut self) -> Option<f64> {
        self.delays.sort_by(f64::total_cmp);
        self.delays.get(self.delays.len() / 2).copied()
    }
}

/// Whether alert `a` is about label `l`: the same subject, started during
/// the anomaly or within a day after it. `strict`: of the label's own kind
/// (for recall); otherwise a stop and a drop are both activity anomalies (a
/// stop is a 100% drop, an 80% drop leaves long silences), so either
/// detector is right about either (for precision).
fn about(l: &Label, a: &Value, strict: bool) -> bool {
    let who = l
        .rep_id
        .as_deref()
        .or(l.source.as_deref())
        .unwrap_or_default();
    let subject = a["rep_id"]
        .as_str()
        .or(a["source"].as_str())
        .unwrap_or_default();
    let activity = ["inactivity", "sudden_drop"];
    let kind_ok = a["kind"] == l.kind
        || (!strict && activity.contains(&l.kind) && activity.iter().any(|k| a["kind"] == *k));
    let t = started(a);
    kind_ok && subject == who && t >= ms(&l.start) && t <= ms(&l.end) + 24 * HOUR
}

/// Generates one company, replays it, and adds its scores to `scores`.
fn score_company(seed: u64, scores: &mut BTreeMap<String, Score>) {
    let mut gen = Generator::new(Options {
        reps: 200,
        days: 61,
        seed,
        anomalies: 0.2,
        ..Options::default()
    });
    let dir = support::scratch(&format!("quality-{seed}"));
    let events = dir.join("events.ndjson");
    let lines: Vec<String> = gen.by_ref().collect();
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let labels = gen.labels();
    let first_hour: HashMap<&str, i64> = gen
        .company()
        .reps
        .iter()
        .map(|r| (r.id.as_str(), r.first_hour))
        .collect();
    let alerts_file = dir.join("alerts.ndjson");
    let (ev, al) = (events.to_str().unwrap(), alerts_file.to_str().unwrap());
    ok(salespulse(&[
        "replay",
        "--events",
        ev,
        "--alerts",
        al,
        "--out",
        "/dev/null",
    ]));
    let alerts: Vec<Value> = std::fs::read_to_string(&alerts_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|a: &Value| a["status"] == "firing")
        .collect();
    for l in &labels {
        let s = scores.entry(l.kind.to_string()).or_default();
        s.labels += 1;
        let Some(detectable) = l.detectable_at.as_deref().map(ms) else {
            continue;
        };
        s.detectable += 1;
        if let Some(t) = alerts
            .iter()
            .filter(|a| about(l, a, true))
            .map(started)
            .min()
        {
            s.detected += 1;
            s.delays
                .push(match l.rep_id.as_deref().and_then(|r| first_hour.get(r)) {
                    Some(&fh) => working_hours(fh, detectable, t),
                    None => (t - detectable) as f64 / HOUR as f64,
                });
        }
    }
    // Precision after a warm-up of three weeks (the detectors learn first;
    // anomalies start after day 30). Achievements are good news, peer
    // laggards are the weakest reps of a role by definition, and rank
    // changes are moves in the ranking, not injected anomalies: none is
    // scored against labels (crates/engine/tests/standing.rs and
    // tests/rank_change.rs check them).
    let warm = ms("2026-01-22T00:00:00Z");
    let unlabelled = ["achievement", "peer_laggard", "rank_change"];
    for a in alerts
        .iter()
        .filter(|a| started(a) >= warm && !unlabelled.iter().any(|k| a["kind"] == *k))
    {
        let s = scores
            .entry(a["kind"].as_str().unwrap_or_default().to_string())
            .or_default();
        s.alerts += 1;
        if labels.iter().any(|l| about(l, a, false)) {
            s.true_alerts += 1;
        }
    }
}

#[test]
fn detectors_find_the_labelled_anomalies() {
    let mut scores = BTreeMap::new();
    // SALESPULSE_QUALITY_SEEDS="31,32,33" measures other companies (held out from tuning).
    let seeds: Vec<u64> = std::env::var("SALESPULSE_QUALITY_SEEDS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| SEEDS.to_vec());
    for seed in seeds {
        score_company(seed, &mut scores);
    }
    println!("| kind | labels | detectable | detected | recall | alerts | precision | median delay (working h) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (kind, s) in scores.iter_mut() {
        let median = s.median_delay();
        println!(
            "| {kind} | {} | {} | {} | {:.2} | {} | {:.2} | {} |",
            s.labels,
            s.detectable,
            s.detected,
            s.recall(),
            s.alerts,
            s.precision(),
            median.map_or("-".into(), |m| format!("{m:.2}"))
        );
    }
    // The goals: recall and precision >= 0.9, median delay <= 1 working hour.
    for (kind, s) in scores.iter_mut() {
        assert!(s.detectable > 0, "{kind}: no detectable label");
        assert!(s.recall() >= 0.9, "{kind}: recall {:.2}", s.recall());
        let median = s.median_delay().unwrap_or(f64::MAX);
        assert!(
            median <= 1.0,
            "{kind}: median delay {median:.2} working hours"
        );
        assert!(
            s.precision() >= 0.9,
            "{kind}: precision {:.2}",
            s.precision()
        );
    }
}
