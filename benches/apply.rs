//! Throughput of the pure core: events applied per second, with and without
//! JSON parsing and validation, for 1k and 100k reps; and, for 1k reps, with
//! each event's score record built (and serialized) as a 10 ms
//! `emit_interval` does.
//!
//! Run: `cargo bench --bench apply` (results in docs/BENCHMARKS.md);
//! `SALESPULSE_APPLY_REPS=1000` for the 1k-rep cases only.
//! Each measured iteration applies the next event of a generated stream to a
//! warm engine: the first simulated day is applied before timing starts (so
//! every rep exists and has history), and when the measured part runs out
//! the engine is rebuilt and re-warmed outside the timing.

/// With `--features bench-mimalloc`, the allocator the service runs with
/// (src/main.rs): its cost per allocation, not glibc's, is what a record costs live.
#[cfg(feature = "bench-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};

use salespulse_engine::{Emit, Engine, EngineConfig, Output, Settings};
use salespulse_loadgen::{Generator, Options};
use salespulse_model::{decode, Event};

fn config() -> EngineConfig {
    let mut s: Settings = Settings::default();
    let engine_toml = include_str!("../config/salespulse.toml");
    let profiles_toml = include_str!("../config/profiles.toml");
    // The benches use the shipped defaults, parsed the way the CLI does.
    let cfg = config::Config::builder()
        .add_source(config::File::from_str(
            engine_toml,
            config::FileFormat::Toml,
        ))
        .add_source(config::File::from_str(
            profiles_toml,
            config::FileFormat::Toml,
        ))
        .build()
        .expect("embedded config");
    s.engine = cfg.get("engine").expect("engine section");
    s.currency = cfg.get("currency").expect("currency section");
    s.scoring = cfg.get("scoring").expect("scoring section");
    s.profiles = cfg.get("profiles").expect("profiles");
    EngineConfig::new(&s).expect("valid config")
}

/// A stream of `reps` reps: the first simulated day (applied untimed, to
/// warm the engine) and up to `max` lines after it (measured).
fn stream(reps: usize, days: u32, max: usize) -> (Vec<String>, Vec<String>) {
    let opts = Options {
        reps,
        days,
        seed: 11,
        ..Options::default()
    };
    let day_two = "\"occurred_at\":\"2026-01-02T";
    let mut warm = Vec::new();
    let mut measured = Vec::new();
    for line in Generator::new(opts) {
        if measured.is_empty() && !line.contains(day_two) {
            warm.push(line);
        } else if measured.len() < max {
            measured.push(line);
        } else {
            break;
        }
    }
    (warm, measured)
}

/// An engine that has applied `warm` (and emitted what it produced).
fn warmed(cfg: &EngineConfig, warm: &[String]) -> Engine {
    let mut e = Engine::new(cfg.clone());
    for l in warm {
        let _ = e.ingest(l.as_bytes(), None);
    }
    e.flush(Emit::Changed);
    drop(e.drain());
    e
}

/// Times `apply` over `items` one at a time, continuing where the previous
/// call stopped; rebuilds a warm engine (untimed) when the items run out.
fn timed<'a, T>(
    cfg: &'a EngineConfig,
    warm: &'a [String],
    items: &'a [T],
    apply: impl Fn(&mut Engine, &T) + 'a,
) -> impl FnMut(u64) -> Duration + 'a {
    let mut engine = warmed(cfg, warm);
    let mut cursor = 0;
    move |iters| {
        let mut spent = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            if cursor == items.len() {
                engine = warmed(cfg, warm);
                cursor = 0;
            }
            let n = left.min((items.len() - cursor) as u64) as usize;
            let start = Instant::now();
            for item in &items[cursor..cursor + n] {
                apply(&mut engine, item);
            }
            spent += start.elapsed();
            cursor += n;
            left -= n as u64;
        }
        spent
    }
}

