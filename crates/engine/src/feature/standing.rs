//! A rep's score at the last working-day close: the same for every
//! instance and replay, so company-wide ranks at the close can be computed
//! from the score topic (docs/alerts.md, `rank_change`). Score records carry
//! it as `day_close`.

use salespulse_model::record::{round6, DayClose, ScoreRecord};
use salespulse_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::hooks::{Feature, RecordCx, TickCx};

/// The score at the last working-day close, if the rep was scored at one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Standing {
    close: Option<CloseScore>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct CloseScore {
    /// End of the closed day, ms.
    day_end: i64,
    /// The score at the close (without assist components).
    score: f64,
}

impl Feature for Standing {
    fn on_tick(&mut self, cx: &mut TickCx<'_>) -> bool {
        let Some(close) = cx.close else {
            return false;
        };
        let Some(&score) = close.scores.get(cx.rep_id) else {
            return false;
        };
        // Every scored rep's record carries its score at the close.
        let now = Some(CloseScore {
            day_end: close.day_end,
            score,
        });
        if self.close == now {
            return false;
        }
        self.close = now;
        *cx.record_due = true;
        true
    }

    fn score_section(&mut self, _: &RecordCx<'_>, rec: &mut ScoreRecord) {
        rec.day_close = self.close.map(|c| DayClose {
            as_of: Timestamp(c.day_end).to_rfc3339(),
            score: round6(c.score),
        });
    }
}
