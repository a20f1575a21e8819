//! `salespulse replay`: runs the engine over an NDJSON file, exactly as the
//! live service would over the same records, and writes score records,
//! period summaries, rejected lines and a summary.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use salespulse_engine::Stats;

mod clock;
mod outputs;
mod ranks;
mod view;
mod whatif;
use outputs::{create_optional, final_records, finals_only, AlertFile, DetailFiles};
use salespulse_engine::Emit;
use salespulse_model::{Reason, Timestamp};
use salespulse_pipeline::{Collected, Pipeline};

/// When records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmitArg {
    /// The last score record per rep (sorted by rep_id), after the period summaries.
    Final,
    /// Every record as the engine emits it, flushing after each input line.
    All,
}

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// NDJSON events, or - for stdin.
    #[arg(long)]
    events: String,
    /// Config directory overriding the embedded defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Profile changes (NDJSON, the records of the control topic in order),
    /// applied as the live service applies them.
    #[arg(long)]
    control: Option<PathBuf>,
    /// Where score records go, or - for stdout.
    #[arg(long, default_value = "-")]
    out: String,
    /// Where rejected lines go (NDJSON: line, reason, message, raw).
    #[arg(long)]
    dlq: Option<PathBuf>,
    /// Where alert records go (NDJSON, as on the salespulse.alerts topic).
    #[arg(long)]
    alerts: Option<PathBuf>,
    /// Where commission statements go (NDJSON, as on the
    /// salespulse.statements topic: one each time a statement changes).
    #[arg(long)]
    statements: Option<PathBuf>,
    /// Where KPI records go (NDJSON, as on the salespulse.kpis topic: with
    /// every score record under `--emit all`, every rep's at the end).
    #[arg(long)]
    kpis: Option<PathBuf>,
    /// Where coaching records go (NDJSON, as on the salespulse.coaching
    /// topic: one each time a rep's coaching changes).
    #[arg(long)]
    coaching: Option<PathBuf>,
    /// Where last periods records go (NDJSON, the `last_periods/1` records
    /// of the salespulse.periods topic: one each time a rep's last closed
    /// periods change; the topic's summaries go to --out).
    #[arg(long)]
    last_periods: Option<PathBuf>,
    /// Which records to write.
    #[arg(long, value_enum, default_value_t = EmitArg::Final)]
    emit: EmitArg,
    /// Ingest clock for the future_timestamp check (RFC 3339), or `off`.
    /// Default: when the --events file was last modified (stdin: the wall
    /// clock at start), so a record dated after its log was written is
    /// rejected, as the live service rejects it against the wall clock.
    #[arg(long)]
    now: Option<String>,
    /// The clock moves the live service recorded for idle partitions
    /// (NDJSON `clock/1` records of salespulse.clock, e.g. from `salespulse
    /// tail clock --ndjson`), each applied after the input record before
    /// its position; needs --partitions equal to the live input's. The
    /// file must be the input topic's records in order (as produced, keyed
    /// by rep_id).
    #[arg(long)]
    clock: Option<PathBuf>,
    /// Also write team rollups at the end (with --partitions 1).
    #[arg(long)]
    teams: bool,
    /// Replay as a service over this many partitions runs it: per-partition
    /// stream time, assist credits routed to the helper's partition. The
    /// final records then equal the live service's over the same input.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    partitions: u16,
    /// Also write what the live service's company view answers for the
    /// final records (NDJSON: each rep's standing, each team, each manager).
    #[arg(long)]
    view: Option<PathBuf>,
    /// What-if: also run the events under the config in this directory
    /// (layered on the embedded defaults, like --config) and report how
    /// scores, ranks and commissions would change.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Where the what-if report goes (JSON).
    #[arg(long, default_value = "whatif-report.json", requires = "compare")]
    report: PathBuf,
    /// Reps listed in the what-if table on stdout (largest changes first).
    #[arg(long, default_value_t = 25, requires = "compare")]
    top: usize,
}

#[derive(Serialize)]
struct DlqLine<'a> {
    line: u64,
    reason: &'static str,
    message: &'a str,
    /// The line itself, unless `dlq.redact`.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<std::borrow::Cow<'a, str>>,
    /// With `dlq.redact`: the line's SHA-256 instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

