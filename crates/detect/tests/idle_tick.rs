//! `RepDetect::idle_tick`: the engine skips a rep at a quarter-hour tick
//! (one that starts no hour and closes no day or week) when it says the
//! tick would change nothing. Skipping must be invisible: after every tick
//! the state and the alerts equal those of running every tick in full.

use salespulse_detect::activity::{inactivity, on_activity, sudden_drop};
use salespulse_detect::outlier::deal_won;
use salespulse_detect::{expire, DetectConfig, RepDetect, RoleConfig, Tick};
use salespulse_model::AlertRecord;

mod common;
use common::{cfg, raise, H, M, MON};

/// A tick as the engine runs it for one rep (pace needs the rep's periods
/// and is left out: it only runs on ticks that start an hour).
fn full_tick(rs: &mut RepDetect, tick: &Tick, c: &DetectConfig, rc: &RoleConfig, floor: i64) {
    let mut out: Vec<AlertRecord> = vec![];
    inactivity(rs, tick, &c.calendars[0], &mut raise(rc, &mut out));
    sudden_drop(rs, tick, &c.calendars[0], &mut raise(rc, &mut out));
    expire(rs, tick.t, &mut raise(rc, &mut out));
    rs.alerts.prune(tick.t, floor);
    rs.track(&out);
}

/// What happens to the rep at `t` (between the ticks before and at `t`).
fn events(rs: &mut RepDetect, rc: &RoleConfig, from: i64, to: i64) {
    let mut out = vec![];
    let day = (from - MON).div_euclid(24 * H);
    let minute = (from - MON).rem_euclid(24 * H) / M;
    // Busy on Monday to Wednesday mornings, one call every 20 minutes.
    let busy = day < 3 && (9 * 60..12 * 60).contains(&minute);
    for at in (from..to).step_by(M as usize) {
        let m = (at - MON).rem_euclid(24 * H) / M;
        if busy && m % 20 == 7 {
            on_activity(rs, at, &mut raise(rc, &mut out));
        }
        // Ten won deals on Monday, then an outlier at 10:20 on Thursday
        // (inactivity is firing by then), so its 24-hour hold ends at a
        // quarter-hour tick (Friday 10:30).
        if m == 10 * 60 + 20 && (day == 0 || day == 3) {
            for k in 0..10 {
                if day == 0 {
                    deal_won(
                        rs,
                        7_000.0 + k as f64 * 500.0,
                        at + k,
                        &mut raise(rc, &mut out),
                    );
                } else if k == 0 {
                    deal_won(rs, 950_000.0, at, &mut raise(rc, &mut out));
                }
            }
        }
    }
    rs.track(&out);
}

#[test]
fn skipping_idle_quarter_hour_ticks_changes_nothing() {
    let c = cfg();
    let rc = c.role("direct");
    let floor = MON;
    let (mut every, mut skipping) = (RepDetect::default(), RepDetect::default());
    let (mut skipped, mut minor_run) = (0, 0);
    let mut prev = i64::MIN;
    let mut t = MON;
    while t < MON + 7 * 24 * H {
        if prev != i64::MIN {
            events(&mut every, rc, prev, t);
            events(&mut skipping, rc, prev, t);
        }
        let tick = Tick::new(&c.calendars[0], t, prev);
        full_tick(&mut every, &tick, &c, rc, floor);
        if tick.hour.is_none() && skipping.idle_tick(t, tick.working, floor) {
            skipped += 1;
        } else {
            if tick.hour.is_none() {
                minor_run += 1;
            }
            full_tick(&mut skipping, &tick, &c, rc, floor);
        }
        assert_eq!(
            every,
            skipping,
            "after the tick at MON + {} min",
            (t - MON) / M
        );
        prev = t;
        t += 15 * M;
    }
    // Both paths were taken: most quarter-hour ticks skipped, and the ones
    // with an inactivity deadline or an alert hold due were run.
    assert!(skipped > 300, "skipped {skipped}");
    assert!(minor_run > 3, "ran {minor_run} quarter-hour ticks");
    assert!(!every.alerts.is_empty(), "no alert episode in the scenario");
}
