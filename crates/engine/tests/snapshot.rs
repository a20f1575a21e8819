//! The changelog round trip: an engine rebuilt from rep snapshots taken at
//! checkpoints, then fed the input again from an earlier committed offset
//! (a crash between writing the changelog and committing), ends in exactly
//! the state of an engine that never stopped: nothing lost, nothing counted
//! twice. And the record format is pinned by a golden file.

mod common;

use std::collections::BTreeMap;

use salespulse_engine::{Applied, Emit, Engine, EngineConfig, Settings, SnapshotError};
use salespulse_loadgen::{Generator, Options};
use salespulse_model::record::{RecordKind, ScoreRecord};

fn config() -> EngineConfig {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}}}"#,
    )
    .unwrap();
    EngineConfig::new(&s).unwrap()
}

/// A profile with a day and a month component, a commission plan, and a
/// permissive `behind_pace` gate: the restore tests see pace, deal flow,
/// standings and commission books.
fn alert_config() -> EngineConfig {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [
            {"kpi": "calls", "window": "day", "target": 10, "weight": 1},
            {"kpi": "revenue", "window": "month", "target": 40000, "weight": 1}],
            "commission": {"tiers": [{"from": 0, "rate": 0.05}, {"from": 1, "rate": 0.08}],
                           "cap": 5000, "clawback_days": 60, "clawback": "prorated",
                           "spiffs": [{"name": "new_logo", "on": "new_customer", "amount": 150,
                                       "from": "2026-01-15", "until": "2026-02-10"}]}}},
           "detect": {"behind_pace": {"max_chance": 0.05}, "source_silent": {"enabled": false}}}"#,
    )
    .unwrap();
    EngineConfig::new(&s).unwrap()
}

fn lines(seed: u64) -> Vec<String> {
    lines_over(seed, 20)
}

fn lines_over(seed: u64, days: u32) -> Vec<String> {
    Generator::new(Options {
        reps: 25,
        days,
        seed,
        out_of_order: 0.05,
        duplicates: 0.03,
        malformed: 0.02,
        ..Options::default()
    })
    .collect()
}

fn scores(mut e: Engine) -> Vec<serde_json::Value> {
    e.flush(salespulse_engine::Emit::All);
    let out = e.drain();
    // Each rep's latest coaching record: a restored engine sends it again.
    let mut coaching = BTreeMap::new();
    for c in out.clone().coaching() {
        coaching.insert(c.rep_id.clone(), serde_json::to_value(&c.coaching).unwrap());
    }
    let mut finals = out.scores();
    // Score records of working-day closes still queued come first.
    let n = e.rep_count().min(finals.len());
    finals
        .split_off(finals.len() - n)
        .into_iter()
        .filter(|r: &ScoreRecord| r.kind == RecordKind::Score)
        .map(|r| {
            let mut v = common::drive::full_json(&r);
            let o = v.as_object_mut().unwrap();
            o.remove("seq");
            if let Some(c) = coaching.get(&r.rep_id) {
                o.insert("coaching".into(), c.clone());
            }
            v
        })
        .collect()
}

/// Writes the changelog records of the reps changed since the last checkpoint.
fn checkpoint(e: &mut Engine, changelog: &mut BTreeMap<String, Vec<u8>>) {
    drop(common::drive::flushed(e));
    for (rep, bytes) in common::drive::changelog(e) {
        changelog.insert(rep.to_string(), bytes);
    }
}

/// A first life: checkpoints every 350 records, the last one at
/// `last_checkpoint`; then it runs on to `crash` and dies. Returns the
/// changelog and how many records it applied.
fn first_life(
    cfg: &EngineConfig,
    input: &[String],
    last_checkpoint: i64,
    crash: i64,
) -> (BTreeMap<String, Vec<u8>>, u64) {
    let mut first = Engine::new(cfg.clone());
    let mut changelog = BTreeMap::new();
    for (i, l) in input.iter().enumerate().take(crash as usize) {
        let _ = first.ingest_from(l.as_bytes(), None, 0, i as i64);
        let i = i as i64 + 1;
        if i <= last_checkpoint && (i % 350 == 0 || i == last_checkpoint) {
            checkpoint(&mut first, &mut changelog);
        }
    }
    (changelog, first.stats().applied)
}

