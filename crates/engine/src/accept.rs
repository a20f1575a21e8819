//! Whether a record is accepted: the rules in one place, in the order the
//! engine applies them (docs/windows.md):
//!
//! 1. it decodes and validates (`salespulse_model::decode`);
//! 2. it is not more than `max_future_skew` ahead of the ingest clock, when
//!    the caller gives one (`future_timestamp`);
//! 3. it is not `too_late`: it falls inside the widest rolling window at
//!    stream time, or inside a period of some kind whose `end + grace` is
//!    still ahead of stream time (`rep.updated` is never late);
//! 4. stream time advances to it;
//! 5. a detector may hold it back (`outlier`, a feature's `admit`);
//! 6. it is not a `duplicate`: no copy of its `event_id` was applied to the
//!    rep within `dedupe_horizon` of stream time before it arrived.

use salespulse_model::{decode, Body, Event, Reason, Rejection, Timestamp};
use salespulse_window::{Period, PeriodKind};

use crate::rep::Core;
use crate::{stable_hash, EngineConfig};

/// The checks that need no state: decoding, validation and, given the wall
/// clock `now_ms`, `max_future_skew`. The ingest stage of a re-keying
/// service runs these before routing a record to its rep's partition.
pub fn validate<'a>(
    cfg: &EngineConfig,
    bytes: &'a [u8],
    now_ms: Option<i64>,
) -> Result<Event<'a>, Rejection> {
    let ev = decode(bytes, &cfg.decode)?;
    check_future(cfg, &ev, now_ms)?;
    Ok(ev)
}

/// Rule 2: not too far ahead of the ingest clock.
pub(crate) fn check_future(
    cfg: &EngineConfig,
    ev: &Event<'_>,
    now_ms: Option<i64>,
) -> Result<(), Rejection> {
    let Some(now) = now_ms else { return Ok(()) };
    if ev.occurred_at.0 <= now.saturating_add(cfg.max_future_skew_ms) {
        return Ok(());
    }
    Err(Rejection::field(
        Reason::FutureTimestamp,
        "occurred_at",
        &ev.occurred_at.to_rfc3339(),
        &format!(
            "at most {} s ahead of the ingest clock ({}); check the producer's clock or engine.max_future_skew",
            cfg.max_future_skew_ms / 1000,
            Timestamp(now)
        ),
    ))
}

/// Rule 3: not too late at stream time `stream_time`. Returns the stream
/// time with this event.
pub(crate) fn check_late(
    cfg: &EngineConfig,
    current: &[Period; 4],
    ev: &Event<'_>,
    stream_time: i64,
) -> Result<i64, Rejection> {
    let e = ev.occurred_at.0;
    let t = stream_time.max(e);
    let is_directory = matches!(ev.body, Body::RepUpdated(_));
    if e < t && !is_directory && !is_kept(cfg, current, e, t) {
        return Err(Rejection::field(
            Reason::TooLate,
            "occurred_at",
            &ev.occurred_at.to_rfc3339(),
            &format!(
                "an event inside the kept windows and periods at stream time {} (widest window {}, period grace {} h)",
                Timestamp(t),
                cfg.specs.widest().name,
                cfg.grace_ms / 3_600_000
            ),
        ));
    }
    Ok(t)
}

/// Rule 6: not a re-send of an event the rep applied within the horizon
/// (the id is remembered when it is not).
pub(crate) fn check_duplicate(
    cfg: &EngineConfig,
    core: &mut Core,
    ev: &Event<'_>,
    t: i64,
    evicted: &mut u64,
) -> Result<(), Rejection> {
    let fresh = core.dedupe.check_insert(
        stable_hash(&ev.event_id),
        t,
        cfg.dedupe_horizon_ms,
        cfg.dedupe_max_per_rep,
        evicted,
    );
    if fresh {
        return Ok(());
    }
    Err(Rejection::field(
        Reason::Duplicate,
        "event_id",
        &format!("{:?}", ev.event_id),
        "an id not already applied for this rep within engine.dedupe_horizon of stream time before it arrived",
    ))
}

/// Whether an event at `e` still falls in the widest rolling window or in a
/// period (of any kind) whose `end + grace` is ahead of stream time `t`.
pub(crate) fn is_kept(cfg: &EngineConfig, current: &[Period; 4], e: i64, t: i64) -> bool {
    if cfg.specs.widest().contains(t, e) {
        return true;
    }
    PeriodKind::ALL
        .iter()
        .any(|&k| period_of(cfg, current, k, e).end + cfg.grace_ms > t)
}

/// The period of `kind` holding `e`: the cached current one, or computed.
pub(crate) fn period_of(
    cfg: &EngineConfig,
    current: &[Period; 4],
    kind: PeriodKind,
    e: i64,
) -> Period {
    let cur = current[kind as usize];
    if cur.contains(e) {
        cur
    } else {
        cfg.calendar.period(kind, e)
    }
}
