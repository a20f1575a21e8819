//! `salespulse loadgen --brokers`: the generator's events to a Kafka topic,
//! keyed by rep_id, at a steady rate.

use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use salespulse_loadgen::{Generator, Options};

use crate::{KafkaError, KafkaSettings};

/// What was produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProduceSummary {
    /// Records acknowledged.
    pub produced: u64,
    /// Seconds taken.
    pub seconds: f64,
}

#[derive(serde::Deserialize)]
struct KeyOnly<'a> {
    #[serde(borrow)]
    rep_id: Option<&'a str>,
}

/// Produces the generated company (`opts`) to `topic` at `rate` events per
/// second (0: as fast as possible), stopping after `max` records or `duration`.
pub async fn produce_generated(
    s: &KafkaSettings,
    topic: &str,
    opts: Options,
    rate: u64,
    max: Option<u64>,
    duration: Option<Duration>,
) -> Result<ProduceSummary, KafkaError> {
    let producer: FutureProducer = s
        .producer_config()
        .create()
        .map_err(KafkaError::client("creating the producer"))?;
    let started = Instant::now();
    let mut produced = 0u64;
    let mut pending = Vec::new();
    for line in Generator::new(opts) {
        if max.is_some_and(|m| produced >= m) || duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if rate > 0 {
            let due = Duration::from_secs_f64(produced as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        // Malformed lines may have no readable rep_id; they go unkeyed.
        let key = serde_json::from_str::<KeyOnly<'_>>(&line)
            .ok()
            .and_then(|k| k.rep_id.map(str::to_string));
        let mut record = FutureRecord::to(topic).payload(line.as_bytes());
        if let Some(k) = key.as_deref() {
            record = record.key(k);
        }
        match producer.send_result(record) {
            Ok(f) => pending.push(f),
            Err((e, _)) => {
                return Err(KafkaError::Client {
                    context: format!("producing to {topic}"),
                    source: e,
                })
            }
        }
        produced += 1;
        if pending.len() >= 10_000 {
            for f in pending.drain(..) {
                delivered(f.await, "a generated record")?;
            }
        }
    }
    for f in pending {
        delivered(f.await, "a generated record")?;
    }
    producer
        .flush(Duration::from_secs(10))
        .map_err(KafkaError::client("flushing the producer"))?;
    Ok(ProduceSummary {
        produced,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A delivery future's outcome as our error, naming `what` was delivered.
pub(crate) fn delivered<E>(
    r: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, E>,
    what: &str,
) -> Result<(), KafkaError> {
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(KafkaError::Client {
            context: format!("delivering {what}"),
            source: e,
        }),
        Err(_) => Err(KafkaError::Dropped(what.to_string())),
    }
}
