//! Engine behaviours the property test does not cover: coalesced emission,
//! versions, summaries re-emitted by late events, directory precedence, time
//! zones, and team rollups that add up.

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};
use salespulse_model::record::{Num, RecordKind, ScoreRecord};

fn engine_with(extra: &str) -> Engine {
    let json = format!(
        r#"{{{extra} "profiles": {{"direct": {{"components": [{{"kpi": "calls", "window": "day", "target": 10, "weight": 1}}]}},
                           "inside": {{"components": [{{"kpi": "calls", "window": "day", "target": 20, "weight": 1}}]}}}}}}"#
    );
    let s: Settings = serde_json::from_str(&json).unwrap();
    Engine::new(EngineConfig::new(&s).unwrap())
}

fn call(id: &str, rep: &str, at: &str) -> String {
    format!(r#"{{"event_id":"{id}","type":"activity.call","occurred_at":"{at}","rep_id":"{rep}"}}"#)
}

fn kpi(r: &ScoreRecord, kpi: &str, window: &str) -> Option<f64> {
    r.kpis.get(kpi, window).unwrap().map(Num::as_f64)
}

#[test]
fn a_rep_changed_many_times_is_emitted_once_per_flush() {
    let mut e = engine_with("");
    for i in 0..100 {
        e.ingest(
            call(
                &format!("c{i}"),
                "r1",
                &format!("2026-03-02T09:{:02}:00Z", i % 60),
            )
            .as_bytes(),
            None,
        )
        .unwrap();
    }
    e.ingest(call("x", "r2", "2026-03-02T10:00:00Z").as_bytes(), None)
        .unwrap();
    let out = common::drive::flushed(&mut e);
    assert_eq!(out.len(), 2);
    assert_eq!(
        out.iter().find(|r| r.rep_id == "r1").map(|r| r.seq),
        Some(1)
    );
    assert!(
        common::drive::flushed(&mut e).is_empty(),
        "nothing changed since the last flush"
    );
    e.ingest(call("y", "r1", "2026-03-02T10:01:00Z").as_bytes(), None)
        .unwrap();
    let again = common::drive::flushed(&mut e);
    assert_eq!((again.len(), again[0].seq), (1, 2));
}

#[test]
fn a_late_event_reemits_the_closed_period_summary_with_a_higher_version() {
    let mut e = engine_with("");
    e.ingest(call("a", "r1", "2026-03-02T09:00:00Z").as_bytes(), None)
        .unwrap();
    e.ingest(call("b", "r1", "2026-03-03T09:00:00Z").as_bytes(), None)
        .unwrap();
    let first: Vec<_> = common::drive::summaries_due(&mut e);
    let day = first
        .iter()
        .find(|r| r.period.as_ref().is_some_and(|p| p.kind == "day"))
        .unwrap();
    assert_eq!(
        (kpi(day, "calls", "day"), day.kind),
        (Some(1.0), RecordKind::PeriodSummary)
    );
    // A late call for 03-02 arrives within the grace: the summary comes again, with 2 calls.
    e.ingest(call("c", "r1", "2026-03-02T17:00:00Z").as_bytes(), None)
        .unwrap();
    let second = common::drive::summaries_due(&mut e);
    assert_eq!(second.len(), 1);
    assert_eq!(kpi(&second[0], "calls", "day"), Some(2.0));
    assert!(second[0].seq > day.seq);
}

#[test]
fn the_latest_directory_record_wins_whatever_the_arrival_order() {
    let dir = |id: &str, at: &str, role: &str, team: &str| {
        format!(
            r#"{{"event_id":"{id}","type":"rep.updated","occurred_at":"{at}","rep_id":"r1","role":"{role}","team_id":"{team}","region":"emea"}}"#
        )
    };
    let mut e = engine_with("");
    e.ingest(
        dir("d2", "2026-03-05T00:00:00Z", "inside", "t2").as_bytes(),
        None,
    )
    .unwrap();
    e.ingest(
        dir("d1", "2026-03-01T00:00:00Z", "direct", "t1").as_bytes(),
        None,
    )
    .unwrap();
    let r = common::drive::final_scores(&mut e).remove(0);
    assert_eq!(
        (
            r.role.as_deref(),
            r.team_id.as_deref(),
            r.profile.name.as_str()
        ),
        (Some("inside"), Some("t2"), "inside")
    );
}

#[test]
fn periods_follow_the_configured_time_zone() {
    // 23:30 UTC on 03-02 is already 03-03 in Berlin: the Berlin day holds only that call.
    let mut e = engine_with(r#""engine": {"time_zone": "Europe/Berlin"},"#);
    e.ingest(call("a", "r1", "2026-03-02T12:00:00Z").as_bytes(), None)
        .unwrap();
    e.ingest(call("b", "r1", "2026-03-02T23:30:00Z").as_bytes(), None)
        .unwrap();
    let summary = common::drive::summaries_due(&mut e)
        .into_iter()
        .find(|r| r.kind == RecordKind::PeriodSummary)
        .unwrap();
    let r = common::drive::final_scores(&mut e).remove(0);
    assert_eq!(kpi(&r, "calls", "day"), Some(1.0));
    assert_eq!(
        summary.period.as_ref().unwrap().start,
        "2026-03-01T23:00:00Z"
    );
    let mut utc = engine_with("");
    utc.ingest(call("a", "r1", "2026-03-02T12:00:00Z").as_bytes(), None)
        .unwrap();
    utc.ingest(call("b", "r1", "2026-03-02T23:30:00Z").as_bytes(), None)
        .unwrap();
    assert_eq!(
        kpi(&common::drive::final_scores(&mut utc)[0], "calls", "day"),
        Some(2.0)
    );
}

#[test]
fn team_rollups_add_up_their_members() {
    let mut e = engine_with("");
    for line in Generator::new(Options {
        reps: 40,
        days: 12,
        seed: 21,
        ..Options::default()
    }) {
        let _ = e.ingest(line.as_bytes(), None);
    }
    let reps = common::drive::final_scores(&mut e);
    let teams = e.team_rollups();
    assert!(teams.len() >= 5);
    for t in &teams {
        let members: Vec<&ScoreRecord> = reps
            .iter()
            .filter(|r| r.team_id.as_deref() == Some(t.team_id.as_str()))
            .collect();
        assert_eq!(members.len(), t.reps);
        for kpi_name in ["calls", "deals_won", "deals_lost", "assists", "activities"] {
            for w in ["24h", "30d", "month", "quarter"] {
                let team_value = t.kpis.get(kpi_name, w).unwrap().map(Num::as_f64);
                let sum: f64 = members
                    .iter()
                    .map(|m| kpi(m, kpi_name, w).unwrap_or(0.0))
                    .sum();
                assert_eq!(team_value, Some(sum), "{} {kpi_name} {w}", t.team_id);
            }
        }
        // Money is summed exactly and rounded once: within a cent per member of the rounded member sum.
        let team_rev = t.kpis.get("revenue", "30d").unwrap().unwrap().as_f64();
        let sum: f64 = members
            .iter()
            .map(|m| kpi(m, "revenue", "30d").unwrap())
            .sum();
        assert!(
            (team_rev - sum).abs() <= 0.01 * members.len() as f64,
            "{team_rev} vs {sum}"
        );
    }
}

#[test]
fn with_a_position_versions_follow_the_input_and_survive_a_reapply() {
    // Live mode: the first run emits at positions 1..=3; a restarted run that
    // re-applies the same records emits versions that are never lower at the
    // same position, so "highest version wins" stays right.
    let lines = [
        call("a", "r1", "2026-03-02T09:00:00Z"),
        call("b", "r1", "2026-03-02T09:01:00Z"),
        call("c", "r1", "2026-03-02T09:02:00Z"),
    ];
    let run = |upto: usize| {
        let mut e = engine_with("");
        let mut versions = Vec::new();
        for (i, l) in lines.iter().enumerate().take(upto) {
            e.set_position(i as u64 + 1);
            e.ingest(l.as_bytes(), None).unwrap();
            versions.extend(common::drive::flushed(&mut e).iter().map(|r| r.seq));
        }
        versions
    };
    let first = run(3);
    assert!(first.windows(2).all(|w| w[0] < w[1]), "{first:?}");
    assert_eq!(first[0], 1024);
    assert_eq!(run(3), first, "same input, same versions");
}
