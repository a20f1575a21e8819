//! Where replay's outputs go besides the score records: the files of the
//! records that go with them (statements, KPI, last periods and coaching
//! records), the
//! alert file, and the final records a replay ends with.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use salespulse_engine::Emit;
use salespulse_model::record::{RecordKind, ScoreRecord};
use salespulse_model::AlertRecord;
use salespulse_pipeline::{Collected, Pipeline};

use super::{write_json, Args};

/// `--alerts`: the alert file, if named, and how many alerts were raised.
pub(super) struct AlertFile {
    file: Option<BufWriter<File>>,
    pub count: u64,
}

impl AlertFile {
    pub(super) fn create(path: Option<&Path>) -> Result<Self> {
        Ok(AlertFile {
            file: create_optional(path, "--alerts")?,
            count: 0,
        })
    }

    /// Counts `alerts` and writes them to the file, if any.
    pub(super) fn write(&mut self, alerts: Vec<AlertRecord>) -> Result<()> {
        self.count += alerts.len() as u64;
        write_all(self.file.as_mut(), &alerts)
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        if let Some(w) = self.file.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

/// The records `--emit final` writes as they come: all but score records.
pub(super) fn finals_only(records: Vec<ScoreRecord>) -> Vec<ScoreRecord> {
    records
        .into_iter()
        .filter(|r| r.kind != RecordKind::Score)
        .collect()
}

/// What the end of a replay leaves: the summaries still due (the score
/// records of working-day closes among them are not final), then one score
/// record per rep at its partition's stream time, sorted by rep_id; and the
/// alerts, KPI, coaching and statement records that go with them.
pub(super) fn final_records(pipeline: &mut Pipeline) -> Collected {
    let mut sink = Collected::default();
    let Ok(()) = pipeline.emit(Emit::Summaries, &mut sink);
    let mut records = finals_only(std::mem::take(&mut sink.records));
    let Ok(()) = pipeline.emit(Emit::All, &mut sink);
    let mut scores = std::mem::take(&mut sink.records);
    scores.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    records.extend(scores);
    sink.kpis.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    sink.last_periods.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    Collected { records, ..sink }
}

/// The optional files of the records that go with score records, each as
/// on its topic.
pub(super) struct DetailFiles {
    statements: Option<BufWriter<File>>,
    kpis: Option<BufWriter<File>>,
    last_periods: Option<BufWriter<File>>,
    coaching: Option<BufWriter<File>>,
}

impl DetailFiles {
    pub(super) fn create(a: &Args) -> Result<Self> {
        Ok(DetailFiles {
            statements: create_optional(a.statements.as_deref(), "--statements")?,
            kpis: create_optional(a.kpis.as_deref(), "--kpis")?,
            last_periods: create_optional(a.last_periods.as_deref(), "--last-periods")?,
            coaching: create_optional(a.coaching.as_deref(), "--coaching")?,
        })
    }

    /// Writes what `c` holds for the files, and feeds `view` (with
    /// `--view`) every record as its follower would read it.
    pub(super) fn write(
        &mut self,
        c: &Collected,
        view: Option<&salespulse_view::CompanyView>,
    ) -> Result<()> {
        write_all(self.statements.as_mut(), &c.statements)?;
        write_all(self.kpis.as_mut(), &c.kpis)?;
        write_all(self.last_periods.as_mut(), &c.last_periods)?;
        write_all(self.coaching.as_mut(), &c.coaching)?;
        if let Some(v) = view {
            let offer = |bytes: serde_json::Result<Vec<u8>>| -> Result<()> {
                v.offer(&bytes?);
                Ok(())
            };
            c.records
                .iter()
                .try_for_each(|r| offer(serde_json::to_vec(r)))?;
            c.kpis
                .iter()
                .try_for_each(|r| offer(serde_json::to_vec(r)))?;
            c.last_periods
                .iter()
                .try_for_each(|r| offer(serde_json::to_vec(r)))?;
            c.coaching
                .iter()
                .try_for_each(|r| offer(serde_json::to_vec(r)))?;
            c.statements
                .iter()
                .try_for_each(|r| offer(serde_json::to_vec(r)))?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        let files = [
            &mut self.statements,
            &mut self.kpis,
            &mut self.last_periods,
            &mut self.coaching,
        ];
        for w in files.into_iter().flatten() {
            w.flush()?;
        }
        Ok(())
    }
}

/// The NDJSON file an optional `flag` names, created (empty) if named.
pub(super) fn create_optional(path: Option<&Path>, flag: &str) -> Result<Option<BufWriter<File>>> {
    path.map(|p| {
        File::create(p)
            .map(BufWriter::new)
            .with_context(|| format!("creating {flag} {}", p.display()))
    })
    .transpose()
}

/// Writes `records` as NDJSON lines to `w`, if there is one.
fn write_all<T: serde::Serialize>(w: Option<&mut BufWriter<File>>, records: &[T]) -> Result<()> {
    if let Some(w) = w {
        for r in records {
            write_json(w, r)?;
        }
    }
    Ok(())
}
