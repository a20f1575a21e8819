//! Commission statements on hand-computed plans (docs/incentives.md has the
//! same numbers as a worked example): a deal crossing tier boundaries, a
//! SPIFF window and minimum, the cap, and clawbacks of refunds after the
//! period closed, full and pro-rated, which re-emit the closed period's
//! summary with the corrected statement.

mod common;

use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_model::record::{RecordKind, ScoreRecord};

/// Target 40,000 a month; 5% up to 100%, 8% to 150%, 10% above; a SPIFF of
/// 200 per new customer of at least 1,000 won from 10 to 19 March.
fn engine(cap: &str, clawback: &str) -> Engine {
    let json = format!(
        r#"{{"profiles": {{"direct": {{"components": [{{"kpi": "revenue", "window": "month", "target": 40000, "weight": 1}}],
            "commission": {{"tiers": [{{"from": 0, "rate": 0.05}}, {{"from": 1.0, "rate": 0.08}}, {{"from": 1.5, "rate": 0.10}}],
                            {cap} {clawback}
                            "spiffs": [{{"name": "new_logo", "on": "new_customer", "amount": 200, "min_deal": 1000,
                                         "from": "2026-03-10", "until": "2026-03-20"}}]}}}}}}}}"#
    );
    let s: Settings = serde_json::from_str(&json).unwrap();
    Engine::new(EngineConfig::new(&s).unwrap())
}

fn won(deal: &str, at: &str, amount: u32, new_customer: bool) -> String {
    format!(
        r#"{{"event_id":"{deal}","type":"deal.won","occurred_at":"{at}","rep_id":"r1","deal_id":"{deal}","amount":"{amount}.00","currency":"USD","customer_id":"c-{deal}","channel":"direct","new_customer":{new_customer}}}"#
    )
}

fn refund(deal: &str, at: &str, amount: u32) -> String {
    format!(
        r#"{{"event_id":"refund-{deal}-{at}","type":"refund.issued","occurred_at":"{at}","rep_id":"r1","deal_id":"{deal}","amount":"{amount}.00","currency":"USD"}}"#
    )
}

/// March: 30,000 (before the SPIFF window), 20,000 new (in it: crosses
/// 100%), 500 new (under the SPIFF minimum), 40,000 (crosses 150%).
const MARCH: [(&str, &str, u32, bool); 4] = [
    ("d1", "2026-03-02T10:00:00Z", 30_000, true),
    ("d2", "2026-03-12T10:00:00Z", 20_000, true),
    ("d3", "2026-03-15T10:00:00Z", 500, true),
    ("d4", "2026-03-25T10:00:00Z", 40_000, false),
];

/// Feeds `lines` in order; returns every record emitted.
fn run(e: &mut Engine, lines: &[String]) -> Vec<ScoreRecord> {
    let mut out = Vec::new();
    for l in lines {
        e.ingest(l.as_bytes(), None).unwrap();
        out.extend(common::drive::flushed(e));
    }
    out
}

fn march() -> Vec<String> {
    MARCH
        .iter()
        .map(|&(d, at, a, n)| won(d, at, a, n))
        .collect()
}

fn c(r: &ScoreRecord) -> &salespulse_model::record::Commission {
    r.commission.as_ref().expect("a commission statement")
}

