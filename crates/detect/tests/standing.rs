//! Detectors of a rep's standing on hand-made histories: `behind_pace`
//! (with its deal-flow gate), `peer_laggard`, and the achievements of
//! reaching the quota and the top of the role.

mod common;

use common::{cfg, cfg_with, raise, H, MON};
use salespulse_detect::pace::pace;
use salespulse_detect::peer::{day_closed, Standing};
use salespulse_detect::{PaceInput, RepDetect};
use salespulse_model::{AlertKind, AlertRecord, AlertStatus, Severity};

const DAY: i64 = 24 * H;
/// A 30-day pace period starting at MON, and the next.
const P1: (i64, i64) = (MON, MON + 30 * DAY);
const P2: (i64, i64) = (MON + 30 * DAY, MON + 60 * DAY);

fn input(period: (i64, i64), attainment: f64, share: f64) -> PaceInput {
    PaceInput {
        scope: period.0,
        scope_end: period.1,
        attainment,
        expected: share,
        scope_share: share,
    }
}

fn firing(out: &[AlertRecord], kind: AlertKind) -> usize {
    out.iter()
        .filter(|a| a.kind == kind && a.status == AlertStatus::Firing)
        .count()
}

#[test]
fn pace_hovering_at_the_threshold_fires_once_per_period() {
    let c = cfg_with(|s| s.behind_pace.max_chance = 1.0); // pace alone
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    // Expected attainment grows; attainment hovers so that pace swings 0.6..0.9.
    for i in 0..100 {
        let expected = 0.2 + 0.007 * i as f64;
        let pace_now = if i % 2 == 0 { 0.6 } else { 0.9 };
        let p = input(P1, expected * pace_now, expected);
        pace(&mut rs, p, MON + i * H, &mut raise(rc, &mut out));
    }
    assert_eq!(firing(&out, AlertKind::BehindPace), 1, "{out:#?}");
    // The next period closes the episode and may fire again.
    pace(
        &mut rs,
        input(P2, 0.05, 0.3),
        P2.0,
        &mut raise(rc, &mut out),
    );
    let last: Vec<_> = out.iter().rev().take(2).collect();
    assert_eq!(last[1].status, AlertStatus::Resolved);
    assert_eq!(last[0].status, AlertStatus::Firing);
    assert_ne!(last[0].alert_id, last[1].alert_id);
}

#[test]
fn pace_waits_for_the_minimum_elapsed_share_and_quota_is_celebrated() {
    let c = cfg_with(|s| s.behind_pace.max_chance = 1.0);
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    pace(&mut rs, input(P1, 0.0, 0.15), MON, &mut raise(rc, &mut out));
    assert!(out.is_empty(), "too early in the period");
    let p = input(P1, 1.02, 0.8);
    pace(&mut rs, p, MON + H, &mut raise(rc, &mut out));
    pace(&mut rs, p, MON + 2 * H, &mut raise(rc, &mut out));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].kind, AlertKind::Achievement);
    assert_eq!(out[0].severity, Severity::Info);
}

/// A rep with 20 deals created or won in the first period, then `deals` of
/// them spread over the second period's first `share`; pace at 0 every
/// 1% of the second period up to `until`. Returns the alerts.
fn second_period(deals: u32, until: f64) -> (Vec<AlertRecord>, Vec<f64>) {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    pace(&mut rs, input(P1, 0.0, 0.0), P1.0, &mut raise(rc, &mut out));
    for i in 0..20 {
        rs.flow.event(P1.0 + i * DAY);
    }
    let mut fired_at = vec![];
    let mut next_deal = 0.0;
    let mut given = 0;
    for pct in 0..=(until * 100.0) as i64 {
        let share = pct as f64 / 100.0;
        let t = P2.0 + (share * 30.0 * DAY as f64) as i64;
        while given < deals && next_deal <= share {
            rs.flow.event(t);
            given += 1;
            next_deal += until / f64::from(deals);
        }
        let before = out.len();
        pace(&mut rs, input(P2, 0.0, share), t, &mut raise(rc, &mut out));
        if firing(&out[before..], AlertKind::BehindPace) > 0 {
            fired_at.push(share);
        }
    }
    (out, fired_at)
}