fn open_input(path: &str) -> Result<(Box<dyn Read>, Option<u64>)> {
    if path == "-" {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let f = File::open(path).with_context(|| format!("opening --events {path}"))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
}

fn open_output(path: &str) -> Result<Box<dyn Write>> {
    if path == "-" {
        return Ok(Box::new(BufWriter::with_capacity(
            1 << 20,
            io::stdout().lock(),
        )));
    }
    let f = File::create(path).with_context(|| format!("creating --out {path}"))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 20, f)))
}

/// Writes `v` as one NDJSON line. The record is serialized into a reused
/// buffer first: serde_json's many small writes straight into a `dyn Write`
/// cost more than the copy.
fn write_json<T: Serialize>(out: &mut dyn Write, v: &T) -> Result<()> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        serde_json::to_writer(&mut *buf, v)?;
        buf.push(b'\n');
        out.write_all(buf)?;
        Ok(())
    })
}

fn progress_bar(len: Option<u64>) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Runs `replay`.
pub fn run(a: &Args) -> Result<()> {
    let loaded = crate::config::load_all(a.config.as_deref())?;
    let redact_dlq = loaded.kafka.dlq.redact;
    let mut cfg = loaded.engine;
    if let Some(path) = &a.control {
        crate::control_cmd::apply_file(&mut cfg, path)?;
    }
    let now_ms = ingest_clock(a.now.as_deref(), &a.events)?;
    if a.teams && a.partitions > 1 {
        anyhow::bail!("--teams needs --partitions 1: a team's reps may be in different partitions");
    }
    let mut ranks =
        crate::kafka_cmds::rank_change(&cfg).map(|m| ranks::Ranks::new(m, a.partitions));
    let mut pipeline = Pipeline::owning_all(cfg, i32::from(a.partitions));
    let mut out_now = Collected::default();
    let mut moves = match &a.clock {
        Some(path) => Some(clock::ClockMoves::load(path, i32::from(a.partitions))?),
        None => None,
    };
    clock::apply_due(moves.as_mut(), &mut pipeline, None, &mut out_now);
    let mut whatif = match &a.compare {
        Some(dir) => Some(whatif::WhatIf::new(dir, usize::from(a.partitions))?),
        None => None,
    };
    let mut alerts = AlertFile::create(a.alerts.as_deref())?;
    let mut details = DetailFiles::create(a)?;
    let company = a
        .view
        .as_ref()
        .map(|_| salespulse_view::CompanyView::default());
    let (input, len) = open_input(&a.events)?;
    let mut reader = BufReader::with_capacity(1 << 20, input);
    // In a what-if run stdout carries the table, so records need a file.
    let mut out = if whatif.is_some() && a.out == "-" {
        Box::new(io::sink())
    } else {
        open_output(&a.out)?
    };
    let mut dlq = create_optional(a.dlq.as_deref(), "--dlq")?;
    let bar = progress_bar(len);
    let started = Instant::now();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .context("reading events")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        let record = trim_line(&buf);
        if record.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let p = pipeline.route(record);
        let Ok(result) = pipeline.ingest(p, record, now_ms, None, &mut out_now);
        if let Some(m) = moves.as_mut() {
            m.count(p);
            clock::apply_due(Some(m), &mut pipeline, Some(p), &mut out_now);
        }
        if let Err(rej) = result {
            if let Some(d) = dlq.as_mut() {
                let line = DlqLine {
                    line: line_no,
                    reason: rej.reason.code(),
                    message: &rej.message,
                    raw: (!redact_dlq).then(|| String::from_utf8_lossy(record)),
                    sha256: redact_dlq.then(|| salespulse_model::privacy::sha256_hex(record)),
                };
                write_json(d, &line)?;
            }
        }
        if let Some(w) = whatif.as_mut() {
            w.ingest(record, now_ms);
        }
        let Ok(()) = pipeline.emit(
            match a.emit {
                EmitArg::All => Emit::ChangedWithKpis,
                EmitArg::Final => Emit::Summaries,
            },
            &mut out_now,
        );
        let collected = out_now.take();
        details.write(&collected, company.as_ref())?;
        let Collected {
            records,
            alerts: raised,
            ..
        } = collected;
        alerts.write(raised)?;
        // Company-wide ranks at working-day closes (every record counts).
        alerts.write(
            ranks
                .as_mut()
                .map(|r| r.observe(&records))
                .unwrap_or_default(),
        )?;
        let records = match a.emit {
            EmitArg::All => records,
            // Summaries now; score records (those of working-day closes) only at the end.
            EmitArg::Final => finals_only(records),
        };
        if let Some(w) = whatif.as_mut() {
            w.note_base(&records);
        }
        for r in &records {
            write_json(&mut *out, r)?;
        }
    }
    bar.finish_and_clear();
    clock::apply_rest(moves.as_mut(), &mut pipeline, &mut out_now);
    let last = match a.emit {
        EmitArg::All => {
            let Ok(()) = pipeline.emit(Emit::ChangedWithKpis, &mut out_now);
            out_now.take()
        }
        EmitArg::Final => final_records(&mut pipeline),
    };
    details.write(&last, company.as_ref())?;
    let Collected {
        records: tail,
        alerts: tail_alerts,
        ..
    } = last;
    alerts.write(tail_alerts)?;
    alerts.write(ranks.as_mut().map(|r| r.observe(&tail)).unwrap_or_default())?;
    for r in &tail {
        write_json(&mut *out, r)?;
    }
    if let Some(w) = whatif {
        let finals = match a.emit {
            EmitArg::Final => tail.clone(),
            EmitArg::All => final_records(&mut pipeline).records,
        };
        let report = w.finish(&finals);
        whatif::write_report(&report, &a.report)?;
        let mut stdout = io::stdout().lock();
        stdout.write_all(whatif::render(&report, a.top).as_bytes())?;
        writeln!(stdout, "\nFull report: {}", a.report.display())?;
    }
    if let (Some(path), Some(company)) = (&a.view, &company) {
        if a.emit == EmitArg::All {
            // The view answers from every rep's final record.
            details.write(&final_records(&mut pipeline), Some(company))?;
        }
        view::write(&company.all(), path)?;
    }
    if a.teams {
        for (_, engine) in pipeline.engines_mut() {
            for t in engine.team_rollups() {
                write_json(&mut *out, &t)?;
            }
        }
    }
    out.flush()?;
    if let Some(d) = dlq.as_mut() {
        d.flush()?;
    }
    alerts.flush()?;
    details.flush()?;
    print_summary(
        &pipeline.stats(),
        pipeline.rep_count(),
        started.elapsed().as_secs_f64(),
        a.dlq.as_deref(),
        alerts.count,
    );
    Ok(())
}

