//! End-to-end restore through a real broker: the changelog of N reps after
//! D days of activity is written to `salespulse.state` on the test broker
//! (Tansu), then `salespulse run` starts and restores every partition it is
//! assigned. Reports the time from process start to ready (/readyz 200),
//! the restore time the service measured per partition, and the records
//! and bytes read.
//!
//! Run: `cargo bench --bench restore` (defaults: 100,000 reps, 30 days,
//! 4 partitions; override with SALESPULSE_RESTORE_REPS, _DAYS, _PARTITIONS).
//! Needs the test broker: `scripts/install-test-deps`.

use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{build_state, env_or, snapshots};
use support::run::{create_topics, send_waiting, start_run};
use support::{config_dir, free_port, http_get, metric, Broker};

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / `cargo bench -- --list` probe the binary.
    }
    let reps = env_or("SALESPULSE_RESTORE_REPS", 100_000) as usize;
    let days = env_or("SALESPULSE_RESTORE_DAYS", 30) as u32;
    let partitions = env_or("SALESPULSE_RESTORE_PARTITIONS", 4) as i32;

    let records = changelog(reps, days);
    let bytes: usize = records.iter().map(|(_, b)| b.len()).sum();
    println!(
        "restore: changelog of {} reps, {:.1} MiB ({:.0} bytes/rep)",
        records.len(),
        bytes as f64 / 1048576.0,
        bytes as f64 / records.len().max(1) as f64
    );

    let broker = Broker::start();
    let http = format!("127.0.0.1:{}", free_port());
    let cfg = config_dir(
        "restore-bench",
        &broker.addr,
        partitions,
        &format!("[http]\nlisten = \"{http}\"\n"),
    );
    create_topics(&cfg);
    let started = Instant::now();
    write_changelog(&broker.addr, &records);
    println!(
        "restore: changelog written to the broker in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(records);

    let started = Instant::now();
    let mut run = start_run(&cfg);
    let ready = wait_ready(&http);
    let metrics = http_get(&http, "/metrics")
        .map(|(_, b)| b)
        .unwrap_or_default();
    report(ready, &metrics, &run.log(), partitions);
    // Not a graceful stop: that would emit and publish every rep's score.
    let _ = run.kill();
    let _ = run.wait();
    println!("restore: done in {:.1} s", started.elapsed().as_secs_f64());
}

/// The changelog records of `reps` reps after `days` days, built once per
/// (reps, days, format) and cached under target/ (building 100k reps x 30
/// days takes about 12 minutes).
fn changelog(reps: usize, days: u32) -> Vec<(Box<str>, Vec<u8>)> {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "restore-bench-{reps}x{days}-v{}.bin",
        salespulse_engine::SNAPSHOT_FORMAT
    ));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Some(records) = decode_cache(&bytes) {
            println!("restore: changelog read from {}", path.display());
            return records;
        }
    }
    let started = Instant::now();
    let (mut engine, events) = build_state(reps, days);
    let records = snapshots(&mut engine);
    println!(
        "restore: {} reps' state from {events} events built in {:.1} s (cached in {})",
        records.len(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    let mut out = Vec::new();
    for (k, v) in &records {
        for part in [k.as_bytes(), v.as_slice()] {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    let _ = std::fs::write(&path, out);
    records
}

fn decode_cache(mut b: &[u8]) -> Option<Vec<(Box<str>, Vec<u8>)>> {
    fn take(b: &mut &[u8]) -> Option<Vec<u8>> {
        let n = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
        let v = b.get(4..4 + n)?.to_vec();
        *b = &b[4 + n..];
        Some(v)
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let k = String::from_utf8(take(&mut b)?).ok()?;
        out.push((k.into_boxed_str(), take(&mut b)?));
    }
    Some(out)
}

/// Produces every record keyed by rep to the changelog topic, partitioned
/// like the service (murmur2), and waits for the acks.
fn write_changelog(broker: &str, records: &[(Box<str>, Vec<u8>)]) {
    let p: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .create()
        .expect("producer");
    for (rep, bytes) in records {
        send_waiting(
            &p,
            BaseRecord::to("salespulse.state")
                .key(rep.as_bytes())
                .payload(bytes.as_slice()),
        );
    }
    p.flush(Duration::from_secs(120)).expect("changelog acked");
}

/// Time until /readyz answers 200 (restore done, partitions assigned).
fn wait_ready(http: &str) -> Duration {
    let started = Instant::now();
    loop {
        if let Some((200, _)) = http_get(http, "/readyz") {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "not ready within 300 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn report(ready: Duration, metrics: &str, log: &str, partitions: i32) {
    for l in log
        .lines()
        .filter(|l| l.contains("restored from the changelog"))
    {
        println!("restore: service log: {}", l.trim());
    }
    println!(
        "restore: {partitions} partitions; service restored {} records; ready {:.2} s after process start (includes joining the group)",
        metric(metrics, "salespulse_restore_records_total"),
        ready.as_secs_f64(),
    );
}
