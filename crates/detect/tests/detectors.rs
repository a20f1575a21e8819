//! The detectors on hand-made histories: when each fires, resolves, and stays quiet.

use salespulse_detect::activity::{inactivity, on_activity, sudden_drop};
use salespulse_detect::outlier::deal_won;
use salespulse_detect::pace::week_closed;
use salespulse_detect::{DetectConfig, RepDetect, Tick};
use salespulse_model::{AlertKind, AlertRecord, AlertStatus};

mod common;
use common::{cfg, raise, H, M, MON};

/// Runs ticks every 15 minutes over [from, to), calling `each` at each tick.
fn ticks(c: &DetectConfig, from: i64, to: i64, mut each: impl FnMut(&Tick)) {
    let mut prev = i64::MIN;
    let mut t = from;
    while t < to {
        let tick = Tick::new(&c.calendars[0], t, prev);
        each(&tick);
        prev = t;
        t += 15 * M;
    }
}

#[test]
fn inactivity_fires_after_four_working_hours_and_resolves_on_activity() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out: Vec<AlertRecord> = vec![];
    on_activity(&mut rs, MON + 10 * H, &mut raise(rc, &mut out));
    ticks(&c, MON + 10 * H, MON + 15 * H, |tick| {
        inactivity(&mut rs, tick, &c.calendars[0], &mut raise(rc, &mut out))
    });
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].kind, AlertKind::Inactivity);
    assert_eq!(out[0].started_at, "2026-01-05T14:00:00Z");
    assert_eq!(out[0].value.as_f64(), 4.0);
    on_activity(&mut rs, MON + 15 * H + 10 * M, &mut raise(rc, &mut out));
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].status, AlertStatus::Resolved);
    assert_eq!(out[1].alert_id, out[0].alert_id);
    assert_eq!(out[1].resolved_at.as_deref(), Some("2026-01-05T15:10:00Z"));
}

#[test]
fn inactivity_skips_nights_and_weekends() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    let fri = MON + 4 * 24 * H;
    on_activity(&mut rs, fri + 16 * H, &mut raise(rc, &mut out));
    ticks(&c, fri + 16 * H, fri + 4 * 24 * H, |tick| {
        inactivity(&mut rs, tick, &c.calendars[0], &mut raise(rc, &mut out))
    });
    assert_eq!(out.len(), 1, "{out:#?}");
    // One hour on Friday, three on Monday morning.
    assert_eq!(out[0].started_at, "2026-01-12T12:00:00Z");
}

/// `per_hour` activities in every working hour of `days` working days from `start`.
fn work(rs: &mut RepDetect, start: i64, days: i64, per_hour: impl Fn(i64, i64) -> i64) {
    let c = cfg();
    let rc = c.role("direct");
    let mut out = vec![];
    for d in 0..days {
        for h in 9..17 {
            for k in 0..per_hour(d, h) {
                on_activity(
                    rs,
                    start + d * 24 * H + h * H + k * M,
                    &mut raise(rc, &mut out),
                );
            }
        }
    }
}

#[test]
fn sudden_drop_needs_history_then_fires_on_an_eighty_percent_drop() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    // Three weeks of 6 activities per working hour (weekends have none), then
    // two days at 1 per hour, then normal again.
    let days = 7 * 4;
    let mut t = MON;
    let mut prev = i64::MIN;
    while t < MON + days * 24 * H {
        let day = (t - MON) / (24 * H);
        let hour = (t - MON) % (24 * H) / H;
        let weekday = day % 7 < 5;
        // Activities of the hour that starts now.
        if weekday && (9..17).contains(&hour) && (t - MON) % H == 0 {
            let n = if day == 21 || day == 22 { 1 } else { 6 };
            work(
                &mut rs,
                t - hour * H,
                1,
                |_, h| if h == hour { n } else { 0 },
            );
        }
        let tick = Tick::new(&c.calendars[0], t, prev);
        sudden_drop(&mut rs, &tick, &c.calendars[0], &mut raise(rc, &mut out));
        prev = t;
        t += 15 * M;
    }
    let drops: Vec<_> = out
        .iter()
        .filter(|a| a.kind == AlertKind::SuddenDrop)
        .collect();
    assert_eq!(drops.len(), 2, "{drops:#?}");
    // Days 21-22 are Monday and Tuesday 2026-01-26/27. The 16-hour window
    // at Tuesday 11:00 holds Friday 11-16 (36), Monday (8) and Tuesday 9-10
    // (2): 46 against 96, z = -5.1, and under half of the usual (earlier
    // windows are at z -4.1 but above half).
    assert_eq!(drops[0].status, AlertStatus::Firing);
    assert_eq!(drops[0].started_at, "2026-01-27T11:00:00Z");
    assert!(drops[0].value.as_f64() <= -4.0, "{:?}", drops[0].value);
    assert_eq!(drops[0].baseline.as_f64(), 96.0);
    assert_eq!(drops[1].status, AlertStatus::Resolved);
    assert!(drops[1].resolved_at.as_deref() > Some("2026-01-27T11:00:00Z"));
}

