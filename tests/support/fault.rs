//! Helpers of the fault tests: a paced producer running beside the
//! service, the consumer group's committed offsets and the topics' ends as
//! seen from outside, and a small seeded random source for kill times.

use std::collections::HashMap;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::run::send_waiting;

/// The key a test record is produced with: its rep_id, or a fixed key for
/// lines without one (so every record's partition is known in advance).
pub fn key_of(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["rep_id"].as_str().map(str::to_string))
        .unwrap_or_else(|| "no-rep-id".into())
}

/// Records per partition of `topic` once `lines` are all produced.
pub fn expected_ends(lines: &[String], partitions: i32) -> Vec<i64> {
    let mut ends = vec![0i64; partitions as usize];
    for l in lines {
        ends[salespulse_pipeline::partition_for(key_of(l).as_bytes(), partitions) as usize] += 1;
    }
    ends
}

/// Produces `lines` to `sales.events` at about `rate` records per second on
/// a thread, keyed by rep_id with Kafka's default partitioner.
pub fn produce_paced(broker: &str, lines: Vec<String>, rate: f64) -> JoinHandle<()> {
    let broker = broker.to_string();
    std::thread::spawn(move || {
        let p: BaseProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &broker)
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", "0")
            .create()
            .expect("producer");
        let started = Instant::now();
        for (i, l) in lines.iter().enumerate() {
            let due = Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            let key = key_of(l);
            send_waiting(&p, BaseRecord::to("sales.events").key(&key).payload(l));
        }
        p.flush(Duration::from_secs(120)).expect("flush");
    })
}

/// The group's committed offset per partition of `topic` (0 when none).
pub fn committed(broker: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    match c.committed_offsets(tpl, Duration::from_secs(10)) {
        Ok(t) => t
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .collect(),
        Err(_) => vec![-1; partitions as usize],
    }
}

/// The end offset of each partition of `topic`, read up to partition EOF.
pub fn ends(broker: &str, topic: &str, partitions: i32) -> Vec<i64> {
    (0..partitions)
        .map(|p| {
            let c: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", broker)
                .set("group.id", "fault-ends")
                .set("enable.partition.eof", "true")
                .create()
                .expect("consumer");
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("tpl");
            c.assign(&tpl).expect("assign");
            let mut end = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                match c.poll(Duration::from_millis(500)) {
                    Some(Ok(m)) => end = m.offset() + 1,
                    Some(Err(KafkaError::PartitionEOF(_))) => return end,
                    _ => {}
                }
            }
            panic!("no end of {topic}/{p}")
        })
        .collect()
}

/// The size (key, value and headers) of each record of `topic`'s
/// `partition`, in offset order, read up to partition EOF.
pub fn record_sizes(broker: &str, topic: &str, partition: i32) -> Vec<usize> {
    use rdkafka::message::Headers;
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "it-sizes")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .expect("tpl");
    c.assign(&tpl).expect("assign");
    let mut sizes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match c.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                let headers = m.headers().map_or(0, |h| {
                    h.iter()
                        .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len))
                        .sum()
                });
                sizes.push(
                    m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len) + headers,
                );
            }
            Some(Err(KafkaError::PartitionEOF(_))) => return sizes,
            _ => {}
        }
    }
    panic!("no end of {topic}/{partition}")
}

