//! What the benchmark programs share: the embedded default configuration and
//! environment overrides.

#![allow(dead_code)]

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};

/// The engine configuration of the shipped defaults (config/).
pub fn config() -> EngineConfig {
    let cfg = config::Config::builder()
        .add_source(config::File::from_str(
            include_str!("../../config/salespulse.toml"),
            config::FileFormat::Toml,
        ))
        .add_source(config::File::from_str(
            include_str!("../../config/profiles.toml"),
            config::FileFormat::Toml,
        ))
        .add_source(config::File::from_str(
            include_str!("../../config/coaching.toml"),
            config::FileFormat::Toml,
        ))
        .build()
        .expect("embedded config");
    let s = Settings {
        engine: cfg.get("engine").expect("engine"),
        currency: cfg.get("currency").expect("currency"),
        scoring: cfg.get("scoring").expect("scoring"),
        profiles: cfg.get("profiles").expect("profiles"),
        detect: cfg.get("detect").unwrap_or_default(),
        coaching: cfg.get("coaching").expect("coaching"),
        control: cfg.get("control").unwrap_or_default(),
    };
    EngineConfig::new(&s).expect("valid config")
}

/// An environment variable as a number, or `default` when it is unset. A
/// value that is not a number stops the bench (a typo must not run the
/// default size silently).
pub fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            panic!("{name} = {v:?}: expected a whole number (unset for {default})")
        }),
    }
}

/// Streams the generator's `days` of activity for `reps` reps straight into
/// a fresh engine (emitted records are dropped as they would leave the
/// process); returns the engine and the number of events.
pub fn build_state(reps: usize, days: u32) -> (Engine, u64) {
    let mut engine = Engine::new(config());
    let mut events = 0u64;
    for line in Generator::new(Options {
        reps,
        days,
        seed: 5,
        ..Options::default()
    }) {
        let _ = engine.ingest(line.as_bytes(), None);
        events += 1;
        if events.is_multiple_of(4096) {
            engine.flush(salespulse_engine::Emit::Summaries);
            drop(engine.drain());
        }
    }
    engine.flush(salespulse_engine::Emit::Summaries);
    drop(engine.drain());
    engine.shrink();
    (engine, events)
}

/// Every rep's changelog record, as the commit cycle writes them.
pub fn snapshots(engine: &mut Engine) -> Vec<(Box<str>, Vec<u8>)> {
    engine.checkpoint();
    engine.drain().states()
}
