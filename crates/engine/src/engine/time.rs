//! Moving stream time: the ticks it passes and the periods it closes, when
//! an event moves it and when the clock of an idle partition does.
//!
//! Stream time is the largest event time accepted, so a partition that
//! receives nothing stands still, and with it every time-driven alert of
//! its reps (inactivity, pace, a silent source). The live service moves an
//! idle partition's stream time from the wall clock and records each move
//! in the clock topic; replay applies the recorded moves at the same input
//! positions. Both come here, so a move has the same effects either way:
//! the ticks it passes run, the periods it closes are summarised.

use salespulse_window::PeriodKind;

use super::Engine;
use crate::tick;

impl Engine {
    /// Moves stream time to `t`: runs the tick it passed, queues the
    /// summaries of periods that closed.
    pub(super) fn advance(&mut self, t: i64) {
        if t <= self.stream_time {
            return;
        }
        let old = self.stream_time;
        if let Some((prev, tick_at)) = self.ticker.passed(&self.cfg.detect, old, t) {
            // Sources first: a silent one holds back the reps' inactivity.
            let hold = self.quality.tick(&self.cfg, tick_at, &mut self.alerts);
            let ticked = tick::run(
                &self.cfg,
                &mut self.reps,
                &mut self.marks,
                (prev, tick_at),
                hold,
                &mut self.alerts,
            );
            self.quality.held(&ticked.held);
            self.stats.inactivity_held += ticked.held.len() as u64;
            let due = ticked.due;
            // Every scored rep's record with its close score goes out now,
            // at the stream time before the close, ahead of anything after
            // it: emission coalesces a rep's records, and a backlog would
            // otherwise skip closes.
            self.score_reps(due, false);
        }
        self.stream_time = t;
        if old != i64::MIN && self.cfg.profiles.changes_in(old, t) {
            self.mark_all_dirty();
        }
        for kind in PeriodKind::ALL {
            if self.current[kind as usize].end > t {
                continue;
            }
            self.current[kind as usize] = self.cfg.calendar.period(kind, t);
            if old != i64::MIN && self.cfg.summary_periods.contains(&kind) {
                self.summarise_closed(kind, old, t);
            }
        }
    }

    /// Moves stream time to `t` (epoch ms) as an event at `t` would, without
    /// one: runs the ticks passed and closes the periods ended, queuing
    /// their alerts, records and summaries. Nothing happens, and `false` is
    /// returned, when `t` is not after stream time or the engine has seen
    /// no event yet (it has no reps whose time could matter, and the first
    /// event must not be judged late against a wall clock).
    pub fn advance_clock(&mut self, t: i64) -> bool {
        if self.stream_time == i64::MIN || t <= self.stream_time {
            return false;
        }
        self.advance(t);
        self.settle();
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, EngineConfig, Settings};

    fn engine() -> Engine {
        let s: Settings = serde_json::from_str(
            r#"{"profiles": {"direct": {"components": [{"kpi": "calls", "window": "month", "target": 4, "weight": 1}]}}}"#,
        )
        .expect("settings");
        Engine::new(EngineConfig::new(&s).expect("config"))
    }

    #[test]
    fn moves_forward_only_and_not_before_the_first_event() {
        let mut e = engine();
        assert!(!e.advance_clock(1_767_225_600_000), "no event yet");
        assert_eq!(e.stream_time(), None);
        let call = r#"{"event_id":"c1","type":"activity.call","occurred_at":"2026-01-05T09:00:00Z","rep_id":"r1"}"#;
        e.ingest(call.as_bytes(), None).expect("valid");
        let t0 = e.stream_time().expect("stream time");
        assert!(!e.advance_clock(t0), "not after stream time");
        assert!(!e.advance_clock(t0 - 1));
        assert!(e.advance_clock(t0 + 60_000));
        assert_eq!(e.stream_time(), Some(t0 + 60_000));
    }
}
