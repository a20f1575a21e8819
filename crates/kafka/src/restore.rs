//! Rebuilding a partition's engine when the service takes the partition
//! over: the partition's records before the committed offset are applied
//! again, silently, so the state equals what the previous owner had.
//!
//! This needs the input's retention to cover the partition; the
//! fault-tolerance work replaces it with a compacted changelog.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use salespulse_engine::{Engine, EngineConfig};

use crate::{KafkaError, KafkaSettings};

/// Longest a restore may wait for a record before giving up.
const STALL: Duration = Duration::from_secs(30);

/// An engine holding the effect of `topic`/`partition` records below `until`.
/// Returns the engine and how many records were re-applied.
pub fn restore(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    topic: &str,
    partition: i32,
    until: i64,
) -> Result<(Engine, u64), KafkaError> {
    let mut engine = Engine::new(cfg.clone());
    if until <= 0 {
        return Ok((engine, 0));
    }
    let consumer: BaseConsumer = s
        .client_config()
        .set("group.id", format!("{}-restore", s.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .map_err(KafkaError::client("creating the restore consumer"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .map_err(KafkaError::client("restore assignment"))?;
    consumer
        .assign(&tpl)
        .map_err(KafkaError::client("restore assignment"))?;
    let mut applied = 0;
    let mut last_progress = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                if m.offset() >= until {
                    break;
                }
                engine.set_position(m.offset() as u64 + 1);
                // The wall-clock future check is not repeated: the record was judged when it arrived.
                let _ = engine.ingest(m.payload().unwrap_or_default(), None);
                applied += 1;
                last_progress = Instant::now();
                if m.offset() + 1 >= until {
                    break;
                }
                if applied % 4096 == 0 {
                    drop(engine.flush());
                }
            }
            Some(Err(e)) => {
                return Err(KafkaError::Client {
                    context: format!("restoring {topic}/{partition}"),
                    source: e,
                })
            }
            None if last_progress.elapsed() > STALL => {
                return Err(KafkaError::Config(format!(
                    "restoring {topic}/{partition}: no record for {} s before offset {until} (input retention shorter than the committed position?)",
                    STALL.as_secs()
                )));
            }
            None => {}
        }
    }
    // What the previous owner emitted is already on the score topic.
    drop(engine.flush());
    Ok((engine, applied))
}