/// An engine rebuilt from a changelog.
fn restored(changelog: &BTreeMap<String, Vec<u8>>) -> Engine {
    restored_with(&config(), changelog)
}

fn restored_with(cfg: &EngineConfig, changelog: &BTreeMap<String, Vec<u8>>) -> Engine {
    let mut e = Engine::new(cfg.clone());
    for (rep, bytes) in changelog {
        e.restore_rep(rep, bytes).unwrap();
    }
    e.finish_restore();
    e
}

/// Alerts after a restore are exactly the uninterrupted run's from the last
/// checkpoint on: alert state and detector memory travel in the changelog.
/// (Data-quality windows and sources' gaps are per engine and start empty;
/// left out here.)
#[test]
fn alerts_after_a_restore_equal_an_uninterrupted_run() {
    let input = lines_over(4, 45);
    let cfg = alert_config();
    let n = input.len() as i64;
    let rep_alerts = |e: &mut Engine| {
        common::drive::alerts(e)
            .into_iter()
            .filter(|a| a.kind != salespulse_model::AlertKind::DataQuality)
            .collect::<Vec<_>>()
    };
    let mut whole = Engine::new(cfg.clone());
    let mut by_index = Vec::new();
    for (i, l) in input.iter().enumerate() {
        let _ = whole.ingest_from(l.as_bytes(), None, 0, i as i64);
        by_index.extend(rep_alerts(&mut whole).into_iter().map(|a| (i as i64, a)));
    }
    let kinds: std::collections::BTreeSet<&str> =
        by_index.iter().map(|(_, a)| a.kind.as_str()).collect();
    for kind in ["behind_pace", "peer_laggard", "achievement", "inactivity"] {
        assert!(kinds.contains(kind), "no {kind} alert in {kinds:?}");
    }
    for (committed, last_checkpoint, crash) in [
        (0, 1000, 1500),
        (3000, 4200, 4201),
        (n / 2, n / 2 + 700, n - 1),
        (n - 3000, n - 2000, n - 1),
    ] {
        let (changelog, _) = first_life(&cfg, &input, last_checkpoint, crash);
        let mut second = restored_with(&cfg, &changelog);
        let mut got = Vec::new();
        for (i, l) in input.iter().enumerate().skip(committed as usize) {
            let _ = second.ingest_from(l.as_bytes(), None, 0, i as i64);
            got.extend(rep_alerts(&mut second));
        }
        let want: Vec<_> = by_index
            .iter()
            .filter(|(i, _)| *i >= last_checkpoint)
            .map(|(_, a)| a.clone())
            .collect();
        assert_eq!(got.len(), want.len(), "checkpoint {last_checkpoint}");
        assert_eq!(got, want, "checkpoint {last_checkpoint}");
    }
}

