//! End-to-end benchmark through a real broker (Tansu, started here):
//!
//! 1. **Drain.** N generated events are preloaded into `sales.events`
//!    (P partitions). A bare rdkafka consumer reads and JSON-parses them
//!    (the floor to compare with); then `salespulse run` with its default
//!    config drains them until every input offset is committed (scores,
//!    changelog and offsets acknowledged). Reported: events/s, CPU seconds
//!    per million events and peak RSS of the service.
//! 2. **Latency.** On a fresh broker with the same events preloaded, the
//!    service with `emit_interval = 10ms` (the latency goal's setting, which
//!    emits a score record for nearly every event) drains them first: that
//!    rate is the maximum the loads are shares of. Then events are offered
//!    at 25%, 50% and 75% of it; the event-to-emit p50/p99/p99.9 of each
//!    phase come from the service's `salespulse_event_to_emit_seconds`
//!    histogram (see `latency`).
//! 3. **The broker alone.** With the service stopped, the same loads are
//!    offered to the same topic and a bare consumer times each record from
//!    its Kafka timestamp to its arrival: the floor under phase 2 (`probe`).
//! 4. **Scaling.** The drain of phase 1 again on a fresh broker with two
//!    instances in the group, measured from the moment both own partitions.
//!
//! The result goes to `target/bench/e2e.json` and, as a table, to the end of
//! docs/BENCHMARKS.md (set SALESPULSE_E2E_APPEND=0 not to).
//!
//! Run: `cargo bench --bench e2e`. Environment: SALESPULSE_E2E_EVENTS
//! (default 1,000,000), SALESPULSE_E2E_PROBE_BYTES (0: the probe's records
//! as generated), SALESPULSE_E2E_LATENCY_TOML (config added to the latency
//! instance), SALESPULSE_E2E_PARTITIONS (4), SALESPULSE_E2E_LOAD_SECS
//! (20 per latency phase). Needs the test broker: `scripts/install-test-deps`.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::json;

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "e2e/latency.rs"]
mod latency;
#[path = "e2e/probe.rs"]
mod probe;
#[path = "e2e/report.rs"]
mod report;
#[path = "e2e/service.rs"]
mod service;

use common::env_or;
use latency::Histogram;
use service::Instance;
use support::fault::{committed, produce_paced};
use support::run::{create_topics, produce};
use support::{config_dir, Broker};

/// The generated stream, pulled as the phases need it.
struct Events(salespulse_loadgen::Generator);

impl Events {
    fn new() -> Self {
        Events(salespulse_loadgen::Generator::new(
            salespulse_loadgen::Options {
                reps: 5_000,
                days: 365,
                seed: 9,
                ..Default::default()
            },
        ))
    }

    fn take(&mut self, n: usize) -> Vec<String> {
        self.0.by_ref().take(n).collect()
    }
}

/// A fresh broker with the topics, the config for `instances` services,
/// and `lines` preloaded.
struct Setup {
    broker: Broker,
    cfg: support::Scratch,
    partitions: i32,
}

/// The service's `emit_interval` in the latency phases.
const LATENCY_EMIT_INTERVAL: &str = "10ms";

/// The latency instance's extra config file: `emit_interval = every` and
/// SALESPULSE_E2E_LATENCY_TOML. Checked when the bench starts: bad TOML
/// would otherwise only show, minutes in, as a service that never starts.
fn latency_toml(every: &str) -> String {
    let extra = std::env::var("SALESPULSE_E2E_LATENCY_TOML").unwrap_or_default();
    let text = format!("[service]\nemit_interval = \"{every}\"\n{extra}\n");
    if let Err(e) = config::Config::builder()
        .add_source(config::File::from_str(&text, config::FileFormat::Toml))
        .build()
    {
        panic!(
            "SALESPULSE_E2E_LATENCY_TOML = {extra:?}: not valid TOML after a [service] table ({e})"
        );
    }
    text
}

/// `emit_interval`: `None` for the service's default.
fn setup(name: &str, partitions: i32, lines: &[String], emit_interval: Option<&str>) -> Setup {
    let broker = Broker::start();
    let cfg = config_dir(name, &broker.addr, partitions, "");
    if let Some(every) = emit_interval {
        // SALESPULSE_E2E_LATENCY_TOML is appended to the latency instance's
        // config, inside its [service] table unless it opens another one:
        // e.g. 'commit_interval = "5s"' or '[detect]\nenabled = false', to
        // see what a setting does to the latency phases.
        std::fs::write(cfg.join("zz-bench.toml"), latency_toml(every)).expect("bench config");
    }
    create_topics(&cfg);
    let started = Instant::now();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    produce(&broker.addr, &refs);
    println!(
        "e2e[{name}]: preloaded {} events in {:.1} s",
        lines.len(),
        started.elapsed().as_secs_f64()
    );
    Setup {
        broker,
        cfg,
        partitions,
    }
}

