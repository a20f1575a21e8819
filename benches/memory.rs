//! Memory per active rep after 30 days of realistic activity, and the
//! changelog: bytes per rep, and the time to snapshot every rep and to
//! restore them into a fresh engine.
//!
//! Run: `cargo bench --bench memory` (defaults: 100,000 reps, 30 days;
//! override with SALESPULSE_MEM_REPS and SALESPULSE_MEM_DAYS). Streams the
//! generator straight into the engine (no file), then reports the engine's
//! own accounting of rep state and the process's resident memory growth.

use std::time::Instant;

mod common;

use common::{build_state, env_or, snapshots};
use salespulse_engine::Engine;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / `cargo bench -- --list` probe the binary.
    }
    let reps = env_or("SALESPULSE_MEM_REPS", 100_000) as usize;
    let days = env_or("SALESPULSE_MEM_DAYS", 30) as u32;
    let before = rss_kib();
    let started = Instant::now();
    let (mut engine, events) = build_state(reps, days);
    let secs = started.elapsed().as_secs_f64();
    let after = rss_kib();
    let heap = engine.heap_bytes();
    let n = engine.rep_count().max(1);
    println!(
        "memory: {reps} reps, {days} days, {events} events generated and applied in {secs:.1} s"
    );
    println!(
        "memory: engine accounting {:.0} bytes/rep ({:.1} MiB total)",
        heap as f64 / n as f64,
        heap as f64 / 1048576.0
    );
    let m = engine.memory();
    println!(
        "memory: per rep: {:.1} full window buckets ({} B each), {:.1} activity buckets ({} B each), {:.1} period sums, {:.1} dedupe ids, {:.1} open deals",
        m.buckets as f64 / n as f64,
        m.bytes_per_bucket,
        m.activity_buckets as f64 / n as f64,
        m.bytes_per_activity_bucket,
        m.period_sums as f64 / n as f64,
        m.dedupe_ids as f64 / n as f64,
        m.open_deals as f64 / n as f64,
    );
    let per = |b: usize| b / n;
    let parts = [
        m.rolling_bytes,
        m.period_bytes,
        m.dedupe_bytes,
        m.deal_bytes,
        m.detect_bytes,
        m.incentive_bytes,
        m.forecast_bytes,
    ];
    println!(
        "memory: bytes per rep: windows {}, periods {}, dedupe {}, deals {}, detectors {}, commission {}, forecast {}, other (map, keys, directory) {}",
        per(m.rolling_bytes),
        per(m.period_bytes),
        per(m.dedupe_bytes),
        per(m.deal_bytes),
        per(m.detect_bytes),
        per(m.incentive_bytes),
        per(m.forecast_bytes),
        per(heap.saturating_sub(parts.iter().sum()))
    );
    println!(
        "memory: RSS growth {:.0} bytes/rep ({:.1} MiB; includes the generator's buffers and allocator slack)",
        (after.saturating_sub(before) * 1024) as f64 / n as f64,
        after.saturating_sub(before) as f64 / 1024.0
    );
    changelog(&mut engine);
}

/// Snapshots every rep as the commit cycle does, then restores them.
fn changelog(engine: &mut Engine) {
    let started = Instant::now();
    let records = snapshots(engine);
    let snap_secs = started.elapsed().as_secs_f64();
    let total: usize = records.iter().map(|(_, b)| b.len()).sum();
    let max = records.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
    let started = Instant::now();
    let mut restored = Engine::new(engine.config().clone());
    for (rep, bytes) in &records {
        restored.restore_rep(rep, bytes).expect("own snapshot");
    }
    restored.finish_restore();
    let restore_secs = started.elapsed().as_secs_f64();
    let n = records.len().max(1);
    println!(
        "changelog: {} records, {:.0} bytes/rep on average, {} at most ({:.1} MiB in all)",
        records.len(),
        total as f64 / n as f64,
        max,
        total as f64 / 1048576.0
    );
    println!(
        "changelog: snapshot of every rep {snap_secs:.2} s; restore into a fresh engine {restore_secs:.2} s ({:.0} reps/s; the service adds the broker fetch)",
        n as f64 / restore_secs.max(1e-9)
    );
    assert_eq!(restored.rep_count(), engine.rep_count());
}