#[test]
fn restore_then_redelivery_equals_an_uninterrupted_run() {
    let input = lines_over(4, 45);
    let cfg = alert_config();
    let n = input.len() as i64;
    let mut whole = Engine::new(cfg.clone());
    for (i, l) in input.iter().enumerate() {
        let _ = whole.ingest_from(l.as_bytes(), None, 0, i as i64);
    }
    let applied = whole.stats().applied;
    let want = scores(whole);
    assert!(
        want.iter()
            .any(|r| r["commission"]["gross"].as_f64() > Some(0.0)),
        "the books are exercised"
    );
    assert!(
        want.iter().any(|r| r["coaching"]["items"]
            .as_array()
            .is_some_and(|a| !a.is_empty())),
        "coaching is exercised"
    );

    for (committed, last_checkpoint, crash) in [
        (0, 1000, 1500),
        (3000, 4200, 4201),
        (n / 2, n / 2 + 700, n - 1),
        (n - 3000, n - 2000, n - 1),
        // After the last day close: what it judged (coaching) must come back.
        (n - 40, n - 20, n - 1),
    ] {
        let (changelog, first_applied) = first_life(&cfg, &input, last_checkpoint, crash);
        // Second life: restore, then everything from the committed offset again.
        let mut second = restored_with(&cfg, &changelog);
        let mut skipped = 0;
        for (i, l) in input.iter().enumerate().skip(committed as usize) {
            if let Ok(Applied::AlreadyApplied) = second.ingest_from(l.as_bytes(), None, 0, i as i64)
            {
                skipped += 1;
            }
        }
        assert!(
            skipped > 0 || committed == last_checkpoint,
            "the redelivered records were recognised"
        );
        assert!(first_applied > 0);
        assert_eq!(
            scores(second),
            want,
            "committed {committed}, checkpoint {last_checkpoint}, crash {crash}"
        );
    }
    assert!(applied > 0);
}

#[test]
fn a_record_of_another_format_is_refused_by_name() {
    let mut e = Engine::new(config());
    let err = e.restore_rep("rep-1", &[99, 0, 0]).unwrap_err();
    assert!(
        matches!(err, SnapshotError::Version { got: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("rep-1"));
    let err = e
        .restore_rep("rep-1", &[salespulse_engine::SNAPSHOT_FORMAT, 1])
        .unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");
}

/// The configuration of the pinned changelog: detectors off, so the bytes
/// pin the encoding (an empty detector state included), not the detectors'
/// tuning.
fn pinned_config() -> EngineConfig {
    let s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "day", "target": 10, "weight": 1}]}}, "detect": {"enabled": false}}"#,
    )
    .unwrap();
    EngineConfig::new(&s).unwrap()
}

/// The changelog records of a small fixed input, as `rep hex` lines.
fn changelog_of_fixed_input() -> (Engine, String) {
    let mut e = Engine::new(pinned_config());
    for (i, l) in lines(2).iter().enumerate().take(600) {
        let _ = e.ingest_from(l.as_bytes(), None, 0, i as i64);
    }
    let mut changelog = BTreeMap::new();
    checkpoint(&mut e, &mut changelog);
    let text: String = changelog
        .iter()
        .map(|(rep, bytes)| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("{rep} {hex}\n")
        })
        .collect();
    (e, text)
}

/// An engine restored from `rep hex` lines.
fn restore_from(pinned: &str) -> Engine {
    let mut restored = Engine::new(pinned_config());
    for line in pinned.lines() {
        let (rep, hex) = line.split_once(' ').unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        restored.restore_rep(rep, &bytes).unwrap();
    }
    restored.finish_restore();
    restored
}

