//! `salespulse run`: one processing thread consumes the topics in a
//! consumer group and applies each record through its partition's engine
//! (or, for an input keyed by something else, validates it and re-keys it
//! to the by-rep topic), routes assist credits through the by-rep topic,
//! sends rejects to the DLQ at once and coalesced score records every
//! `emit_interval`. Every `commit_interval` it runs the commit cycle: the
//! changelog records of the changed reps are queued, and the input offsets
//! are committed once every output queued before them is acknowledged
//! (the loop keeps consuming meanwhile). On assignment a partition's reps are restored
//! from the changelog; on revocation the cycle runs before the partition is
//! given up. Records re-delivered after a crash are skipped per rep (their
//! offsets are in the restored state): every record affects the state once.
//!
//! The thread is synchronous: librdkafka calls the rebalance callbacks from
//! inside `poll`, on this thread, and they need the processor, which the
//! loop therefore locks only between polls.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, Producer};
use tracing::{info, warn};

use salespulse_engine::EngineConfig;

use crate::contexts::ProducerHealth;
use crate::control::ControlReader;
use crate::layout::Layout;
use crate::{KafkaError, KafkaSettings, Status};

mod context;
mod cycle;
mod idle;
mod inflight;
mod metrics;
mod processor;
mod sink;
mod takeover;
mod txn;

pub use metrics::{IngestMetrics, OutputMetrics};
pub(crate) use sink::{header_bytes, schema_header};

use context::ServiceContext;
use processor::Processor;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Records read.
    pub read: u64,
    /// Records applied.
    pub applied: u64,
    /// Records sent to the DLQ.
    pub rejected: u64,
    /// Score records and summaries produced.
    pub emitted: u64,
    /// Changelog records read while restoring partitions.
    pub restored: u64,
    /// Records skipped because the restored state already held them.
    pub already_applied: u64,
    /// Valid input records re-keyed to the by-rep topic.
    pub rekeyed: u64,
    /// Assist credits sent to the by-rep topic.
    pub credits_sent: u64,
    /// Changelog records written.
    pub changelog_written: u64,
}

/// How long one step of a transaction (init, send offsets, commit) may take.
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

fn now_ms() -> i64 {
    salespulse_model::Timestamp::wall_now().0
}

/// The processor, locked; a panic elsewhere does not hide the state.
fn lock(p: &Mutex<Processor>) -> MutexGuard<'_, Processor> {
    p.lock().unwrap_or_else(PoisonError::into_inner)
}

fn producer(
    s: &KafkaSettings,
    status: &Arc<Status>,
) -> Result<FutureProducer<ProducerHealth>, KafkaError> {
    let mut c = s.producer_config();
    // The service waits for the broker rather than dropping outputs: with no
    // delivery timeout an outage only delays acknowledgements (and commits).
    for (key, value) in [
        ("statistics.interval.ms", "1000"),
        ("message.timeout.ms", "0"),
    ] {
        if !s.kafka.client.contains_key(key) {
            c.set(key, value);
        }
    }
    if s.kafka.transactional {
        c.set("transactional.id", transactional_id(s));
    }
    c.create_with_context(ProducerHealth(status.health.clone()))
        .map_err(KafkaError::client("creating the producer"))
}

/// The open transaction when `kafka.transactional` is on.
fn transactions(
    s: &KafkaSettings,
    producer: &FutureProducer<ProducerHealth>,
) -> Result<Option<txn::Txn>, KafkaError> {
    if !s.kafka.transactional {
        return Ok(None);
    }
    let txn = txn::Txn::init(producer, TXN_TIMEOUT)?;
    info!("output is transactional: exactly once for read_committed consumers");
    Ok(Some(txn))
}

/// The transactional id: stable for a static member (`instance_id`), so a
/// restarted instance fences its predecessor's producer at once; else unique
/// per process, and a member that lost its partitions is fenced by the
/// group generation its offsets are sent with.
fn transactional_id(s: &KafkaSettings) -> String {
    if s.kafka.instance_id.is_empty() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{}-{}-{nanos:x}", s.kafka.group_id, std::process::id())
    } else {
        format!("{}-{}", s.kafka.group_id, s.kafka.instance_id)
    }
}