/// The ingest clock of the `future_timestamp` check: `--now` (`off`: no
/// check), else the time the input was written: the file's modification
/// time, or the wall clock for stdin. Without a clock, one record dated
/// 9999-12-31 would move stream time there and make every later record
/// `too_late`.
fn ingest_clock(now: Option<&str>, events: &str) -> Result<Option<i64>> {
    let ms = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    };
    match now {
        Some("off") => Ok(None),
        Some(s) => Ok(Some(
            Timestamp::parse_rfc3339(s)
                .map_err(|e| anyhow::anyhow!("--now {s:?}: {e}; expected RFC 3339 or off"))?
                .0,
        )),
        None if events == "-" => Ok(Some(Timestamp::wall_now().0)),
        None => {
            let modified = std::fs::metadata(events)
                .and_then(|m| m.modified())
                .with_context(|| format!("reading the modification time of --events {events} (pass --now to set the clock)"))?;
            Ok(Some(ms(modified)))
        }
    }
}

fn trim_line(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &buf[..end]
}

fn print_summary(s: &Stats, reps: usize, secs: f64, dlq: Option<&Path>, alerts: u64) {
    let mut by_reason: Vec<String> = Reason::ALL
        .iter()
        .filter(|r| s.rejected_for(**r) > 0)
        .map(|r| format!("{}={}", r.code(), s.rejected_for(*r)))
        .collect();
    if by_reason.is_empty() {
        by_reason.push("none".into());
    }
    eprintln!(
        "replay: read {} applied {} rejected {} ({}) duplicates {} credits {} reps {} scores {} summaries {} alerts {} in {:.2} s ({:.0} events/s){}",
        s.read,
        s.applied,
        s.rejected_total(),
        by_reason.join(" "),
        s.rejected_for(Reason::Duplicate),
        s.credits,
        reps,
        s.scores_emitted,
        s.summaries_emitted,
        alerts,
        secs,
        s.read as f64 / secs.max(1e-9),
        dlq.map(|p| format!("; rejected lines in {}", p.display())).unwrap_or_default()
    );
}