/// Reads every preloaded record with a bare consumer that JSON-parses each: records/s.
fn bare_consumer(s: &Setup, n: usize) -> f64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &s.broker.addr)
        .set("group.id", "e2e-bare")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..s.partitions {
        tpl.add_partition_offset("sales.events", p, Offset::Beginning)
            .expect("tpl");
    }
    c.assign(&tpl).expect("assign");
    let (mut read, mut parsed) = (0usize, 0usize);
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while read < n && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            read += 1;
            let v: Result<serde_json::Value, _> =
                serde_json::from_slice(m.payload().unwrap_or_default());
            parsed += usize::from(v.is_ok());
        }
    }
    let secs = first.map_or(f64::NAN, |f| f.elapsed().as_secs_f64());
    println!("e2e: bare consumer read {read} records ({parsed} JSON) in {secs:.2} s");
    read as f64 / secs
}

/// The drain by `instances` services: events/s from the moment every
/// instance owns partitions until every input offset is committed. With
/// `late` lines, the topic is empty until then and they are produced at
/// full speed from that moment (so a second instance's join does not find
/// the first one done).
fn drain(s: &Setup, instances: usize, n: usize, late: &[String]) -> (f64, Vec<Instance>) {
    let runs: Vec<Instance> = (0..instances).map(|i| Instance::start(&s.cfg, i)).collect();
    let group = "it-e2e";
    let all_own = Instant::now() + Duration::from_secs(120);
    while !runs.iter().all(Instance::owns_partitions) {
        assert!(Instant::now() < all_own, "instances did not get partitions");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t0 = Instant::now();
    let done_at_t0: i64 = committed(&s.broker.addr, group, "sales.events", s.partitions)
        .iter()
        .sum();
    if !late.is_empty() {
        let refs: Vec<&str> = late.iter().map(String::as_str).collect();
        produce(&s.broker.addr, &refs);
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let c: i64 = committed(&s.broker.addr, group, "sales.events", s.partitions)
            .iter()
            .sum();
        if c as usize >= n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "drain did not finish: {c} of {n}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = t0.elapsed().as_secs_f64();
    let rate = (n as f64 - done_at_t0 as f64) / secs;
    println!(
        "e2e: {instances} instance(s) drained {} events in {secs:.2} s ({} were committed when all owned partitions): {rate:.0} events/s",
        n as i64 - done_at_t0,
        done_at_t0
    );
    (rate, runs)
}

/// Offers `rate` events/s for `secs` and returns the phase's latency histogram.
fn offered(s: &Setup, run: &Instance, events: &mut Events, rate: f64, secs: u64) -> Histogram {
    let before = run.histogram();
    let lines = events.take((rate * secs as f64) as usize);
    let n = lines.len() as f64;
    let target = run.processed() + n;
    produce_paced(&s.broker.addr, lines, rate)
        .join()
        .expect("producer thread");
    run.wait_processed(target);
    std::thread::sleep(Duration::from_millis(500)); // the last flush
    run.histogram().minus(&before)
}

/// Bytes produced per input event, by topic, from an instance's
/// `salespulse_output_bytes_total` after it drained `n` events.
fn per_event(bytes: &std::collections::BTreeMap<String, f64>, n: usize) -> serde_json::Value {
    let by_topic: serde_json::Map<String, serde_json::Value> = bytes
        .iter()
        .map(|(t, b)| (t.clone(), json!((b / n as f64 * 10.0).round() / 10.0)))
        .collect();
    println!("e2e: bytes produced per input event: {by_topic:?}");
    serde_json::Value::Object(by_topic)
}

/// A quantile for the JSON result: seconds, or a note when it is beyond the
/// histogram (JSON has no infinity).
fn seconds(q: f64) -> serde_json::Value {
    if q.is_finite() {
        json!(q)
    } else {
        json!("> 10 s")
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / `cargo bench -- --list` probe the binary.
    }
    latency::self_check();
    latency_toml(LATENCY_EMIT_INTERVAL);
    let n = env_or("SALESPULSE_E2E_EVENTS", 1_000_000) as usize;
    let partitions = env_or("SALESPULSE_E2E_PARTITIONS", 4) as i32;
    let load_secs = env_or("SALESPULSE_E2E_LOAD_SECS", 20);
    let mut events = Events::new();
    let lines = events.take(n);

    let default = setup("e2e", partitions, &lines, None);
    let bare = bare_consumer(&default, n);
    let (drained, runs) = drain(&default, 1, n, &[]);
    let usage = runs[0].usage();
    println!(
        "e2e: service {:.2} CPU s per million events, peak RSS {:.0} MiB",
        usage.cpu_seconds / n as f64 * 1e6,
        usage.peak_rss_kib as f64 / 1024.0
    );
    std::thread::sleep(Duration::from_secs(2)); // the last flush
    let bytes = per_event(&runs[0].output_bytes(), n);
    drop(runs);
    drop(default);

    let one = setup("e2e", partitions, &lines, Some(LATENCY_EMIT_INTERVAL));
    let (rate, runs) = drain(&one, 1, n, &[]);
    let run = &runs[0];
    let usage10 = run.usage();
    let bytes10 = per_event(&run.output_bytes(), n);
    println!(
        "e2e: with emit_interval {LATENCY_EMIT_INTERVAL}: {:.2} CPU s per million events",
        usage10.cpu_seconds / n as f64 * 1e6,
    );
    let mut phases = Vec::new();
    for share in [0.25, 0.5, 0.75] {
        let h = offered(&one, run, &mut events, rate * share, load_secs);
        let q = [0.5, 0.99, 0.999].map(|p| h.quantile(p));
        println!(
            "e2e: {:.0}% load ({:.0} events/s): event-to-emit p50 {} p99 {} p99.9 {} ({} flushes)",
            share * 100.0,
            rate * share,
            latency::ms(q[0]),
            latency::ms(q[1]),
            latency::ms(q[2]),
            h.count()
        );
        phases.push(json!({
            "share": share, "offered_per_s": rate * share, "flushes": h.count(),
            "p50_s": seconds(q[0]), "p99_s": seconds(q[1]), "p999_s": seconds(q[2]),
        }));
    }
    drop(runs);
    let mut broker_alone = Vec::new();
    // SALESPULSE_E2E_PROBE_BYTES=3100 pads the probe's records (trailing
    // spaces) to the size of a score record: the broker's latency for what
    // the service produces, not for what it reads.
    let pad = env_or("SALESPULSE_E2E_PROBE_BYTES", 0) as usize;
    for share in [0.25, 0.5, 0.75] {
        let mut lines = events.take((rate * share * load_secs as f64) as usize);
        for l in &mut lines {
            let short = pad.saturating_sub(l.len());
            l.extend(std::iter::repeat_n(' ', short));
        }
        let l = probe::broker_latency(
            &one.broker.addr,
            "sales.events",
            partitions,
            lines,
            rate * share,
        );
        let q = [0.5, 0.99, 0.999].map(|p| probe::quantile(&l, p));
        println!(
            "e2e: broker alone at {:.0}% load{}: produce-to-consume p50 {} p99 {} p99.9 {}",
            share * 100.0,
            if pad > 0 {
                format!(" ({pad}-byte records)")
            } else {
                String::new()
            },
            latency::ms(q[0]),
            latency::ms(q[1]),
            latency::ms(q[2]),
        );
        broker_alone.push(json!({
            "share": share, "offered_per_s": rate * share, "records": l.len(), "record_bytes": pad,
            "p50_s": q[0], "p99_s": q[1], "p999_s": q[2],
        }));
    }
    drop(one);

    let two = setup("e2e", partitions, &[], None);
    let (rate2, runs2) = drain(&two, 2, n, &lines);
    let cpu2: f64 = runs2.iter().map(|r| r.usage().cpu_seconds).sum();
    drop(runs2);
    drop(two);

    let result = json!({
        "events": n, "partitions": partitions,
        "bare_consumer_per_s": bare,
        "drain_per_s": drained, "drain_share_of_bare": drained / bare,
        "cpu_s_per_million": usage.cpu_seconds / n as f64 * 1e6,
        "output_bytes_per_event": bytes,
        "output_bytes_per_event_latency_config": bytes10,
        "peak_rss_kib": usage.peak_rss_kib,
        "latency_emit_interval": LATENCY_EMIT_INTERVAL,
        "latency_extra_toml": std::env::var("SALESPULSE_E2E_LATENCY_TOML").unwrap_or_default(),
        "drain_latency_config_per_s": rate,
        "cpu_s_per_million_latency_config": usage10.cpu_seconds / n as f64 * 1e6,
        "latency": phases,
        "broker_latency": broker_alone,
        "two_instances_drain_per_s": rate2,
        "two_instances_cpu_s_per_million": cpu2 / n as f64 * 1e6,
    });
    report::write(&result);
}