fn consumer(
    s: &KafkaSettings,
    ctx: ServiceContext,
) -> Result<BaseConsumer<ServiceContext>, KafkaError> {
    let mut client = s.consumer_config();
    // Defaults the user may override in [kafka.client]: lag statistics every
    // second, and a short fetch wait so a quiet topic does not add up to
    // librdkafka's default 500 ms to the event-to-emit latency.
    for (key, value) in [
        ("statistics.interval.ms", "1000"),
        ("fetch.wait.max.ms", "50"),
    ] {
        if !s.kafka.client.contains_key(key) {
            client.set(key, value);
        }
    }
    // Static membership: a restarted instance rejoins under the same name
    // and gets its partitions back at once, without a rebalance or waiting
    // for its predecessor's session to time out.
    if !s.kafka.instance_id.is_empty() {
        client.set("group.instance.id", &s.kafka.instance_id);
    }
    client
        .set("group.id", &s.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // Range hands partition i of every subscribed topic to one member,
        // which keeps the input, by-rep and changelog co-partitioned.
        .set("partition.assignment.strategy", "range")
        .create_with_context(ctx)
        .map_err(KafkaError::client("creating the consumer"))
}

/// Runs until `shutdown` resolves, then emits every owned rep, runs the
/// commit cycle and returns.
pub async fn run(
    s: &KafkaSettings,
    cfg: &EngineConfig,
    status: Arc<Status>,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, KafkaError> {
    s.validate()?;
    let pseudonymizer = s.privacy.pseudonymizer()?;
    info!(
        key_id = pseudonymizer.key_id(),
        "customer identifiers are pseudonymised at ingest"
    );
    let producer = producer(s, &status)?;
    let layout = Layout::discover(s, producer.client())?;
    let txn = transactions(s, &producer)?;
    for t in layout.processed.iter().filter(|t| **t != layout.by_rep) {
        status.ingest.watch_misrouted(t);
    }
    let proc = Arc::new(Mutex::new(Processor::new(
        s.clone(),
        cfg.clone(),
        layout,
        status.clone(),
        producer,
        txn,
        pseudonymizer,
    )));
    let consumer = consumer(s, ServiceContext::new(status.clone(), proc.clone()))?;
    consumer
        .subscribe(&lock(&proc).out.layout.topics())
        .map_err(KafkaError::client("subscribing"))?;
    let mut control = ControlReader::new(s, cfg)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread = {
        let (s, stop, proc) = (s.clone(), stop.clone(), proc.clone());
        std::thread::Builder::new()
            .name("salespulse-processor".into())
            .spawn(move || {
                let result = run_loop(&s, &consumer, &mut control, &proc, &stop);
                drop(consumer); // leaves the group (its revoke callback runs a last cycle)
                let _ = done_tx.send(());
                result
            })
            .map_err(|e| KafkaError::Internal(format!("starting the processing thread: {e}")))?
    };
    tokio::pin!(shutdown);
    tokio::select! {
        _ = &mut shutdown => {}
        _ = done_tx_closed(done_rx) => {}
    }
    stop.store(true, Ordering::Relaxed);
    let result = tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| KafkaError::Internal(format!("joining the processing thread: {e}")))?
        .map_err(|_| KafkaError::Internal("the processing thread panicked".into()))?;
    let summary = result?;
    info!(?summary, "stopped");
    Ok(summary)
}

/// Resolves when the processing thread ends on its own (an error).
async fn done_tx_closed(rx: tokio::sync::oneshot::Receiver<()>) {
    let _ = rx.await;
}

/// Polls and applies one message, unless the control topic is stale: an
/// unseen profile change could cover the next events, so nothing is
/// applied until it has been read again.
fn poll_once(
    consumer: &BaseConsumer<ServiceContext>,
    control: &ControlReader,
    proc: &Mutex<Processor>,
    wait: Duration,
    stale_since: &mut Option<Instant>,
) -> Result<(), KafkaError> {
    if control.fresh() {
        if stale_since.take().is_some() {
            info!("control topic read: processing resumes");
        }
        match consumer.poll(wait) {
            Some(Ok(m)) => lock(proc).handle(consumer, &m)?,
            Some(Err(e)) => warn!(error = %e, "consume error"),
            None => {}
        }
    } else {
        if stale_since.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
            warn!("the control topic could not be read recently: processing waits");
            *stale_since = Some(Instant::now());
        }
        std::thread::sleep(wait.max(Duration::from_millis(50)));
    }
    Ok(())
}

/// The processing loop: poll, apply, and run the emit and commit cycles on time.
fn run_loop(
    s: &KafkaSettings,
    consumer: &BaseConsumer<ServiceContext>,
    control: &mut ControlReader,
    proc: &Mutex<Processor>,
    stop: &AtomicBool,
) -> Result<RunSummary, KafkaError> {
    let emit_every = Duration::from_millis(s.emit_interval_ms()?);
    let commit_every = Duration::from_millis(s.commit_interval_ms()?);
    let gauges_every = Duration::from_secs(5);
    let mut next_emit = Instant::now() + emit_every;
    let mut next_commit = Instant::now() + commit_every;
    let mut next_gauges = Instant::now();
    info!(group = %s.kafka.group_id, keyed_by = %s.input.keyed_by, "consuming");
    let mut stale_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        if control.due() {
            if let Err(e) = lock(proc).read_control(control) {
                warn!(error = %e, "reading the control topic");
            }
        }
        let due = next_emit.min(next_commit).min(next_gauges);
        let wait = due
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        poll_once(consumer, control, proc, wait, &mut stale_since)?;
        if let Some(e) = lock(proc).fatal.take() {
            return Err(e);
        }
        let now = Instant::now();
        if now >= next_commit {
            let mut p = lock(proc);
            p.move_idle_clocks(consumer)?;
            p.commit_cycle(consumer)?;
            next_commit = now + commit_every;
            next_emit = now + emit_every;
        } else if now >= next_emit {
            let mut p = lock(proc);
            p.move_idle_clocks(consumer)?;
            p.emit_cycle(consumer)?;
            next_emit = now + emit_every;
        }
        if now >= next_gauges {
            lock(proc).refresh_gauges();
            next_gauges = now + gauges_every;
        }
    }
    // Every owned rep gets a record at its partition's final stream time, so
    // the last record per rep equals a replay of the input.
    let mut p = lock(proc);
    p.final_records = true;
    p.flush_all(consumer)?;
    p.refresh_gauges();
    p.out
        .producer
        .flush(Duration::from_secs(10))
        .map_err(KafkaError::client("flushing the producer"))?;
    p.stopped = true;
    Ok(p.out.summary.clone())
}