/// Serializes every record a flush queued for the output topics, as the
/// Kafka sink does.
fn serialize_outputs(e: &mut Engine) {
    for o in e.drain() {
        let bytes = match o {
            Output::Record(r) => serde_json::to_vec(&r),
            Output::Kpis(k) => serde_json::to_vec(&k),
            Output::Coaching(c) => serde_json::to_vec(&c),
            Output::LastPeriods(l) => serde_json::to_vec(&l),
            Output::Statement(s) => serde_json::to_vec(&s),
            Output::Alert(a) => serde_json::to_vec(&a),
            Output::Credit(_) | Output::State { .. } => continue,
        };
        drop(bytes);
    }
}

/// Emission as `emit_interval = 10ms` does it, 1k reps: nearly every event
/// flushes its rep's records; built, then also serialized.
fn bench_emission(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    cfg: &EngineConfig,
    warm: &[String],
    lines: &[String],
) {
    let reps = 1_000;
    group.bench_function(BenchmarkId::new("apply_flush_build", reps), |b| {
        b.iter_custom(timed(cfg, warm, lines, |e, l| {
            let _ = e.ingest(l.as_bytes(), None);
            e.flush(Emit::Changed);
            drop(e.drain());
        }))
    });
    group.bench_function(BenchmarkId::new("apply_flush_serialize", reps), |b| {
        b.iter_custom(timed(cfg, warm, lines, |e, l| {
            let _ = e.ingest(l.as_bytes(), None);
            e.flush(Emit::Changed);
            serialize_outputs(e);
        }))
    });
    // The same with a KPI record for every score record: the most a
    // `service.kpis_interval` of 0s costs.
    group.bench_function(BenchmarkId::new("apply_flush_serialize_kpis", reps), |b| {
        b.iter_custom(timed(cfg, warm, lines, |e, l| {
            let _ = e.ingest(l.as_bytes(), None);
            e.flush(Emit::ChangedWithKpis);
            serialize_outputs(e);
        }))
    });
}

fn bench_apply(c: &mut Criterion) {
    let cfg = config();
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    // SALESPULSE_APPLY_REPS=1000 runs only the 1k-rep cases: criterion's
    // name filter would still generate (and hold, 4 GB) the 100k-rep stream.
    let only: Option<Vec<usize>> = std::env::var("SALESPULSE_APPLY_REPS").ok().map(|v| {
        v.split(',')
            .map(|n| {
                n.trim().parse().unwrap_or_else(|_| {
                    panic!("SALESPULSE_APPLY_REPS = {v:?}: expected rep counts such as 1000 or 1000,100000")
                })
            })
            .collect()
    });
    for (reps, days) in [(1_000usize, 30u32), (100_000, 3)] {
        if only.as_ref().is_some_and(|o| !o.contains(&reps)) {
            continue;
        }
        let (warm, lines) = stream(reps, days, 2_000_000);
        group.bench_function(BenchmarkId::new("json_parse_validate_apply", reps), |b| {
            b.iter_custom(timed(&cfg, &warm, &lines, |e, l| {
                let _ = e.ingest(l.as_bytes(), None);
            }))
        });
        let events: Vec<Event<'_>> = lines
            .iter()
            .filter_map(|l| decode(l.as_bytes(), &cfg.decode).ok())
            .collect();
        group.bench_function(BenchmarkId::new("apply_decoded", reps), |b| {
            b.iter_custom(timed(&cfg, &warm, &events, |e, ev| {
                let _ = e.apply(ev, None);
            }))
        });
        if reps == 1_000 {
            bench_emission(&mut group, &cfg, &warm, &lines);
        }
        group.bench_function(BenchmarkId::new("json_parse_validate_only", reps), |b| {
            let mut cursor = 0;
            b.iter(|| {
                cursor = (cursor + 1) % lines.len();
                decode(lines[cursor].as_bytes(), &cfg.decode).is_ok()
            });
        });
    }
    group.finish();
}

// criterion_group! declares a public function it cannot document.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_apply);
}
use group::benches;
criterion_main!(benches);