/// Waits until the group committed every record of the input (`input_ends`)
/// and of the by-rep topic (whose end is known once the input is committed).
pub fn wait_all_committed(broker: &str, group: &str, input_ends: &[i64], timeout: Duration) {
    let n = input_ends.len() as i32;
    let deadline = Instant::now() + timeout;
    let mut last = Vec::new();
    while committed(broker, group, "sales.events", n) != input_ends {
        last = committed(broker, group, "sales.events", n);
        assert!(
            Instant::now() < deadline,
            "input not committed: {last:?} of {input_ends:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let by_rep = ends(broker, "salespulse.by-rep", n);
    while committed(broker, group, "salespulse.by-rep", n) != by_rep {
        last = committed(broker, group, "salespulse.by-rep", n);
        assert!(
            Instant::now() < deadline,
            "by-rep not committed: {last:?} of {by_rep:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("fault: all committed (input {input_ends:?}, by-rep {by_rep:?}) {last:?}");
}

/// A small seeded generator (xorshift) so kill times can be printed and replayed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `SALESPULSE_FAULT_SEED`, else the clock; prints the seed.
    pub fn from_env() -> Rng {
        let seed = std::env::var("SALESPULSE_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("fault: seed {seed} (rerun with SALESPULSE_FAULT_SEED={seed})");
        Rng(seed.max(1))
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo).max(1)
    }
}

/// Prints the day summaries (rep, day) where the live score topic and a
/// replay over `partitions` differ (at most 10), to locate lost or doubled
/// events.
pub fn print_day_differences(records: &[super::Record], events: &std::path::Path, partitions: i32) {
    fn days(
        vals: impl Iterator<Item = serde_json::Value>,
    ) -> HashMap<(String, String), serde_json::Value> {
        let mut out: HashMap<(String, String), (u64, serde_json::Value)> = HashMap::new();
        for v in vals {
            if v["kind"] != "period_summary" || v["period"]["kind"] != "day" {
                continue;
            }
            let key = (
                v["rep_id"].as_str().unwrap_or_default().to_string(),
                v["period"]["start"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            let version = v["seq"].as_u64().unwrap_or(0);
            if out.get(&key).is_none_or(|(old, _)| version >= *old) {
                out.insert(key, (version, v));
            }
        }
        out.into_iter()
            .map(|(k, (_, v))| (k, v["kpis"].clone()))
            .collect()
    }
    let live = days(
        records
            .iter()
            .filter_map(|(_, p, _)| serde_json::from_slice(p).ok()),
    );
    let out = super::run::salespulse(&[
        "replay",
        "--events",
        events.to_str().unwrap_or_default(),
        "--partitions",
        &partitions.to_string(),
        "--emit",
        "all",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let replay = days(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
    let mut keys: Vec<_> = replay
        .keys()
        .filter(|k| live.get(*k) != replay.get(*k))
        .collect();
    keys.sort();
    for k in keys.iter().take(10) {
        let diff = json_diff(
            "",
            live.get(*k).unwrap_or(&serde_json::Value::Null),
            &replay[*k],
        );
        eprintln!(
            "fault: day summary differs {} {}: {}",
            k.0,
            k.1,
            diff.join("; ")
        );
    }
}

/// Prints the `run:` summary line of a service log, and its warnings.
pub fn print_run_summary(label: &str, log: &str) {
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("run:")).collect();
    eprintln!("fault: {label}: {}", lines.join(" "));
    print_warnings(label, log);
}

/// Prints the service's own warnings and errors in `log` (not librdkafka's
/// configuration notes), at most 20: a consumer gap or a failed commit in
/// a killed run is otherwise lost with the run.
pub fn print_warnings(label: &str, log: &str) {
    let warnings = log
        .lines()
        .filter(|l| (l.contains(" WARN ") || l.contains(" ERROR ")) && !l.contains("CONFWARN"));
    for line in warnings.take(20) {
        eprintln!("fault: {label}: {line}");
    }
}

/// Asserts that the last score record per rep on the score topic equals a
/// replay of `events` over `partitions` partitions; on a difference, first
/// prints the day summaries that differ (to locate the records).
pub fn assert_equals_replay(broker: &str, events: &std::path::Path, partitions: i32) {
    let want = super::run::replay_partitioned(events, partitions as u16);
    let records = super::read_topic(broker, "salespulse.scores", partitions);
    let got = super::run::last_scores(&records);
    assert_eq!(got.len(), want.len(), "reps on the score topic");
    let mut differ: Vec<&String> = want
        .keys()
        .filter(|r| got.get(*r) != want.get(*r))
        .collect();
    differ.sort();
    if let Some(rep) = differ.first() {
        print_day_differences(&records, events, partitions);
        panic!(
            "{} of {} reps differ from replay; first {rep}: {}",
            differ.len(),
            want.len(),
            json_diff("", &got[*rep], &want[*rep]).join("; ")
        );
    }
}

/// Paths where two JSON values differ, with both values.
fn json_diff(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => y
            .iter()
            .flat_map(|(k, v)| {
                json_diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&serde_json::Value::Null),
                    v,
                )
            })
            .collect(),
        _ if a != b => vec![format!("{path}: live {a} replay {b}")],
        _ => Vec::new(),
    }
}
