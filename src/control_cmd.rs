//! Profile changes from the command line and from reloads:
//! `salespulse control publish` writes the profiles of a config directory
//! to the control topic (or prints the record), `run` does the same on
//! SIGHUP, and `replay --control FILE` applies recorded changes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use salespulse_engine::control::{apply_control, control_record, parse_control};
use salespulse_engine::EngineConfig;
use salespulse_kpi::Added;
use salespulse_model::Timestamp;

/// Arguments of `control publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Config directory whose profiles become the new version (layered on
    /// the embedded defaults, as `run --config` reads them).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Event time the version applies from (RFC 3339); default: now plus
    /// `control.min_lead`, the earliest allowed.
    #[arg(long)]
    effective_at: Option<String>,
    /// Print the record on stdout instead of publishing it (for a file that
    /// `replay --control` reads).
    #[arg(long)]
    print: bool,
    /// With --print: the publishing time to record (RFC 3339; default now),
    /// to write a file of changes for replaying history.
    #[arg(long, requires = "print")]
    published_at: Option<String>,
}

fn now_ms() -> i64 {
    salespulse_model::Timestamp::wall_now().0
}

/// The control record that makes the profiles of `dir` effective at
/// `effective_at` (default: as soon as allowed), checked as every instance
/// will check it.
pub fn record_for(
    dir: Option<&Path>,
    effective_at: Option<i64>,
    published_at: Option<i64>,
    source: &str,
) -> Result<Vec<u8>> {
    let loaded = crate::config::load_all(dir)?;
    let v = crate::config::versioned_json(dir)?;
    let now = published_at.unwrap_or_else(now_ms);
    let at = effective_at.unwrap_or(now + loaded.engine.control.min_lead_ms);
    let record = control_record(&v.profiles, &v.detect, &v.default_role, at, now, source);
    parse_control(&loaded.engine, &record).context("the change would be rejected")?;
    Ok(record)
}

/// Runs `control publish`.
pub fn publish(a: &PublishArgs) -> Result<()> {
    let time = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| {
                Timestamp::parse_rfc3339(s)
                    .map(|t| t.0)
                    .map_err(|e| anyhow::anyhow!("--{flag} {s:?}: {e}"))
            })
            .transpose()
    };
    let record = record_for(
        a.config.as_deref(),
        time("effective-at", &a.effective_at)?,
        time("published-at", &a.published_at)?,
        "salespulse control publish",
    )?;
    if a.print {
        let mut out = std::io::stdout().lock();
        out.write_all(&record)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    let ks = crate::config::load_all(a.config.as_deref())?.kafka;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(salespulse_kafka::publish_control(&ks, &record))?;
    println!("published to {}", ks.output.control);
    Ok(())
}

/// Publishes the profiles of `dir` on every SIGHUP until the process ends.
#[cfg(unix)]
pub async fn reload_on_sighup(dir: Option<PathBuf>, ks: salespulse_kafka::KafkaSettings) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "salespulse".into());
    while hup.recv().await.is_some() {
        let source = format!("SIGHUP reload on {host}");
        match record_for(dir.as_deref(), None, None, &source) {
            Ok(record) => match salespulse_kafka::publish_control(&ks, &record).await {
                Ok(()) => tracing::info!(topic = %ks.output.control, "reloaded profiles published"),
                Err(e) => tracing::warn!(error = %e, "publishing reloaded profiles"),
            },
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "reload rejected; profiles unchanged"
            ),
        }
    }
}

/// Applies the control records of an NDJSON file (one record per line, as
/// on the topic) in order, as the service does; rejected lines are reported
/// on stderr and skipped, as the service skips them.
pub fn apply_file(cfg: &mut EngineConfig, path: &Path) -> Result<()> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("opening --control {}", path.display()))?;
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading --control {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match apply_control(cfg, line.as_bytes()) {
            Ok(a) if a.added == Added::New => eprintln!(
                "control line {}: version from {} applied",
                i + 1,
                Timestamp(a.effective_at)
            ),
            Ok(_) => {}
            Err(e) => eprintln!("control line {}: rejected: {e}", i + 1),
        }
    }
    Ok(())
}
