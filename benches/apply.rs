//! Throughput of the pure core: events applied per second, with and without
//! JSON parsing and validation, for 1k and 100k reps.
//!
//! Run: `cargo bench --bench apply` (results in docs/BENCHMARKS.md).
//! Each measured iteration applies the next event of a generated stream to a
//! warm engine; when the stream runs out the engine is rebuilt outside the timing.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};

use salespulse_engine::{Engine, EngineConfig, Settings};
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

/// A stream of `reps` reps over `days` days, skipping the first day's
/// directory burst so the measured mix is the steady state.
fn stream(reps: usize, days: u32, max: usize) -> Vec<String> {
    let opts = Options {
        reps,
        days,
        seed: 11,
        ..Options::default()
    };
    Generator::new(opts).take(max).collect()
}

fn bench_apply(c: &mut Criterion) {
    let cfg = config();
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    for (reps, days) in [(1_000usize, 30u32), (100_000, 2)] {
        let lines = stream(reps, days, 2_000_000);
        group.bench_with_input(
            BenchmarkId::new("json_parse_validate_apply", reps),
            &lines,
            |b, lines| {
                let mut engine = Engine::new(cfg.clone());
                let mut cursor = 0;
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        if cursor == lines.len() {
                            engine = Engine::new(cfg.clone());
                            cursor = 0;
                        }
                        let n = left.min((lines.len() - cursor) as u64) as usize;
                        let start = Instant::now();
                        for l in &lines[cursor..cursor + n] {
                            let _ = engine.ingest(l.as_bytes(), None);
                        }
                        spent += start.elapsed();
                        cursor += n;
                        left -= n as u64;
                    }
                    spent
                });
            },
        );
        let events: Vec<Event<'_>> = lines
            .iter()
            .filter_map(|l| decode(l.as_bytes(), &cfg.decode).ok())
            .collect();
        group.bench_with_input(
            BenchmarkId::new("apply_decoded", reps),
            &events,
            |b, events| {
                let mut engine = Engine::new(cfg.clone());
                let mut cursor = 0;
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        if cursor == events.len() {
                            engine = Engine::new(cfg.clone());
                            cursor = 0;
                        }
                        let n = left.min((events.len() - cursor) as u64) as usize;
                        let start = Instant::now();
                        for e in &events[cursor..cursor + n] {
                            let _ = engine.apply(e, None);
                        }
                        spent += start.elapsed();
                        cursor += n;
                        left -= n as u64;
                    }
                    spent
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("json_parse_validate_only", reps),
            &lines,
            |b, lines| {
                let mut cursor = 0;
                b.iter(|| {
                    cursor = (cursor + 1) % lines.len();
                    decode(lines[cursor].as_bytes(), &cfg.decode).is_ok()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_apply);
criterion_main!(benches);