#[test]
fn tiers_split_a_crossing_deal_spiffs_count_in_their_window_and_the_cap_holds() {
    let mut e = engine(r#""cap": 4000,"#, "");
    let out = run(&mut e, &march());
    // Score records after each deal (not the ones of working-day closes,
    // which repeat the state before the close).
    let scores: Vec<&ScoreRecord> = out
        .iter()
        .filter(|r| r.kind == RecordKind::Score)
        .filter(|r| r.day_close.as_ref().is_none_or(|d| d.as_of <= r.as_of))
        .collect();
    let earned: Vec<f64> = scores.iter().map(|r| c(r).earned_to_date).collect();
    // 30,000 × 5% = 1,500. + 10,000 × 5% + 10,000 × 8% + SPIFF 200 = 3,000.
    // + 500 × 8% (under the SPIFF minimum) = 3,040. + 9,500 × 8% + 30,500 ×
    // 10% = 6,650 tiered, capped at 4,000, + 200 = 4,200.
    assert_eq!(earned, vec![1_500.0, 3_000.0, 3_040.0, 4_200.0]);
    let next: Vec<f64> = scores.iter().map(|r| c(r).next_deal_rate).collect();
    assert_eq!(next, vec![0.05, 0.08, 0.08, 0.0]);
    let last = c(scores[3]);
    assert_eq!(
        (last.gross, last.net, last.attainment),
        (90_500.0, 90_500.0, 2.2625)
    );
    assert!(last.capped);
    assert_eq!(last.by_component["revenue"], 4_000.0);
    assert_eq!(last.by_component["spiff:new_logo"], 200.0);
    assert_eq!(last.period.start, "2026-03-01T00:00:00Z");
}

/// The March summaries, in emission order.
fn march_statements(out: &[ScoreRecord]) -> Vec<&ScoreRecord> {
    out.iter()
        .filter(|r| {
            r.kind == RecordKind::PeriodSummary
                && r.period
                    .as_ref()
                    .is_some_and(|p| p.kind == "month" && p.start.starts_with("2026-03"))
        })
        .collect()
}

#[test]
fn refunds_after_the_close_correct_the_closed_statement() {
    let mut e = engine(r#""cap": 4000,"#, r#""clawback_days": 45,"#);
    let mut lines = march();
    // 11 days after d4's win (the close is in between), 41 days after d3's
    // (past the engine's grace: the month's sums come from its close), and
    // one 49 days after d2's: outside the window.
    lines.push(refund("d4", "2026-04-05T10:00:00Z", 40_000));
    lines.push(refund("d3", "2026-04-25T10:00:00Z", 500));
    lines.push(refund("d2", "2026-04-30T10:00:00Z", 20_000));
    lines.push(refund("unknown", "2026-04-30T11:00:00Z", 1_000));
    let out = run(&mut e, &lines);
    let sums = march_statements(&out);
    let seen: Vec<(f64, f64, f64, f64)> = sums
        .iter()
        .map(|r| (c(r).net, c(r).refunded, c(r).clawbacks, c(r).earned_to_date))
        .collect();
    assert_eq!(
        seen,
        vec![
            // At the close: as in the first test.
            (90_500.0, 0.0, 0.0, 4_200.0),
            // d4 refunded: net 50,500 -> 2,840 tiered; the capped 4,000 less 2,840.
            (50_500.0, 40_000.0, 1_160.0, 3_040.0),
            // d3 refunded: net 50,000 -> 2,800.
            (50_000.0, 40_500.0, 1_200.0, 3_000.0),
        ],
        "{sums:#?}"
    );
    // Every correction is a newer version of the same period's summary, and
    // the month's KPIs are still those of March.
    assert!(sums.windows(2).all(|w| w[1].seq > w[0].seq));
    let revenue = |r: &ScoreRecord| {
        let (_, row) = r.kpis.rows().find(|(k, _)| *k == "revenue").unwrap();
        row[0].map(salespulse_model::record::Num::as_f64)
    };
    assert!(sums.iter().all(|r| revenue(r) == Some(90_500.0)));
}

#[test]
fn a_prorated_clawback_takes_back_the_share_of_the_window_left() {
    let mut e = engine("", r#""clawback_days": 30, "clawback": "prorated","#);
    let mut lines = march();
    // 15 of 30 days after d4's win: half of the 40,000 leaves March.
    lines.push(refund("d4", "2026-04-09T10:00:00Z", 40_000));
    let out = run(&mut e, &lines);
    let sums = march_statements(&out);
    let last = c(sums[sums.len() - 1]);
    // Gross 90,500: 2,000 + 1,600 + 3,050 = 6,650. Net 70,500: 2,000 +
    // 1,600 + 1,050 = 4,650; clawed back 2,000; + the SPIFF 200.
    assert_eq!(
        (last.refunded, last.net, last.clawbacks, last.earned_to_date),
        (20_000.0, 70_500.0, 2_000.0, 4_850.0)
    );
}

/// The statements topic's records on the refund scenario above: one per
/// change of a period's statement (never a repeat), keyed by rep and
/// period, amounts as exact decimal strings equal to the score records'
/// figures; the closed month's corrections are marked closed and replace
/// the same key.
#[test]
fn statements_are_sent_when_they_change_keyed_by_period_with_exact_amounts() {
    let mut e = engine(r#""cap": 4000,"#, r#""clawback_days": 45,"#);
    let mut lines = march();
    lines.push(refund("d4", "2026-04-05T10:00:00Z", 40_000));
    lines.push(refund("d3", "2026-04-25T10:00:00Z", 500));
    let mut statements = Vec::new();
    let mut records = Vec::new();
    for l in &lines {
        e.ingest(l.as_bytes(), None).unwrap();
        e.flush(salespulse_engine::Emit::Changed);
        let out = e.drain();
        statements.extend(out.0.iter().filter_map(|o| match o {
            salespulse_engine::Output::Statement(s) => Some((**s).clone()),
            _ => None,
        }));
        records.extend(out.records());
    }
    let march_key = "r1/month/2026-03-01";
    let march: Vec<_> = statements.iter().filter(|s| s.key == march_key).collect();
    let earned: Vec<(&str, &str, bool)> = march
        .iter()
        .map(|s| (s.earned_to_date.0.as_str(), s.net.0.as_str(), s.closed))
        .collect();
    assert_eq!(
        earned,
        [
            ("1500.00", "30000.00", false),
            ("3000.00", "50000.00", false),
            // d3: 40,000 × 5% + 10,500 × 8% + the SPIFF of d2 = 3,040.
            ("3040.00", "50500.00", false),
            ("4200.00", "90500.00", false),
            // The close, then the two corrections.
            ("4200.00", "90500.00", true),
            ("3040.00", "50500.00", true),
            ("3000.00", "50000.00", true),
        ],
        "{march:#?}"
    );
    // Never the same statement twice in a row for a key.
    for w in march.windows(2) {
        let strip = |s: &salespulse_model::record::StatementRecord| {
            (
                s.net.clone(),
                s.earned_to_date.clone(),
                s.closed,
                s.clawbacks.clone(),
            )
        };
        assert_ne!(strip(w[0]), strip(w[1]));
    }
    assert!(march.windows(2).all(|w| w[1].seq > w[0].seq));
    assert!(march
        .iter()
        .all(|s| s.currency == "USD" && s.rep_id == "r1"));
    // Each statement equals the commission of the record it went with.
    for s in &march {
        let rec = records
            .iter()
            .find(|r| r.seq == s.seq && r.rep_id == s.rep_id)
            .expect("the record the statement went with");
        let c = c(rec);
        assert_eq!(s.earned_to_date.0.parse::<f64>().unwrap(), c.earned_to_date);
        assert_eq!(s.net.0.parse::<f64>().unwrap(), c.net);
        assert_eq!(s.clawbacks.0.parse::<f64>().unwrap(), c.clawbacks);
    }
    // April's statement is its own key.
    assert!(statements.iter().any(|s| s.key == "r1/month/2026-04-01"));
}

/// The statements `lines` queued, in order.
fn statements_of(
    e: &mut Engine,
    lines: &[String],
) -> Vec<salespulse_model::record::StatementRecord> {
    let mut statements = Vec::new();
    for l in lines {
        e.ingest(l.as_bytes(), None).unwrap();
        e.flush(salespulse_engine::Emit::Changed);
        statements.extend(e.drain().0.into_iter().filter_map(|o| match o {
            salespulse_engine::Output::Statement(s) => Some(*s),
            _ => None,
        }));
    }
    statements
}

#[test]
fn a_new_target_changes_the_statement_though_nothing_was_booked() {
    // The engine reuses a rep's current statement while its books, period,
    // plan and target are unchanged: a directory change of the target
    // books nothing, yet the tiers move (50,000 of 40,000 is 125%, of
    // 60,000 about 83%).
    let directory = |id: &str, at: &str, targets: &str| {
        format!(
            r#"{{"event_id":"{id}","type":"rep.updated","occurred_at":"{at}","rep_id":"r1","team_id":"t1","region":"emea","role":"direct"{targets}}}"#
        )
    };
    let mut e = engine("", "");
    let mut lines = vec![directory("hr-1", "2026-03-01T08:00:00Z", "")];
    lines.extend(march().into_iter().take(2));
    lines.push(directory(
        "hr-2",
        "2026-03-13T08:00:00Z",
        r#","targets":{"revenue":{"month":60000}}"#,
    ));
    let s = statements_of(&mut e, &lines);
    let last = s.last().expect("statements");
    assert_eq!(last.target.0, "60000.00", "{s:#?}");
    // 50,000 of 60,000 is under 100%: all at 5%, plus the SPIFF of d2.
    assert_eq!(last.earned_to_date.0, "2700.00", "{s:#?}");
    let before = &s[s.len() - 2];
    assert_eq!(
        (before.target.0.as_str(), before.earned_to_date.0.as_str()),
        ("40000.00", "3000.00")
    );
}
