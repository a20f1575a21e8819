//! `replay --view FILE`: what the live service's company view answers
//! (`/v1/reps/{id}` standing, `/v1/teams/{id}`, `/v1/managers/{id}`),
//! computed from replay's final score records with the same functions.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use salespulse_view::{organisation, standing, team_answer, Rec};

/// Writes one line per rep (`{"kind": "standing", "rep_id", "standing"}`),
/// per team (`{"kind": "team", ...}`) and per manager (`{"kind": "manager", ...}`).
pub fn write(all: &[Rec], path: &Path) -> Result<()> {
    let mut all = all.to_vec();
    all.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path)
            .with_context(|| format!("creating --view {}", path.display()))?,
    );
    let mut line = |v: Value| -> Result<()> {
        serde_json::to_writer(&mut out, &v)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    let mut teams = BTreeSet::new();
    let mut managers = BTreeSet::new();
    for r in &all {
        line(json!({"kind": "standing", "rep_id": r.rep_id,
                    "standing": standing(&all, r)}))?;
        teams.extend(r.team_id.clone());
        managers.extend(r.manager_id.clone());
    }
    for t in &teams {
        if let Some(mut v) = team_answer(&all, t) {
            v["kind"] = "team".into();
            line(v)?;
        }
    }
    for m in &managers {
        if let Some(mut v) = organisation(&all, m) {
            v["kind"] = "manager".into();
            line(v)?;
        }
    }
    out.flush()?;
    Ok(())
}
