//! A team's answer (`/v1/teams/{id}`, `replay --view`): members with their
//! scores, the quota-weighted team score and plain mean, summed KPIs, the
//! team's managers, and its last closed periods against the ones before.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::peers::{member_row, team_kpis, team_scores, Figures};
use crate::periods::team_periods;
use crate::Rec;

/// The team answer over `all` latest records; `None` for a team without members.
pub fn team_answer(all: &[Rec], team_id: &str) -> Option<Value> {
    let mut in_team: Vec<&Rec> = all
        .iter()
        .filter(|r| r.team_id.as_deref() == Some(team_id))
        .collect();
    if in_team.is_empty() {
        return None;
    }
    in_team.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    let members: Vec<Value> = in_team.iter().map(|r| member_row(r)).collect();
    let figures: Vec<Figures<'_>> = in_team.iter().map(|r| Figures::now(r)).collect();
    let (team_score, mean) = team_scores(&figures);
    let managers: BTreeSet<&str> = in_team
        .iter()
        .filter_map(|r| r.manager_id.as_deref())
        .collect();
    let records: Vec<&salespulse_model::record::ScoreRecord> =
        in_team.iter().map(|r| r.as_ref()).collect();
    Some(
        json!({"team_id": team_id, "reps": members.len(), "team_score": team_score,
                "mean_score": mean, "managers": managers, "kpis": team_kpis(&figures),
                "periods": team_periods(&records), "members": members}),
    )
}
