//! Rebuilding a partition's engine when the service takes the partition
//! over: every processed topic's records at that partition before the
//! committed offset are applied again, silently, so the state equals what
//! the previous owner had. Assist credits the re-applied deals produce were
//! published before those offsets were committed, so they are dropped here;
//! credits on the by-rep topic are applied again like events.
//!
//! This needs the input's retention to cover the partition; the
//! fault-tolerance work replaces it with a compacted changelog.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};

use salespulse_engine::{Engine, EngineConfig};

use crate::routing::{decode_credit, KIND_CREDIT, KIND_HEADER};
use crate::{KafkaError, KafkaSettings};

/// Longest a restore may wait for a record before giving up.
const STALL: Duration = Duration::from_secs(30);

/// Whether a by-rep record is an assist credit (by its header).
pub(crate) fn is_credit(m: &BorrowedMessage<'_>) -> bool {
    m.headers().is_some_and(|h| {
        h.iter()
            .any(|h| h.key == KIND_HEADER && h.value == Some(KIND_CREDIT.as_bytes()))
    })
}

/// An engine holding the effect of the records of `partition` below each
/// topic's offset in `until`. Returns the engine and how many records were
/// re-applied.
pub fn restore(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    partition: i32,
    until: &[(String, i64)],
) -> Result<(Engine, u64), KafkaError> {
    let mut engine = Engine::new(cfg.clone());
    engine.set_route_credits(true);
    let mut applied = 0;
    for (topic, end) in until.iter().filter(|(_, end)| *end > 0) {
        applied += restore_topic(s, &mut engine, topic, partition, *end)?;
    }
    // What the previous owner emitted is already on the score topic.
    drop(engine.flush());
    Ok((engine, applied))
}

fn restore_topic(
    s: &KafkaSettings,
    engine: &mut Engine,
    topic: &str,
    partition: i32,
    until: i64,
) -> Result<u64, KafkaError> {
    let consumer: BaseConsumer = s
        .consumer_config()
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
                let payload = m.payload().unwrap_or_default();
                if topic == s.output.by_rep && is_credit(&m) {
                    if let Ok(c) = decode_credit(payload) {
                        engine.apply_credit(&c);
                    }
                } else {
                    // The wall-clock future check is not repeated: the record was judged when it arrived.
                    let _ = engine.ingest(payload, None);
                }
                drop(engine.take_credits());
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
    Ok(applied)
}
