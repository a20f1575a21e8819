//! Rebuilding a partition's engine from the changelog when the partition is
//! assigned: every record of the changelog partition up to its end is
//! loaded (of two records for a rep the one that applied more of the input wins; compaction
//! keeps only the latest). The end is where the broker's fetch reports
//! partition EOF, not a ListOffsets watermark (the test broker answers those
//! wrongly); the watermark only sizes the progress shown on /readyz. The
//! engine then resumes from the committed input offsets and skips records
//! its reps already hold.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::info;

use salespulse_engine::{Engine, EngineConfig};

use crate::contexts::RestoreContext;
use crate::{KafkaError, KafkaSettings, Status};
use salespulse_pipeline::{KIND_CREDIT, KIND_HEADER};
use salespulse_telemetry::Metrics;

/// What restores from the changelog took.
pub struct RestoreMetrics {
    seconds: prometheus::Histogram,
    records: prometheus::IntCounter,
}

impl RestoreMetrics {
    /// The series, registered in `m`.
    pub fn new(m: &Metrics) -> Self {
        RestoreMetrics {
            seconds: m.histogram(
                "salespulse_restore_seconds",
                "Seconds from the start of a restore until a partition was restored from the changelog",
                vec![0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
            ),
            records: m.counter(
                "salespulse_restore_records_total",
                "Changelog records read while restoring partitions",
            ),
        }
    }
}

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

/// Fetch sizes of the restore consumer unless `[kafka.client]` sets them:
/// a restore reads whole partitions, so large fetches mean few round trips.
/// (The prefetch bound is librdkafka's own 64 MiB here, not the service
/// consumers' 16 MiB: a restore reads whole partitions as fast as it can.)
const RESTORE_FETCH: [(&str, &str); 3] = [
    ("max.partition.fetch.bytes", "16777216"),
    ("fetch.max.bytes", "67108864"),
    ("queued.max.messages.kbytes", "65536"),
];

/// A partition being restored.
struct Loading {
    engine: Engine,
    records: u64,
}

/// Engines holding every rep of the given changelog partitions, read at
/// once by one consumer (the broker fetches one partition while the engine
/// loads another); each is done at its partition's end.
pub(crate) fn restore(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    status: &Status,
    partitions: &[i32],
) -> Result<HashMap<i32, Restored>, KafkaError> {
    let topic = &s.output.changelog;
    let mut client = s.consumer_config();
    for (key, value) in RESTORE_FETCH {
        if !s.kafka.client.contains_key(key) {
            client.set(key, value);
        }
    }
    let consumer: BaseConsumer<RestoreContext> = client
        .set("group.id", format!("{}-restore", s.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create_with_context(RestoreContext)
        .map_err(KafkaError::client("creating the restore consumer"))?;
    let mut tpl = TopicPartitionList::new();
    let mut loading = HashMap::new();
    for &p in partitions {
        if let Ok((low, high)) = consumer.fetch_watermarks(topic, p, WATERMARKS) {
            status.health.restore_expects((high - low).max(0) as u64);
        }
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(KafkaError::client("restore assignment"))?;
        let mut engine = Engine::new(cfg.clone());
        engine.set_route_credits(true);
        loading.insert(p, Loading { engine, records: 0 });
    }
    consumer
        .assign(&tpl)
        .map_err(KafkaError::client("restore assignment"))?;
    let started = Instant::now();
    let mut done = HashMap::new();
    let mut last_progress = Instant::now();
    while !loading.is_empty() {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                if let Some(l) = loading.get_mut(&m.partition()) {
                    l.records += 1;
                    status.health.restored(1);
                    last_progress = Instant::now();
                    apply(&mut l.engine, &m)?;
                }
            }
            Some(Err(ClientError::PartitionEOF(p))) => {
                if let Some(l) = loading.remove(&p) {
                    done.insert(p, finish(l, status, p, started));
                }
            }
            Some(Err(e)) => {
                return Err(KafkaError::Client {
                    context: format!("restoring {topic}"),
                    source: e,
                })
            }
            None if last_progress.elapsed() > STALL => {
                let mut waiting: Vec<i32> = loading.keys().copied().collect();
                waiting.sort_unstable();
                return Err(KafkaError::Timeout(format!(
                    "restoring {topic} partitions {waiting:?}: no record and no end of partition for {} s",
                    STALL.as_secs()
                )));
            }
            None => {}
        }
    }
    Ok(done)
}

/// A partition's engine, loaded to the changelog's end.
fn finish(l: Loading, status: &Status, partition: i32, started: Instant) -> Restored {
    let Loading {
        mut engine,
        records,
    } = l;
    engine.finish_restore();
    status.restore.records.inc_by(records);
    let seconds = started.elapsed().as_secs_f64();
    status.restore.seconds.observe(seconds);
    info!(
        partition,
        records,
        reps = engine.rep_count(),
        seconds,
        "restored from the changelog"
    );
    Restored { engine, records }
}

fn apply(engine: &mut Engine, m: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
    let (Some(key), Some(value)) = (m.key(), m.payload()) else {
        return Ok(()); // a tombstone or a keyless record: nothing to load
    };
    let rep = String::from_utf8_lossy(key);
    engine.restore_rep(&rep, value).map_err(KafkaError::from)
}
