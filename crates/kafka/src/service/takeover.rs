//! Taking over a partition: its reps restored from the changelog, its
//! input positioned at the group's committed offsets, what may have been in
//! flight re-emitted, and the clock moves recorded for it re-applied.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tracing::info;

use salespulse_engine::Engine;

use super::context::ServiceContext;
use super::idle::{clock_position, recorded_moves, PartitionClock};
use super::processor::{Input, Offsets, Processor};
use crate::restore::{restore, Restored};
use crate::KafkaError;

impl Processor {
    /// Restores `partitions` from the changelog and positions each at the
    /// group's committed offsets of every processed topic.
    pub(super) fn take_over(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
        partitions: &[i32],
    ) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for t in &self.out.layout.processed {
            for &p in partitions {
                tpl.add_partition(t, p);
            }
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(15))
            .map_err(KafkaError::client("reading committed offsets"))?;
        let restored = restore(&self.out.s, &self.cfg, &self.out.status, partitions)?;
        for (partition, r) in restored {
            let offsets: HashMap<String, Offsets> = committed
                .elements()
                .iter()
                .filter(|e| e.partition() == partition)
                .map(|e| {
                    let o = match e.offset() {
                        Offset::Offset(o) => o,
                        _ => 0,
                    };
                    (e.topic().to_string(), Offsets::at(o))
                })
                .collect();
            let moves = recorded_moves(&self.out.s, partition)?;
            self.adopt(partition, r, offsets, moves)?;
        }
        Ok(())
    }

    /// Takes over `partition` restored as `r`, at the committed `offsets`,
    /// with the clock `moves` recorded for it: those at or before the
    /// committed position are applied now, the rest as the input reaches them.
    fn adopt(
        &mut self,
        partition: i32,
        r: Restored,
        offsets: HashMap<String, Offsets>,
        mut moves: std::collections::VecDeque<(u64, i64)>,
    ) -> Result<(), KafkaError> {
        let (mut engine, n): (Engine, u64) = (r.engine, r.records);
        // Outputs of records past the committed offsets may have been in
        // flight when the last owner stopped: re-emit them (see Engine::reemit_beyond).
        for (topic, o) in &offsets {
            if let Some(slot) = self.out.layout.slot(topic) {
                let reps = engine.reemit_beyond(slot, o.committed);
                if reps > 0 {
                    info!(partition, %topic, reps, "re-emitting the outputs of reps ahead of the committed offset");
                }
            }
        }
        self.out.summary.restored += n;
        info!(partition, changelog_records = n, reps = engine.rep_count(), offsets = ?offsets, "partition taken over");
        self.pipeline.assign(partition, engine);
        let position = clock_position(&self.out.layout, &offsets);
        let mut clock = PartitionClock::new(super::now_ms());
        let mut sink = self.out.sink(None);
        while let Some(&(at, t)) = moves.front() {
            if at > position {
                break;
            }
            moves.pop_front();
            self.pipeline.advance_clock(partition, t, &mut sink)?;
        }
        clock.recorded = moves;
        self.inputs.insert(
            partition,
            Input {
                offsets,
                oldest_unflushed_ms: None,
                clock,
            },
        );
        Ok(())
    }
}