fn golden(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The changelog bytes of a small fixed input are pinned: a change to the
/// encoding of rep state fails here, and must follow the upgrade rule in
/// docs/topics.md (a new section tag for a feature's new encoding, a new
/// `SNAPSHOT_FORMAT` for the core's). Regenerate with UPDATE_GOLDEN=1 only
/// together with such a change.
#[test]
fn changelog_format_1_is_pinned() {
    assert_eq!(salespulse_engine::SNAPSHOT_FORMAT, 1);
    let path = golden("changelog-v1.hex");
    let (e, text) = changelog_of_fixed_input();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(scores(restore_from(&pinned)), scores(e));
    assert_eq!(
        pinned, text,
        "the changelog encoding changed: see the upgrade rule in docs/topics.md"
    );
}

/// A section this build does not know (a newer build's feature) is
/// skipped; a section longer than the record is refused with its rep named.
#[test]
fn unknown_sections_are_skipped_and_broken_ones_refused() {
    let (e, text) = changelog_of_fixed_input();
    let want = scores(e);
    // Tag "zz.new" (postcard: length, bytes), body length 2, body.
    let extra = "067a7a2e6e657702aabb";
    let with_extra: String = text.lines().map(|l| format!("{l}{extra}\n")).collect();
    assert_eq!(scores(restore_from(&with_extra)), want);
    let mut other = Engine::new(pinned_config());
    let line = text.lines().next().unwrap();
    let (rep, hex) = line.split_once(' ').unwrap();
    let mut bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    bytes.extend_from_slice(&[6, b'z', b'z', b'.', b'n', b'e', b'w', 100, 1]);
    let err = other.restore_rep(rep, &bytes).unwrap_err();
    assert!(err.to_string().contains("runs past the record"), "{err}");
    assert!(err.to_string().contains(rep), "{err}");
}

/// Of two changelog records for a rep, the one that applied more of the
/// input wins whatever order they are read in (a broker may keep a retried
/// produce after a later one).
#[test]
fn the_record_that_applied_more_wins_in_any_order() {
    let input = lines(4);
    let mut e = Engine::new(config());
    let mut older = BTreeMap::new();
    let mut newer = BTreeMap::new();
    for (i, l) in input.iter().enumerate().take(2000) {
        let _ = e.ingest_from(l.as_bytes(), None, 0, i as i64);
        if i == 999 {
            checkpoint(&mut e, &mut older);
        }
    }
    checkpoint(&mut e, &mut newer);
    let want = scores(restored(&newer));
    // Newer first, then the older records: the newer state stays.
    let mut r = Engine::new(config());
    for (rep, bytes) in newer.iter().chain(&older) {
        r.restore_rep(rep, bytes).unwrap();
    }
    r.finish_restore();
    assert_eq!(scores(r), want);
}

/// After a restore, the reps whose state holds records past the committed
/// offset re-emit their outputs (the redelivered records will be skipped):
/// their score records, equal to an uninterrupted engine's, the summaries
/// of closed periods still kept, and their open alerts. Nobody else does.
#[test]
fn reps_ahead_of_the_committed_offset_re_emit_their_outputs() {
    let input = lines_over(4, 45);
    let cfg = alert_config();
    let stop = input.len() - 500;
    let mut whole = Engine::new(cfg.clone());
    for (i, l) in input.iter().enumerate().take(stop) {
        let _ = whole.ingest_from(l.as_bytes(), None, 0, i as i64);
    }
    let mut changelog = BTreeMap::new();
    checkpoint(&mut whole, &mut changelog);
    drop(common::drive::alerts(&mut whole));

    let mut all_committed = restored_with(&cfg, &changelog);
    assert_eq!(all_committed.reemit_beyond(0, stop as i64), 0);
    assert!(common::drive::flushed(&mut all_committed).is_empty());

    let mut restored = restored_with(&cfg, &changelog);
    let committed = (stop - 40) as i64;
    let n = restored.reemit_beyond(0, committed);
    assert!(
        n > 0 && n < 25,
        "{n} reps applied records at or after {committed}"
    );
    restored.flush(Emit::Changed);
    let out = restored.drain();
    let again = out.clone().alerts();
    let (scores, summaries): (Vec<_>, Vec<_>) = out
        .records()
        .into_iter()
        .partition(|r| r.kind == RecordKind::Score);
    assert_eq!(scores.len(), n);
    assert!(
        !summaries.is_empty(),
        "closed periods still kept are re-summarised"
    );
    let want: BTreeMap<String, serde_json::Value> =
        scores_by_rep(common::drive::final_scores(&mut whole));
    for (rep, got) in scores_by_rep(scores) {
        assert_eq!(got, want[&rep], "{rep}");
    }
    let open: Vec<_> = whole.open_alerts().cloned().collect();
    assert!(!again.is_empty() && again.iter().all(|a| open.contains(a)));
}

fn scores_by_rep(records: Vec<ScoreRecord>) -> BTreeMap<String, serde_json::Value> {
    records
        .into_iter()
        .map(|r| {
            let mut v = common::drive::full_json(&r);
            v.as_object_mut().unwrap().remove("seq");
            (r.rep_id, v)
        })
        .collect()
}
