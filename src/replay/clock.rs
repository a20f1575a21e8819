//! `replay --clock FILE`: the clock moves the live service recorded for
//! idle partitions (`clock/1` records of `salespulse.clock`), applied at the
//! input positions they were made at, so a replay reproduces what they
//! caused (docs/windows.md, "When nothing arrives").

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{bail, Context, Result};
use salespulse_model::record::ClockRecord;
use salespulse_pipeline::{Collected, Pipeline};

/// The recorded moves of each partition, in the order they were made.
#[derive(Debug, Default)]
pub(super) struct ClockMoves {
    by_partition: BTreeMap<i32, VecDeque<(u64, i64)>>,
    /// Lines routed to each partition so far: its input position.
    positions: BTreeMap<i32, u64>,
}

impl ClockMoves {
    /// Reads `path` (NDJSON `clock/1` records, as `salespulse tail clock
    /// --ndjson` prints them) for a replay over `partitions` partitions.
    pub(super) fn load(path: &Path, partitions: i32) -> Result<ClockMoves> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("opening --clock {}", path.display()))?;
        let mut moves = ClockMoves::default();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading --clock {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let r: ClockRecord = serde_json::from_str(&line).with_context(|| {
                format!(
                    "--clock {} line {}: not a clock/1 record",
                    path.display(),
                    n + 1
                )
            })?;
            if !(0..partitions).contains(&r.partition) {
                bail!(
                    "--clock {} line {}: partition = {}, but the replay has --partitions {partitions} (use the live input's partition count)",
                    path.display(),
                    n + 1,
                    r.partition
                );
            }
            let t = r.t_ms().map_err(anyhow::Error::msg)?;
            moves
                .by_partition
                .entry(r.partition)
                .or_default()
                .push_back((r.position, t));
        }
        Ok(moves)
    }

    /// The moves due before the next line of `partition`: those recorded at
    /// its current position.
    pub(super) fn due(&mut self, partition: i32) -> Vec<i64> {
        let at = self.positions.get(&partition).copied().unwrap_or(0);
        let mut due = Vec::new();
        if let Some(q) = self.by_partition.get_mut(&partition) {
            while q.front().is_some_and(|&(pos, _)| pos <= at) {
                if let Some((_, t)) = q.pop_front() {
                    due.push(t);
                }
            }
        }
        due
    }

    /// A line was routed to `partition`.
    pub(super) fn count(&mut self, partition: i32) {
        *self.positions.entry(partition).or_default() += 1;
    }

    /// Every move not applied yet (recorded past the end of the input
    /// file), by partition, in order.
    pub(super) fn rest(&mut self) -> Vec<(i32, i64)> {
        std::mem::take(&mut self.by_partition)
            .into_iter()
            .flat_map(|(p, q)| q.into_iter().map(move |(_, t)| (p, t)))
            .collect()
    }
}

/// Applies the moves of `partition` due at its position (every
/// partition's before the first line, with `partition` None).
pub(super) fn apply_due(
    moves: Option<&mut ClockMoves>,
    pipeline: &mut Pipeline,
    partition: Option<i32>,
    sink: &mut Collected,
) {
    let Some(moves) = moves else { return };
    let partitions: Vec<i32> = match partition {
        Some(p) => vec![p],
        None => (0..pipeline.partitions()).collect(),
    };
    for p in partitions {
        for t in moves.due(p) {
            let Ok(_) = pipeline.advance_clock(p, t, sink);
        }
    }
}

/// Applies the moves recorded past the end of the input.
pub(super) fn apply_rest(
    moves: Option<&mut ClockMoves>,
    pipeline: &mut Pipeline,
    sink: &mut Collected,
) {
    let Some(moves) = moves else { return };
    for (p, t) in moves.rest() {
        let Ok(_) = pipeline.advance_clock(p, t, sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_are_due_at_their_partitions_position() {
        let dir = std::env::temp_dir().join(format!("sp-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clock.ndjson");
        let lines: Vec<String> = [(0, 0, 10), (1, 2, 20), (1, 2, 30), (1, 5, 40)]
            .iter()
            .map(|&(p, pos, t)| serde_json::to_string(&ClockRecord::new(p, pos, t, 0)).unwrap())
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let mut m = ClockMoves::load(&path, 2).unwrap();
        assert_eq!(m.due(0), [10], "position 0: before any line");
        assert_eq!(m.due(1), Vec::<i64>::new());
        m.count(1);
        m.count(1);
        assert_eq!(m.due(1), [20, 30]);
        assert_eq!(m.rest(), [(1, 40)]);
        assert!(ClockMoves::load(&path, 1).is_err(), "partition 1 of 1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