#[test]
fn no_drop_alert_before_enough_history() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    // Five days of 6 per hour then silence: the baseline has too little history.
    work(&mut rs, MON, 5, |_, _| 6);
    ticks(&c, MON, MON + 8 * 24 * H, |tick| {
        sudden_drop(&mut rs, tick, &c.calendars[0], &mut raise(rc, &mut out))
    });
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn outlier_deals_are_flagged_and_kept_out_of_the_distribution() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    let sizes = [
        8_000.0, 9_500.0, 11_000.0, 7_200.0, 12_500.0, 10_100.0, 9_000.0, 8_800.0, 13_000.0,
        6_900.0,
    ];
    for (i, a) in sizes.iter().enumerate() {
        assert!(!deal_won(
            &mut rs,
            *a,
            MON + i as i64 * H,
            &mut raise(rc, &mut out)
        ));
    }
    assert!(out.is_empty());
    assert!(deal_won(
        &mut rs,
        950_000.0,
        MON + 20 * H,
        &mut raise(rc, &mut out)
    ));
    assert!(!deal_won(
        &mut rs,
        14_000.0,
        MON + 21 * H,
        &mut raise(rc, &mut out)
    ));
    assert!(
        deal_won(&mut rs, 900_000.0, MON + 22 * H, &mut raise(rc, &mut out)),
        "the first outlier did not widen the distribution"
    );
    assert_eq!(out.len(), 2);
    assert!(out[0].message.contains("950000.00"), "{}", out[0].message);
    assert_ne!(out[0].alert_id, out[1].alert_id);
}

#[test]
fn personal_best_after_enough_weeks() {
    let c = cfg();
    let rc = c.role("direct");
    let mut rs = RepDetect::default();
    let mut out = vec![];
    for (w, rev) in [10.0, 12.0, 9.0, 11.0, 15.0, 14.0, 16.0].iter().enumerate() {
        let start = MON + w as i64 * 7 * 24 * H;
        week_closed(
            &mut rs,
            start,
            *rev,
            start + 7 * 24 * H,
            &mut raise(rc, &mut out),
        );
    }
    // Week 5 (15 > 12) and week 7 (16 > 15); weeks 1-4 are history.
    let values: Vec<f64> = out.iter().map(|a| a.value.as_f64()).collect();
    assert_eq!(values, vec![15.0, 16.0]);
}

/// Runs inactivity and the baseline's folding over `days` days of ticks,
/// with activities from `per_hour`; returns the inactivity alerts.
fn quiet_run(days: i64, per_hour: impl Fn(i64, i64) -> i64) -> Vec<AlertRecord> {
    let c = cfg();
    let rc = c.role("direct");
    let cal = &c.calendars[0];
    let mut rs = RepDetect::default();
    let mut out = vec![];
    let mut prev = i64::MIN;
    let mut t = MON;
    while t < MON + days * 24 * H {
        let (day, hour) = ((t - MON) / (24 * H), (t - MON) % (24 * H) / H);
        if day % 7 < 5 && (t - MON) % H == 0 {
            for k in 0..per_hour(day, hour) {
                on_activity(&mut rs, t + k * M, &mut raise(rc, &mut out));
            }
        }
        let tick = Tick::new(cal, t, prev);
        sudden_drop(&mut rs, &tick, cal, &mut raise(rc, &mut out));
        inactivity(&mut rs, &tick, cal, &mut raise(rc, &mut out));
        prev = t;
        t += 15 * M;
    }
    out.retain(|a| a.kind == AlertKind::Inactivity && a.status == AlertStatus::Firing);
    out
}

#[test]
fn a_seldom_busy_rep_may_be_quiet_longer() {
    // Two activities a day (9:00 and 13:00) for three weeks, then a day with
    // only 9:00: five quiet working hours are usual for this rep.
    let quiet = |d: i64, h: i64| i64::from(h == 9 || (h == 13 && d != 21));
    assert!(quiet_run(23, quiet).is_empty());
    // A busy rep (6 an hour) with the same quiet afternoon is flagged.
    let busy = |d: i64, h: i64| {
        if d == 21 && h > 9 {
            0
        } else {
            6 * i64::from((9..17).contains(&h))
        }
    };
    let alerts = quiet_run(23, busy);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    // Last activity 09:05, four working hours later 13:05: the 13:15 tick.
    assert_eq!(alerts[0].started_at, "2026-01-26T13:15:00Z");
    assert_eq!(alerts[0].threshold.as_f64(), 4.0);
}
