//! The broker's own share of event-to-emit latency: a bare producer offers
//! records at a fixed rate (the same paced producer the latency phases use)
//! and a bare consumer, tailing the topic from its end, records for each
//! record the time from its Kafka timestamp to its arrival. No service runs
//! meanwhile, so this is the floor any consumer of this broker sees at that
//! load on these cores: one produce and one fetch, where the service's path
//! adds its own processing, a second produce (the score record) and its
//! acknowledgement.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::support::fault::produce_paced;

fn now_ms() -> i64 {
    salespulse_model::Timestamp::wall_now().0
}

/// Produce-to-consume latencies (seconds, ascending) of `lines` offered at
/// `rate` to `topic`, read back by a consumer configured like the
/// service's (`fetch.wait.max.ms` = 50).
pub fn broker_latency(
    broker: &str,
    topic: &str,
    partitions: i32,
    lines: Vec<String>,
    rate: f64,
) -> Vec<f64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "e2e-probe")
        .set("fetch.wait.max.ms", "50")
        .create()
        .expect("probe consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::End)
            .expect("tpl");
    }
    c.assign(&tpl).expect("assign");
    // Let the consumer resolve its end offsets before the first record.
    let settle = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < settle {
        c.poll(Duration::from_millis(50));
    }
    let n = lines.len();
    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let (broker, done) = (broker.to_string(), done.clone());
        std::thread::spawn(move || {
            produce_paced(&broker, lines, rate)
                .join()
                .expect("producer");
            done.store(true, Ordering::Relaxed);
        })
    };
    let mut seen = Vec::with_capacity(n);
    let mut quiet_since: Option<std::time::Instant> = None;
    while seen.len() < n {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                quiet_since = None;
                if let Some(ts) = m.timestamp().to_millis() {
                    seen.push((now_ms() - ts).max(0) as f64 / 1000.0);
                }
            }
            _ if done.load(Ordering::Relaxed) => {
                let since = *quiet_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > Duration::from_secs(10) {
                    break; // every record produced and nothing new for 10 s
                }
            }
            _ => {}
        }
    }
    producer.join().expect("probe producer");
    println!("e2e: broker probe read {} of {n} records", seen.len());
    seen.sort_by(f64::total_cmp);
    seen
}

/// The `q` quantile of ascending `sorted` (NaN when empty).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}
