//! Rebuilding a partition's engine from the changelog when the partition is
//! assigned: every record of the changelog partition up to its end is
//! loaded (a later record for a rep replaces an earlier one; compaction
//! keeps only the latest). The end is where the broker's fetch reports
//! partition EOF, not a ListOffsets watermark (the test broker answers those
//! wrongly); the watermark only sizes the progress shown on /readyz. The
//! engine then resumes from the committed input offsets and skips records
//! its reps already hold.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::info;

use salespulse_engine::{Engine, EngineConfig};

use crate::routing::{KIND_CREDIT, KIND_HEADER};
use crate::{KafkaError, KafkaSettings, Status};

/// Longest a restore may wait for a record or the partition's end.
const STALL: Duration = Duration::from_secs(30);
/// Bound on waiting for the changelog's watermarks (progress only).
const WATERMARKS: Duration = Duration::from_secs(5);

/// Whether a by-rep record is an assist credit (by its header).
pub(crate) fn is_credit<M: Message>(m: &M) -> bool {
    m.headers().is_some_and(|h| {
        h.iter()
            .any(|h| h.key == KIND_HEADER && h.value == Some(KIND_CREDIT.as_bytes()))
    })
}

/// A restored partition: its engine and how many changelog records were read.
pub(crate) struct Restored {
    pub engine: Engine,
    pub records: u64,
}

/// Engines holding every rep of the given changelog partitions, read by one
/// consumer assigned to all of them at once (a partition's restore costs a
/// fetch round trip or two of set-up; paying it once per assignment, not
/// once per partition, matters when a rebalance hands over many).
pub(crate) fn restore(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    status: &Status,
    partitions: &[i32],
) -> Result<HashMap<i32, Restored>, KafkaError> {
    let started = Instant::now();
    let topic = &s.output.changelog;
    let consumer: BaseConsumer = s
        .consumer_config()
        .set("group.id", format!("{}-restore", s.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(KafkaError::client("creating the restore consumer"))?;
    let mut tpl = TopicPartitionList::new();
    let mut open = HashMap::new();
    for &p in partitions {
        if let Ok((low, high)) = consumer.fetch_watermarks(topic, p, WATERMARKS) {
            status
                .restore_total
                .fetch_add((high - low).max(0) as u64, Ordering::Relaxed);
        }
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(KafkaError::client("restore assignment"))?;
        let mut engine = Engine::new(cfg.clone());
        engine.set_route_credits(true);
        open.insert(p, Restored { engine, records: 0 });
    }
    consumer
        .assign(&tpl)
        .map_err(KafkaError::client("restore assignment"))?;
    let mut done = HashMap::new();
    load(&consumer, status, topic, &mut open, |p, mut r| {
        r.engine.finish_restore();
        status.restore_records.inc_by(r.records);
        status
            .restore_seconds
            .observe(started.elapsed().as_secs_f64());
        info!(
            partition = p,
            records = r.records,
            reps = r.engine.rep_count(),
            seconds = started.elapsed().as_secs_f64(),
            "restored from the changelog"
        );
        done.insert(p, r);
    })?;
    Ok(done)
}

/// Loads changelog records into the engine of their partition until every
/// partition reached its end; hands each finished partition to `finished`.
fn load(
    consumer: &BaseConsumer,
    status: &Status,
    topic: &str,
    open: &mut HashMap<i32, Restored>,
    mut finished: impl FnMut(i32, Restored),
) -> Result<(), KafkaError> {
    let mut last_progress = Instant::now();
    while !open.is_empty() {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                status.restore_done.fetch_add(1, Ordering::Relaxed);
                last_progress = Instant::now();
                if let Some(r) = open.get_mut(&m.partition()) {
                    r.records += 1;
                    apply(&mut r.engine, &m)?;
                }
            }
            Some(Err(ClientError::PartitionEOF(p))) => {
                if let Some(r) = open.remove(&p) {
                    finished(p, r);
                }
            }
            Some(Err(e)) => {
                return Err(KafkaError::Client {
                    context: format!("restoring {topic}"),
                    source: e,
                })
            }
            None if last_progress.elapsed() > STALL => {
                let mut left: Vec<i32> = open.keys().copied().collect();
                left.sort_unstable();
                return Err(KafkaError::Config(format!(
                    "restoring {topic} partitions {left:?}: no record and no end of partition for {} s",
                    STALL.as_secs()
                )));
            }
            None => {}
        }
    }
    Ok(())
}

fn apply(engine: &mut Engine, m: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
    let (Some(key), Some(value)) = (m.key(), m.payload()) else {
        return Ok(()); // a tombstone or a keyless record: nothing to load
    };
    let rep = String::from_utf8_lossy(key);
    engine
        .restore_rep(&rep, value)
        .map_err(|e| KafkaError::Config(e.to_string()))
}
