//! Replay as a deployment with P partitions runs it: one engine per
//! partition, each record to the engine of the partition Kafka's default
//! partitioner picks for its rep_id (the key the service expects), and
//! assist credits to the helper's engine, as the by-rep topic carries them.
//! With P = 1 this is one engine that applies credits itself.

use salespulse_engine::{Engine, EngineConfig, Stats};
use salespulse_kafka::partition_for;
use salespulse_model::record::ScoreRecord;
use salespulse_model::{AlertRecord, Rejection};

/// The engines of a replay.
pub struct Partitioned {
    engines: Vec<Engine>,
}

#[derive(serde::Deserialize)]
struct KeyOnly<'a> {
    #[serde(borrow)]
    rep_id: Option<&'a str>,
}

impl Partitioned {
    /// `partitions` engines (at least one).
    pub fn new(cfg: EngineConfig, partitions: usize) -> Self {
        let n = partitions.max(1);
        let engines = (0..n)
            .map(|p| {
                let mut e = Engine::new(cfg.clone());
                e.set_route_credits(n > 1);
                e.set_partition(p as i32);
                e
            })
            .collect();
        Partitioned { engines }
    }

    /// The alerts every engine raised since the last call.
    pub fn drain_alerts(&mut self) -> Vec<AlertRecord> {
        self.engines
            .iter_mut()
            .flat_map(Engine::drain_alerts)
            .collect()
    }

    fn partition_of(&self, rep_id: &str) -> usize {
        partition_for(rep_id.as_bytes(), self.engines.len() as i32) as usize
    }

    /// Applies one record in the engine of its rep's partition (a record
    /// without a readable rep_id is rejected by the first engine), then
    /// delivers the assist credits it made.
    pub fn ingest(&mut self, record: &[u8], now_ms: Option<i64>) -> Result<(), Rejection> {
        // One engine needs no routing: reading the key would parse the
        // record a second time (7% of a single-partition replay).
        let p = if self.engines.len() == 1 {
            0
        } else {
            serde_json::from_slice::<KeyOnly<'_>>(record)
                .ok()
                .and_then(|k| k.rep_id)
                .map_or(0, |rep| self.partition_of(rep))
        };
        let result = self.engines[p].ingest(record, now_ms).map(|_| ());
        for credit in self.engines[p].take_credits() {
            let to = self.partition_of(&credit.rep_id);
            self.engines[to].apply_credit(&credit);
        }
        result
    }

    /// What every engine emits now.
    pub fn flush(&mut self) -> Vec<ScoreRecord> {
        self.engines.iter_mut().flat_map(Engine::flush).collect()
    }

    /// The due period summaries of every engine.
    pub fn drain_summaries(&mut self) -> Vec<ScoreRecord> {
        self.engines
            .iter_mut()
            .flat_map(Engine::drain_summaries)
            .collect()
    }

    /// Every rep's record at its partition's stream time, sorted by rep_id.
    pub fn score_all(&mut self) -> Vec<ScoreRecord> {
        let mut all: Vec<ScoreRecord> = self
            .engines
            .iter_mut()
            .flat_map(Engine::score_all)
            .collect();
        all.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
        all
    }

    /// The single engine, for what only one engine can answer (team rollups).
    pub fn single(&mut self) -> Option<&mut Engine> {
        match self.engines.as_mut_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Counters over every engine.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for e in &self.engines {
            total.add(e.stats());
        }
        total
    }

    /// Reps held over every engine.
    pub fn rep_count(&self) -> usize {
        self.engines.iter().map(Engine::rep_count).sum()
    }
}
