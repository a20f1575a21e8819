//! `salespulse loadgen`: writes a synthetic company's events as NDJSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use salespulse_loadgen::{Generator, Options};

/// Arguments of `loadgen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output file, or - for stdout.
    #[arg(long, default_value = "-")]
    out: String,
    /// Number of reps.
    #[arg(long, default_value_t = 100)]
    reps: usize,
    /// Number of days to simulate.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Seed (same seed, same bytes).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day, YYYY-MM-DD (UTC).
    #[arg(long, default_value = "2026-01-01")]
    start: NaiveDate,
    /// Share of events delivered out of order (0-1).
    #[arg(long, default_value_t = 0.0)]
    out_of_order: f64,
    /// Share of events delivered twice (0-1).
    #[arg(long, default_value_t = 0.0)]
    duplicates: f64,
    /// Share of extra malformed lines (0-1).
    #[arg(long, default_value_t = 0.0)]
    malformed: f64,
    /// Produce to Kafka at these bootstrap servers instead of writing NDJSON.
    #[arg(long)]
    brokers: Option<String>,
    /// Topic to produce to (with --brokers).
    #[arg(long, default_value = "sales.events")]
    topic: String,
    /// Events per second (with --brokers; 0 = as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Stop after this long (with --brokers), e.g. 30s or 5m.
    #[arg(long)]
    duration: Option<String>,
    /// Config directory (with --brokers: [kafka.client] properties such as TLS/SASL).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs `loadgen`.
pub fn run(a: &Args) -> Result<()> {
    for (name, v) in [
        ("--out-of-order", a.out_of_order),
        ("--duplicates", a.duplicates),
        ("--malformed", a.malformed),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&v),
            "{name} {v}: expected a share between 0 and 1"
        );
    }
    anyhow::ensure!(a.reps > 0, "--reps must be at least 1");
    let opts = Options {
        reps: a.reps,
        days: a.days,
        seed: a.seed,
        start: a.start,
        out_of_order: a.out_of_order,
        duplicates: a.duplicates,
        malformed: a.malformed,
    };
    if let Some(brokers) = &a.brokers {
        let duration = match &a.duration {
            Some(d) => Some(std::time::Duration::from_millis(
                salespulse_window::parse_duration(d)
                    .ok_or_else(|| anyhow::anyhow!("--duration {d:?}: expected e.g. 30s or 5m"))?
                    as u64,
            )),
            None => None,
        };
        return crate::kafka_cmds::loadgen_to_kafka(
            brokers,
            &a.topic,
            a.rate,
            duration,
            opts,
            a.config.as_ref(),
        );
    }
    let gen = Generator::new(opts);
    let started = std::time::Instant::now();
    let summary = if a.out == "-" {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
        let s = gen.write_all(&mut w)?;
        w.flush()?;
        s
    } else {
        let path = PathBuf::from(&a.out);
        let f =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let s = gen.write_all(&mut w)?;
        w.flush()?;
        s
    };
    eprintln!(
        "loadgen: {} lines ({} events, {} duplicates, {} malformed) for {} reps over {} days in {:.1} s",
        summary.lines,
        summary.events,
        summary.duplicates,
        summary.malformed,
        a.reps,
        a.days,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