#[test]
fn behind_pace_waits_until_the_missing_deal_flow_is_unlikely_by_chance() {
    // 20 in the period before: P(0 of 20 in s / (1 + s)) = (1 + s)^-20 is
    // first at most 0.0001 at s = 59%, with about 12 expected by then.
    let (out, fired) = second_period(0, 0.7);
    assert_eq!(fired, vec![0.59], "{out:#?}");
    let a = out
        .iter()
        .find(|a| a.kind == AlertKind::BehindPace)
        .unwrap();
    assert!(
        a.message
            .contains("0 deals created or won this period, against about 12 usual by now"),
        "{}",
        a.message
    );
    // Deals keep coming at the usual rate: at 0% attainment it is timing, not news.
    let (out, fired) = second_period(14, 0.7);
    assert!(fired.is_empty(), "{out:#?}");
}

#[test]
fn behind_pace_needs_an_earlier_period_for_the_usual_rate() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    for pct in 0..=90 {
        let share = f64::from(pct) / 100.0;
        pace(
            &mut rs,
            input(P1, 0.0, share),
            MON + i64::from(pct) * 7 * H,
            &mut raise(rc, &mut out),
        );
    }
    assert!(out.is_empty(), "{out:#?}");
}

fn standing(day: i64, percentile: f64, rank: u32, peers: u32) -> Standing {
    Standing {
        day: MON + day * DAY,
        score: percentile / 2.0,
        percentile,
        rank,
        peers,
        median: 50.0,
        next_below: 40.0,
    }
}

/// Feeds standings at consecutive day closes; returns the alerts.
fn days(c: &salespulse_detect::DetectConfig, seq: &[(f64, u32, u32)]) -> Vec<AlertRecord> {
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    for (d, &(pct, rank, peers)) in seq.iter().enumerate() {
        let s = standing(d as i64, pct, rank, peers);
        day_closed(&mut rs, &s, s.day + DAY, &mut raise(rc, &mut out));
        // The same day judged again (after a restore, say) changes nothing.
        day_closed(&mut rs, &s, s.day + DAY + H, &mut raise(rc, &mut out));
    }
    out
}

#[test]
fn peer_laggard_fires_after_three_days_below_p10_and_resolves_above_p20() {
    let c = cfg();
    let out = days(&c, &[(5.0, 60, 60), (5.0, 60, 60), (12.0, 54, 60)]);
    assert!(out.is_empty(), "the run was broken on day 3: {out:#?}");
    let out = days(
        &c,
        &[
            (5.0, 60, 60),
            (3.0, 60, 60),
            (8.0, 56, 60),
            (15.0, 52, 60),
            (25.0, 46, 60),
        ],
    );
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(
        (
            out[0].kind,
            out[0].status,
            out[0].value.as_f64(),
            out[0].threshold.as_f64()
        ),
        (AlertKind::PeerLaggard, AlertStatus::Firing, 8.0, 10.0)
    );
    assert_eq!(out[0].started_at, "2026-01-08T00:00:00Z");
    assert!(
        out[0]
            .message
            .contains("bottom 10% of direct reps for 3 working days"),
        "{}",
        out[0].message
    );
    // 15 is inside the hysteresis band; 25 resolves.
    assert_eq!(
        (out[1].status, out[1].value.as_f64()),
        (AlertStatus::Resolved, 25.0)
    );
    assert_eq!(out[0].alert_id, out[1].alert_id);
    // Too few peers for a percentile: nothing, and the run starts over.
    let out = days(&c, &[(5.0, 9, 9), (5.0, 9, 9), (5.0, 9, 9), (5.0, 9, 9)]);
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn reaching_the_top_of_the_role_is_an_achievement_each_time() {
    let c = cfg();
    let out = days(
        &c,
        &[
            (100.0, 1, 30),
            (100.0, 1, 30),
            (96.0, 2, 30),
            (100.0, 1, 30),
        ],
    );
    let tops: Vec<_> = out
        .iter()
        .filter(|a| a.kind == AlertKind::Achievement && a.status == AlertStatus::Firing)
        .collect();
    assert_eq!(tops.len(), 2, "{out:#?}");
    assert_eq!(tops[0].started_at, "2026-01-06T00:00:00Z");
    assert_eq!(tops[1].started_at, "2026-01-09T00:00:00Z");
    assert!(tops[0].message.contains("top of the direct leaderboard"));
    let off = cfg_with(|s| s.achievement.top_of_role = false);
    assert!(days(&off, &[(100.0, 1, 30)]).is_empty());
}
