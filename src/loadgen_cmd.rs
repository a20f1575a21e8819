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
    /// Share of reps given a labelled anomaly (stop, drop, outlier deal,
    /// falling behind), plus one burst of malformed records (0-1; needs --days >= 45).
    #[arg(long, default_value_t = 0.0)]
    anomalies: f64,
    /// Where the anomalies' labels go (NDJSON), with --anomalies.
    #[arg(long)]
    labels: Option<PathBuf>,
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
        ("--anomalies", a.anomalies),
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
        anomalies: a.anomalies,
    };
    anyhow::ensure!(
        a.labels.is_none() || a.brokers.is_none(),
        "--labels writes a file next to --out; it does not apply with --brokers"
    );
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
    let mut gen = Generator::new(opts);
    let started = std::time::Instant::now();
    let out: Box<dyn Write> = if a.out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let path = PathBuf::from(&a.out);
        Box::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        )
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
    for line in gen.by_ref() {
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    let summary = gen.summary().clone();
    if let Some(path) = &a.labels {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        let labels = gen.labels();
        for l in &labels {
            serde_json::to_writer(&mut f, l)?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
        eprintln!(
            "loadgen: {} labelled anomalies in {}",
            labels.len(),
            path.display()
        );
    }
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
