//! The engine's outbox read the ways tests want it: the final score
//! records, what a flush emits, the summaries due, the alerts, credits and
//! changelog records. Each drains the outbox: what it does not return is
//! dropped.

use salespulse_engine::{Credit, Emit, Engine};
use salespulse_model::record::ScoreRecord;
use salespulse_model::AlertRecord;

/// One score record per rep at stream time, sorted by rep_id.
pub fn final_scores(e: &mut Engine) -> Vec<ScoreRecord> {
    e.flush(Emit::All);
    let mut scores = e.drain().scores();
    // Score records of working-day closes still queued come first.
    let n = e.rep_count().min(scores.len());
    scores.split_off(scores.len() - n)
}

/// What a flush emits: queued records, due summaries, changed reps' scores.
pub fn flushed(e: &mut Engine) -> Vec<ScoreRecord> {
    e.flush(Emit::Changed);
    e.drain().records()
}

/// Queued records and the summaries due, without score records of changed reps.
pub fn summaries_due(e: &mut Engine) -> Vec<ScoreRecord> {
    e.flush(Emit::Summaries);
    e.drain().records()
}

/// The alerts queued.
pub fn alerts(e: &mut Engine) -> Vec<AlertRecord> {
    e.drain().alerts()
}

/// The credits queued.
pub fn credits(e: &mut Engine) -> Vec<Credit> {
    e.drain().credits()
}

/// The changelog records of the reps changed since the last checkpoint.
pub fn changelog(e: &mut Engine) -> Vec<(Box<str>, Vec<u8>)> {
    e.checkpoint();
    e.drain().states()
}

/// A record as JSON with what score/2 sends on other topics put back in,
/// so tests compare the whole of what the engine computed.
pub fn full_json(r: &ScoreRecord) -> serde_json::Value {
    r.joined_json()
}
