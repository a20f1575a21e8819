//! The checks on a record that need no state: decoding, validation and the
//! wall-clock `max_future_skew`.

use salespulse_model::{decode, Event, Reason, Rejection};

use crate::EngineConfig;

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

pub(super) fn check_future(
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
            salespulse_model::Timestamp(now)
        ),
    ))
}
