//! Time for partitions that receive nothing (docs/windows.md, "When
//! nothing arrives"): an owned partition with nothing to read for
//! `service.idle_after` has its stream time moved to the wall clock less
//! `service.allowed_lateness`, and every move is recorded on
//! `output.clock` (`clock/1`) before what it caused is emitted, so that
//! `replay --clock` reproduces it. A new owner re-applies the recorded
//! moves at their input positions, as replay does.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as ClientError;
use rdkafka::{Message, Offset, TopicPartitionList};
use salespulse_model::record::ClockRecord;
use tracing::{info, warn};

use super::context::ServiceContext;
use super::now_ms;
use super::processor::{Offsets, Processor};
use super::sink::{schema_header, send};
use crate::layout::Layout;
use crate::{KafkaError, KafkaSettings};

/// The clock of an owned partition.
#[derive(Debug, Default)]
pub(super) struct PartitionClock {
    /// Wall time (ms) of the last record read, or of the take-over.
    pub last_input_ms: i64,
    /// Wall time (ms) of the last move.
    pub last_move_ms: i64,
    /// Moves a previous owner recorded past the position this one started
    /// at, in order: (position, stream time), applied as the input reaches them.
    pub recorded: VecDeque<(u64, i64)>,
}

impl PartitionClock {
    /// A partition taken over now.
    pub fn new(now: i64) -> Self {
        PartitionClock {
            last_input_ms: now,
            last_move_ms: now,
            recorded: VecDeque::new(),
        }
    }
}

impl Processor {
    /// Moves the stream time of every owned partition that is idle (nothing
    /// to read, nothing read for `idle_after`, no recorded move still to
    /// re-apply) and was not moved for `idle_after`; records each move.
    pub(super) fn move_idle_clocks(
        &mut self,
        consumer: &BaseConsumer<ServiceContext>,
    ) -> Result<(), KafkaError> {
        let (idle_after, lateness) = (self.idle_after_ms, self.allowed_lateness_ms);
        if idle_after == 0 {
            return Ok(());
        }
        let now = now_ms();
        let owned: Vec<i32> = self.pipeline.owned().collect();
        for p in owned {
            let Some(input) = self.inputs.get(&p) else {
                continue;
            };
            let c = &input.clock;
            let quiet = now - c.last_input_ms >= idle_after && now - c.last_move_ms >= idle_after;
            if !quiet || !c.recorded.is_empty() || self.has_records_to_read(consumer, p) {
                continue;
            }
            let position = clock_position(&self.out.layout, &input.offsets);
            self.move_clock(p, position, now - lateness, now)?;
        }
        Ok(())
    }

    /// Moves partition `p`'s stream time to `t` and records the move.
    fn move_clock(&mut self, p: i32, position: u64, t: i64, now: i64) -> Result<(), KafkaError> {
        if let Some(input) = self.inputs.get_mut(&p) {
            input.clock.last_move_ms = now;
        }
        let mut sink = self.out.sink(None);
        if !self.pipeline.advance_clock(p, t, &mut sink)? {
            return Ok(());
        }
        let record = ClockRecord::new(p, position, t, now);
        let payload = serde_json::to_vec(&record).map_err(KafkaError::encode("a clock record"))?;
        let out = &mut self.out;
        let f = send(
            (&out.producer, &out.status.output),
            &out.s.output.clock,
            None,
            &p.to_string(),
            &payload,
            Some(schema_header(&record.schema)),
        )?;
        out.inflight.push(f, now);
        out.status.ingest.clock_moved();
        Ok(())
    }

    /// Whether the broker holds records of `p` past what was read (asked
    /// of the broker, at most once per `idle_after` per quiet partition;
    /// unknown counts as yes).
    fn has_records_to_read(&self, consumer: &BaseConsumer<ServiceContext>, p: i32) -> bool {
        let Some(input) = self.inputs.get(&p) else {
            return true;
        };
        self.out.layout.processed.iter().any(|topic| {
            let next = input.offsets.get(topic).map_or(0, |o| o.next);
            match consumer.fetch_watermarks(topic, p, Duration::from_secs(2)) {
                Ok((_, high)) => high < 0 || high > next,
                Err(_) => true,
            }
        })
    }

    /// A record of `p` was read: re-applies the moves a previous owner
    /// recorded at the position its input reached.
    pub(super) fn reapply_recorded(&mut self, p: i32) -> Result<(), KafkaError> {
        let Some(input) = self.inputs.get_mut(&p) else {
            return Ok(());
        };
        let position = clock_position(&self.out.layout, &input.offsets);
        input.clock.last_input_ms = now_ms();
        let mut due = Vec::new();
        while input
            .clock
            .recorded
            .front()
            .is_some_and(|&(at, _)| at <= position)
        {
            due.extend(input.clock.recorded.pop_front().map(|(_, t)| t));
        }
        let mut sink = self.out.sink(None);
        for t in due {
            self.pipeline.advance_clock(p, t, &mut sink)?;
        }
        Ok(())
    }
}

/// A partition's position for clock moves: the sum of the next offsets of
/// its input topics, without the by-rep topic's assist credits (replay,
/// which applies credits directly, counts only the input's records). With
/// `keyed_by = "other"` the by-rep topic is the input.
pub(super) fn clock_position(layout: &Layout, offsets: &HashMap<String, Offsets>) -> u64 {
    let counted = |topic: &String| layout.processed.len() == 1 || *topic != layout.by_rep;
    offsets
        .iter()
        .filter(|(topic, _)| counted(topic))
        .map(|(_, o)| o.next.max(0) as u64)
        .sum()
}

/// The moves recorded for input partition `partition` on `output.clock`,
/// in order: (position, stream time).
pub(super) fn recorded_moves(
    s: &KafkaSettings,
    partition: i32,
) -> Result<VecDeque<(u64, i64)>, KafkaError> {
    let topic = &s.output.clock;
    let consumer: BaseConsumer = s
        .consumer_config()
        .set("group.id", format!("{}-clock", s.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(KafkaError::client("creating the clock reader"))?;
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(KafkaError::client("reading the clock topic's metadata"))?;
    let n = md.topics().first().map_or(0, |t| t.partitions().len());
    let mut tpl = TopicPartitionList::new();
    for q in 0..n as i32 {
        tpl.add_partition_offset(topic, q, Offset::Beginning)
            .map_err(KafkaError::client("clock reader assignment"))?;
    }
    consumer
        .assign(&tpl)
        .map_err(KafkaError::client("clock reader assignment"))?;
    let (mut moves, mut ended) = (Vec::new(), 0usize);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while ended < n {
        if std::time::Instant::now() > deadline {
            return Err(KafkaError::Timeout(format!(
                "reading {topic}: no end of its partitions in 60 s"
            )));
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let parsed = serde_json::from_slice::<ClockRecord>(m.payload().unwrap_or_default())
                    .map_err(|e| e.to_string())
                    .and_then(|r| Ok((r.partition, r.position, r.t_ms()?)));
                match parsed {
                    Ok((q, position, t)) if q == partition => moves.push((position, t)),
                    Ok(_) => {}
                    Err(e) => {
                        warn!(%topic, offset = m.offset(), error = %e, "skipping a clock record that does not read")
                    }
                }
            }
            Some(Err(ClientError::PartitionEOF(_))) => ended += 1,
            Some(Err(e)) => {
                return Err(KafkaError::Client {
                    context: format!("reading {topic}"),
                    source: e,
                })
            }
            None => {}
        }
    }
    // Moves of one partition are made in order of position and time.
    moves.sort_unstable();
    info!(partition, moves = moves.len(), "clock moves read");
    Ok(moves.into())
}
